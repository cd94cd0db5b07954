// Package whoami implements "kubectl whoami": who the apiserver thinks the
// caller is, from an authentication.k8s.io/v1 SelfSubjectReview (KEP-3325).
package whoami

import (
	"context"
	"fmt"
	"io"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// WhoAmIOptions holds the flags and resolved state of one invocation.
type WhoAmIOptions struct {
	configFlags *genericclioptions.ConfigFlags
	printFlags  *genericclioptions.PrintFlags
	genericiooptions.IOStreams

	client kubernetes.Interface
}

// NewWhoAmIOptions returns options with the flag defaults.
func NewWhoAmIOptions(streams genericiooptions.IOStreams) *WhoAmIOptions {
	return &WhoAmIOptions{
		configFlags: genericclioptions.NewConfigFlags(true),
		// The type setter fills in apiVersion/kind, which typed clients
		// strip from decoded objects.
		printFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme),
		IOStreams:  streams,
	}
}

// NewCmdWhoAmI returns the "whoami" command.
func NewCmdWhoAmI(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewWhoAmIOptions(streams)
	cmd := &cobra.Command{
		Use:          "whoami",
		Short:        "Print the user name, groups and extra attributes the apiserver sees for you",
		Example:      "  kubectl whoami\n  kubectl whoami -o yaml",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		// kubectl and the plugin mains print the returned error once.
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.printFlags.AddFlags(cmd)
	o.configFlags.AddFlags(cmd.Flags())
	return cmd
}

// Complete builds the client.
func (o *WhoAmIOptions) Complete() error {
	if o.client != nil {
		return nil
	}
	var err error
	o.client, err = cmdutil.NewFactory(o.configFlags).KubernetesClientSet()
	return err
}

// Validate accepts only the output formats that make sense for one object.
func (o *WhoAmIOptions) Validate() error {
	switch format := *o.printFlags.OutputFormat; format {
	case "", "json", "yaml":
		return nil
	default:
		return fmt.Errorf("--output %q is not supported: use json or yaml, or leave it out for the short form", format)
	}
}

// Run creates the review and prints it.
func (o *WhoAmIOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	review, err := o.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return explain(err)
	}
	if *o.printFlags.OutputFormat != "" {
		printer, err := o.printFlags.ToPrinter()
		if err != nil {
			return err
		}
		return printer.PrintObj(review, o.Out)
	}
	return printShort(o.Out, review.Status.UserInfo)
}

// printShort prints the user name alone on the first line, so scripts can
// take it with "kubectl whoami | head -1", then one "key: values" per line.
func printShort(out io.Writer, user authenticationv1.UserInfo) error {
	var b strings.Builder
	fmt.Fprintln(&b, user.Username)
	if len(user.Groups) > 0 {
		fmt.Fprintf(&b, "groups: %s\n", strings.Join(user.Groups, ", "))
	}
	if user.UID != "" {
		fmt.Fprintf(&b, "uid: %s\n", user.UID)
	}
	keys := make([]string, 0, len(user.Extra))
	for key := range user.Extra {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		fmt.Fprintf(&b, "%s: %s\n", key, strings.Join(user.Extra[key], ", "))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// explain names the usual reason a SelfSubjectReview fails.
func explain(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "the server could not find the requested resource"):
		return fmt.Errorf("the apiserver does not serve authentication.k8s.io/v1 selfsubjectreviews (it is GA since Kubernetes 1.28; older clusters need the APISelfSubjectReview feature gate): %w", err)
	case strings.Contains(strings.ToLower(msg), "unauthorized"):
		return fmt.Errorf("the apiserver did not accept your credentials, so there is no identity to show; check the user of your current context: %w", err)
	}
	return err
}
