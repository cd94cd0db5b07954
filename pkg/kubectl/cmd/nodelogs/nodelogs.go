// Package nodelogs implements "kubectl node-logs": the logs of services and
// /var/log files of nodes, read through the apiserver's node proxy from the
// kubelet's /logs/ endpoint (KEP-2258, NodeLogQuery).
package nodelogs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/utils/clock"
)

const (
	roleLabelPrefix     = "node-role.kubernetes.io/"
	controlPlaneLabel   = roleLabelPrefix + "control-plane"
	defaultPollInterval = 2 * time.Second
)

var example = `  # kubelet logs of one node, last 50 lines
  kubectl node-logs node-1 -q kubelet --tail 50

  # containerd and kubelet logs of every control-plane node in the last hour, merged by time
  kubectl node-logs --role control-plane -q containerd -q kubelet --since 1h

  # lines matching a pattern on all workers
  kubectl node-logs --role worker -q kubelet -g "eviction|OOM"

  # a file under /var/log, untouched
  kubectl node-logs node-1 -q /kube-proxy.log --raw

  # keep printing new kubelet lines of two nodes
  kubectl node-logs node-1 node-2 -q kubelet -f`

// NodeLogsOptions holds the flags and resolved state of one invocation.
type NodeLogsOptions struct {
	genericiooptions.IOStreams

	NodeNames   []string
	Role        string
	Selector    string
	Queries     []string
	SinceTime   string
	UntilTime   string
	Since       time.Duration
	TailLines   int
	Pattern     string
	Boot        int
	Raw         bool
	Follow      bool
	Prefix      bool
	MaxParallel int

	// Filled by Complete.
	bootSet bool
	query   LogQuery
	client  kubernetes.Interface

	// Clock is injectable so the follow loop and --since can be tested
	// with a fake clock.
	Clock        clock.WithTicker
	PollInterval time.Duration
}

// NewNodeLogsOptions returns options with the flag defaults.
func NewNodeLogsOptions(streams genericiooptions.IOStreams) *NodeLogsOptions {
	return &NodeLogsOptions{
		IOStreams:    streams,
		TailLines:    -1,
		MaxParallel:  4,
		Clock:        clock.RealClock{},
		PollInterval: defaultPollInterval,
	}
}

// NewCmdNodeLogs returns the "node-logs" command, connecting through f.
func NewCmdNodeLogs(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdNodeLogs(f, NewNodeLogsOptions(streams))
}

// newCmdNodeLogs lets tests keep a handle on the options (the clock).
func newCmdNodeLogs(f cmdutil.Factory, o *NodeLogsOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:          "node-logs [NODE...] -q SERVICE|FILE [flags]",
		Short:        "Print the logs of services or /var/log files of nodes",
		Long:         "Print the logs of node services (journald units) or files under /var/log, read from the kubelet's /logs/ endpoint through the apiserver node proxy. The kubelet must run with enableSystemLogQuery: true. Lines of several nodes are merged by time and prefixed with the node name.",
		Example:      example,
		SilenceUsage: true,
		// kubectl and the plugin mains print the returned error once.
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.Complete(f, c, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(c.Context())
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.Role, "role", "", "Select nodes by role: control-plane (or master), worker (nodes without a node-role.kubernetes.io/* label), or any other X for label node-role.kubernetes.io/X")
	flags.StringVarP(&o.Selector, "selector", "l", "", "Select nodes by label selector")
	flags.StringArrayVarP(&o.Queries, "query", "q", nil, "Service name, or file path under /var/log when it contains / or \\; repeatable (at most 4 services, or 1 file)")
	flags.StringVar(&o.SinceTime, "since-time", "", "Only lines at or after this RFC3339 time")
	flags.StringVar(&o.UntilTime, "until-time", "", "Only lines up to this RFC3339 time")
	flags.DurationVar(&o.Since, "since", 0, "Only lines newer than this relative duration, like 5m or 1h")
	flags.IntVar(&o.TailLines, "tail", o.TailLines, "Lines from the end of the log to show, 0..100000; -1 shows all")
	flags.StringVarP(&o.Pattern, "grep", "g", "", "Only lines matching this regular expression (the kubelet's pattern)")
	flags.IntVar(&o.Boot, "boot", 0, "Boot to show: 0 the current one, -1 the previous one, ...")
	flags.BoolVar(&o.Raw, "raw", false, "Print the node's answer untouched (exactly one node)")
	flags.BoolVarP(&o.Follow, "follow", "f", false, "Keep printing new lines: streamed by kubelets that offer it (kubenext, NodeLogQueryInProcess), polled every 2s on others")
	flags.BoolVar(&o.Prefix, "prefix", false, "Prefix lines with the node name even for a single node")
	flags.IntVar(&o.MaxParallel, "max-parallel", o.MaxParallel, "Nodes queried at the same time")
	return cmd
}

