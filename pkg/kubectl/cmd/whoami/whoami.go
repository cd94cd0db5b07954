// Package whoami implements "kubectl whoami": who the apiserver thinks the
// caller is, from an authentication.k8s.io/v1 SelfSubjectReview (KEP-3325).
package whoami

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

var example = `  # the user name, then its groups, uid and extra attributes
  kubectl whoami

  # the whole SelfSubjectReview
  kubectl whoami -o yaml

  # just the groups
  kubectl whoami -o jsonpath='{.status.userInfo.groups}'`

// WhoAmIOptions holds the flags and resolved state of one invocation.
type WhoAmIOptions struct {
	printFlags *genericclioptions.PrintFlags
	genericiooptions.IOStreams

	// Filled by Complete; a nil printer means the short form.
	printer printers.ResourcePrinter
	client  kubernetes.Interface
}

// NewWhoAmIOptions returns options with the flag defaults.
func NewWhoAmIOptions(streams genericiooptions.IOStreams) *WhoAmIOptions {
	// The type setter fills in apiVersion/kind, which typed clients strip
	// from decoded objects.
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme.Scheme)
	// A review has no name, so -o name would print nothing useful; leaving
	// its flags out keeps it off the advertised formats.
	printFlags.NamePrintFlags = nil
	return &WhoAmIOptions{printFlags: printFlags, IOStreams: streams}
}

// NewCmdWhoAmI returns the "whoami" command, connecting through f.
func NewCmdWhoAmI(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewWhoAmIOptions(streams)
	cmd := &cobra.Command{
		Use:          "whoami",
		Short:        "Print the user name, groups and extra attributes the apiserver sees for you",
		Example:      example,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		// kubectl and the plugin mains print the returned error once.
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(f); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	o.printFlags.AddFlags(cmd)
	return cmd
}

// Complete picks the printer, refusing an unknown -o before anything is
// sent, and builds the client.
func (o *WhoAmIOptions) Complete(f cmdutil.Factory) error {
	templateGiven := o.printFlags.TemplatePrinterFlags.TemplateArgument != nil && *o.printFlags.TemplatePrinterFlags.TemplateArgument != ""
	if *o.printFlags.OutputFormat != "" || templateGiven {
		printer, err := o.printFlags.ToPrinter()
		if err != nil {
			return err
		}
		o.printer = printer
	}
	if o.client != nil {
		return nil
	}
	var err error
	o.client, err = f.KubernetesClientSet()
	return err
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
	if o.printer != nil {
		return o.printer.PrintObj(review, o.Out)
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