// Complete turns flags into a LogQuery and builds the client.
func (o *NodeLogsOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	o.NodeNames = args
	o.bootSet = cmd.Flags().Changed("boot")
	query, err := o.buildQuery()
	if err != nil {
		return err
	}
	o.query = query
	if o.client == nil {
		if o.client, err = f.KubernetesClientSet(); err != nil {
			return err
		}
	}
	return nil
}

func (o *NodeLogsOptions) buildQuery() (LogQuery, error) {
	q := LogQuery{Queries: o.Queries, Pattern: o.Pattern}
	if o.SinceTime != "" && o.Since != 0 {
		return q, fmt.Errorf("--since and --since-time both set: use only one")
	}
	if o.SinceTime != "" {
		t, err := time.Parse(time.RFC3339, o.SinceTime)
		if err != nil {
			return q, fmt.Errorf("--since-time %q is not RFC3339, write it like 2024-11-26T20:11:59Z", o.SinceTime)
		}
		q.SinceTime = &t
	}
	if o.Since < 0 {
		return q, fmt.Errorf("--since=%s is negative: give how far back to go, like 1h", o.Since)
	}
	if o.Since > 0 {
		t := o.Clock.Now().Add(-o.Since).UTC()
		q.SinceTime = &t
	}
	if o.UntilTime != "" {
		t, err := time.Parse(time.RFC3339, o.UntilTime)
		if err != nil {
			return q, fmt.Errorf("--until-time %q is not RFC3339, write it like 2024-11-26T20:11:59Z", o.UntilTime)
		}
		q.UntilTime = &t
	}
	if o.TailLines != -1 {
		tail := o.TailLines
		q.TailLines = &tail
	}
	if o.bootSet {
		boot := o.Boot
		q.Boot = &boot
	}
	return q, nil
}

// Validate checks flag combinations and the kubelet's own rules before any
// request is sent.
func (o *NodeLogsOptions) Validate() error {
	var errs []string
	if len(o.NodeNames) > 0 && (o.Role != "" || o.Selector != "") {
		errs = append(errs, "give node names or --role/--selector, not both")
	}
	if len(o.NodeNames) == 0 && o.Role == "" && o.Selector == "" {
		errs = append(errs, "no nodes chosen: name nodes, or use --role or -l/--selector")
	}
	if o.Raw && len(o.NodeNames) != 1 {
		errs = append(errs, "--raw prints one node's answer untouched: name exactly one node")
	}
	if o.Raw && o.Follow {
		errs = append(errs, "--raw and --follow cannot be combined: --follow has to parse timestamps")
	}
	if o.Follow && o.query.UntilTime != nil {
		errs = append(errs, "--follow with --until-time would never print anything new: drop one of them")
	}
	if o.Follow {
		for _, q := range o.query.Queries {
			if isFileQuery(q) {
				errs = append(errs, "--follow needs sinceTime, which the kubelet refuses for files: follow a service instead")
				break
			}
		}
	}
	if o.MaxParallel < 1 {
		errs = append(errs, fmt.Sprintf("--max-parallel=%d: must be at least 1", o.MaxParallel))
	}
	if err := o.query.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// Run resolves the nodes and prints their logs.
func (o *NodeLogsOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	nodes, err := o.resolveNodes(ctx)
	if err != nil {
		return err
	}
	if o.Raw {
		return o.runRaw(ctx, nodes[0])
	}
	prefix := o.Prefix || len(nodes) > 1
	if o.Follow {
		return o.follow(ctx, nodes, prefix)
	}
	if o.canStream(len(nodes)) {
		return o.runStreaming(ctx, nodes, prefix)
	}
	results := o.fetchAll(ctx, nodes, func(string) LogQuery { return o.query })
	var perNode [][]LogLine
	var failed []*NodeError
	now := o.Clock.Now()
	for i, r := range results {
		if r.err != nil {
			failed = append(failed, r.err)
			fmt.Fprintf(o.ErrOut, "error: %v\n", r.err)
			continue
		}
		perNode = append(perNode, inTimeOrder(splitLines(nodes[i], r.body, now)))
	}
	if err := writeLines(o.Out, mergeByTime(perNode), prefix); err != nil {
		return err
	}
	return summarize(failed, len(nodes))
}

// canStream says whether the answers can be merged while they are read:
// every node's answer open at once, within --max-parallel, and in time
// order already. A pattern with --tail may come newest first from an
// upstream kubelet (journalctl 252), and is bounded by --tail, so it is
// read whole and put in order first.
func (o *NodeLogsOptions) canStream(nodes int) bool {
	return nodes <= o.MaxParallel && (o.query.Pattern == "" || o.query.TailLines == nil)
}

// runStreaming merges the nodes' answers as they arrive, holding one line
// per node, so that 100,000-line journals do not have to fit in memory.
func (o *NodeLogsOptions) runStreaming(ctx context.Context, nodes []string, prefix bool) error {
	readers := make([]*lineReader, len(nodes))
	streams := make([]io.Closer, len(nodes))
	errs := make([]*NodeError, len(nodes))
	defer func() {
		for _, s := range streams {
			if s != nil {
				_ = s.Close()
			}
		}
	}()
	var group errgroup.Group
	now := o.Clock.Now()
	for i, node := range nodes {
		group.Go(func() error {
			stream, err := o.open(ctx, node, o.query)
			if err != nil {
				errs[i] = explainNodeError(node, err)
				return nil
			}
			reader := bufio.NewReaderSize(stream, 64*1024)
			if err := checkQueryServed(reader, o.query); err != nil {
				_ = stream.Close()
				errs[i] = explainNodeError(node, err)
				return nil
			}
			streams[i] = stream
			readers[i] = newLineReader(node, reader, now)
			return nil
		})
	}
	_ = group.Wait()
	var open []*lineReader
	for _, r := range readers {
		if r != nil {
			open = append(open, r)
		}
	}
	err := mergeStreams(o.Out, open, prefix)
	var failed []*NodeError
	for i, node := range nodes {
		if readers[i] != nil {
			if readErr := readers[i].err(); readErr != nil {
				errs[i] = explainNodeError(node, readErr)
			}
		}
		if errs[i] != nil {
			failed = append(failed, errs[i])
			fmt.Fprintf(o.ErrOut, "error: %v\n", errs[i])
		}
	}
	if err != nil {
		return err
	}
	return summarize(failed, len(nodes))
}

// summarize is the command's final error: non-nil when any node failed,
// after the output of the others has been printed.
func summarize(failed []*NodeError, total int) error {
	if len(failed) == 0 {
		return nil
	}
	if total == 1 {
		return failed[0]
	}
	names := make([]string, 0, len(failed))
	for _, f := range failed {
		names = append(names, f.Node)
	}
	return fmt.Errorf("%d of %d nodes failed: %s (reasons above)", len(failed), total, strings.Join(names, ", "))
}

// resolveNodes turns names, --role and --selector into node names.
func (o *NodeLogsOptions) resolveNodes(ctx context.Context) ([]string, error) {
	if len(o.NodeNames) > 0 {
		return o.NodeNames, nil
	}
	selector, workersOnly, err := roleSelector(o.Role, o.Selector)
	if err != nil {
		return nil, err
	}
	list, err := o.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	var names []string
	for _, node := range list.Items {
		if workersOnly && hasRoleLabel(&node) {
			continue
		}
		names = append(names, node.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no node matches --role=%q --selector=%q", o.Role, o.Selector)
	}
	sort.Strings(names)
	return names, nil
}

// roleSelector maps --role onto a label selector combined with --selector.
// "worker" cannot be expressed as a selector (it means "no label with this
// prefix"), so it is reported as a client-side filter instead.
func roleSelector(role, selector string) (string, bool, error) {
	if selector != "" {
		if _, err := labels.Parse(selector); err != nil {
			return "", false, fmt.Errorf("--selector %q: %v", selector, err)
		}
	}
	var roleReq string
	workersOnly := false
	switch role {
	case "":
	case "control-plane", "master":
		roleReq = controlPlaneLabel
	case "worker":
		workersOnly = true
	default:
		roleReq = roleLabelPrefix + role
	}
	parts := []string{}
	for _, s := range []string{roleReq, selector} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ","), workersOnly, nil
}

func hasRoleLabel(node *corev1.Node) bool {
	for key := range node.Labels {
		if strings.HasPrefix(key, roleLabelPrefix) {
			return true
		}
	}
	return false
}

type nodeResult struct {
	body []byte
	err  *NodeError
}

// fetchAll queries every node with at most MaxParallel requests in flight.
// Results come back in the order of nodes, whatever order they finish in.
func (o *NodeLogsOptions) fetchAll(ctx context.Context, nodes []string, queryFor func(node string) LogQuery) []nodeResult {
	results := make([]nodeResult, len(nodes))
	// A failed node is a result, not a reason to stop the others, so no
	// goroutine returns an error and the group is only the limit.
	var group errgroup.Group
	group.SetLimit(o.MaxParallel)
	for i, node := range nodes {
		group.Go(func() error {
			body, err := o.fetch(ctx, node, queryFor(node))
			if err != nil {
				results[i].err = explainNodeError(node, err)
				return nil
			}
			results[i].body = body
			return nil
		})
	}
	_ = group.Wait()
	return results
}

// open starts the request to one node's /logs/ endpoint via the apiserver
// node proxy.
func (o *NodeLogsOptions) open(ctx context.Context, node string, query LogQuery) (io.ReadCloser, error) {
	return logsRequest(o.client.CoreV1().RESTClient(), node, query.Values()).Stream(ctx)
}

// logsRequest is the GET of one node's /logs/ endpoint with values.
func logsRequest(client rest.Interface, node string, values url.Values) *rest.Request {
	// One segment with the trailing slash: AbsPath keeps a trailing slash
	// only then, and the kubelet serves the query on "/logs/", not "/logs".
	req := client.Get().AbsPath("/api/v1/nodes/" + url.PathEscape(node) + "/proxy/logs/")
	for key, vs := range values {
		for _, v := range vs {
			req = req.Param(key, v)
		}
	}
	return req
}

// fetch reads one node's whole answer.
func (o *NodeLogsOptions) fetch(ctx context.Context, node string, query LogQuery) ([]byte, error) {
	stream, err := o.open(ctx, node, query)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	reader := bufio.NewReader(stream)
	if err := checkQueryServed(reader, query); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, reader)
	return buf.Bytes(), err
}

// checkQueryServed peeks at the start of the answer: a kubelet with
// enableSystemLogQuery=false ignores the query parameters and answers 200
// with the HTML listing of /var/log, which must not be printed as logs.
func checkQueryServed(reader *bufio.Reader, query LogQuery) error {
	if len(query.Queries) == 0 {
		return nil
	}
	head, _ := reader.Peek(64)
	trimmed := bytes.TrimSpace(head)
	if bytes.HasPrefix(trimmed, []byte("<pre>")) || bytes.HasPrefix(bytes.ToLower(trimmed), []byte("<!doctype html>")) {
		return errLogQueryDisabled
	}
	return nil
}

func (o *NodeLogsOptions) runRaw(ctx context.Context, node string) error {
	stream, err := o.open(ctx, node, o.query)
	if err != nil {
		return explainNodeError(node, err)
	}
	defer stream.Close()
	_, err = io.Copy(o.Out, stream)
	return err
}
