package nodelogs

import (
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// These limits copy the kubelet's (pkg/kubelet/kubelet_server_journal.go in
// k8s.io/kubernetes v1.37.2). Checking them here turns a 400 from a node,
// possibly after minutes of waiting on a slow proxy, into an immediate error
// that says how to fix the command line.
const (
	maxServices      = 4
	maxServiceLength = 256
	maxTailLines     = 100000
)

// unsafeServiceNameChars is the complement of the kubelet's allow-list for
// service names (they become journalctl --unit arguments).
var unsafeServiceNameChars = regexp.MustCompile(`[^a-zA-Z\-_.:0-9@]+`)

// LogQuery is what one request to a node's /logs/ endpoint asks for. Nil
// pointers and empty strings mean "not set", exactly like the kubelet's
// nodeLogQuery, because the kubelet distinguishes "unset" from zero values
// (a file query is refused as soon as any option is set).
type LogQuery struct {
	Queries   []string
	SinceTime *time.Time
	UntilTime *time.Time
	TailLines *int
	Boot      *int
	Pattern   string
}

// isFileQuery mirrors the kubelet's heuristic: a / or \ means a path under
// /var/log, anything else is a service name.
func isFileQuery(q string) bool { return strings.ContainsAny(q, `/\`) }

func (q LogQuery) hasOptions() bool {
	return q.SinceTime != nil || q.UntilTime != nil || q.TailLines != nil || q.Boot != nil || q.Pattern != ""
}

// Validate applies the kubelet's rules and returns every violation at once,
// each naming the flag to change.
func (q LogQuery) Validate() error {
	var errs []error
	var services, files []string
	for _, query := range q.Queries {
		switch {
		case isFileQuery(query):
			files = append(files, query)
		case strings.TrimSpace(query) == "":
			errs = append(errs, fmt.Errorf("--query %q is blank: give a service name (e.g. -q kubelet) or a file under /var/log (e.g. -q /kube-proxy.log)", query))
		default:
			services = append(services, query)
		}
	}
	for _, service := range services {
		if len(service) > maxServiceLength {
			errs = append(errs, fmt.Errorf("--query service name %.20q... is %d characters long; the kubelet accepts at most %d", service, len(service), maxServiceLength))
		}
		if unsafeServiceNameChars.MatchString(service) {
			errs = append(errs, fmt.Errorf("--query service name %q contains characters the kubelet refuses; only letters, digits and - _ . : @ are allowed", service))
		}
	}
	for _, file := range files {
		// The kubelet opens files inside /var/log with os.OpenRoot, which
		// refuses any path leaving it; say so before sending.
		for _, part := range strings.FieldsFunc(file, func(r rune) bool { return r == '/' || r == '\\' }) {
			if part == ".." {
				errs = append(errs, fmt.Errorf("--query %q leaves /var/log: the kubelet serves only files under /var/log, name one relative to it (e.g. -q /kube-proxy.log)", file))
				break
			}
		}
	}
	if len(services) > maxServices {
		errs = append(errs, fmt.Errorf("%d services queried, the kubelet accepts at most %d per request: drop some --query flags or run the command once per group", len(services), maxServices))
	}
	switch {
	case len(q.Queries) == 0:
		errs = append(errs, fmt.Errorf("no --query given: name a service (e.g. -q kubelet) or a file under /var/log (e.g. -q /kube-proxy.log)"))
	case len(files) > 0 && len(services) > 0:
		errs = append(errs, fmt.Errorf("--query mixes files %v and services %v: the kubelet serves either one file or services per request, run the command twice", files, services))
	case len(files) > 1:
		errs = append(errs, fmt.Errorf("--query names %d files %v: the kubelet serves one file per request, run the command once per file", len(files), files))
	case len(files) == 1 && q.hasOptions():
		errs = append(errs, fmt.Errorf("--query %s is a file: the kubelet refuses files combined with --since/--since-time/--until-time/--tail/--grep/--boot (it answers 400 Bad Request); drop those options or query a service instead", files[0]))
	}
	if q.TailLines != nil && (*q.TailLines < 0 || *q.TailLines > maxTailLines) {
		errs = append(errs, fmt.Errorf("--tail=%d is out of range: use 0..%d, or -1 for all lines", *q.TailLines, maxTailLines))
	}
	if q.Boot != nil && *q.Boot > 0 {
		errs = append(errs, fmt.Errorf("--boot=%d is invalid: use 0 for the current boot, -1 for the previous one, and so on", *q.Boot))
	}
	if q.SinceTime != nil && q.UntilTime != nil && q.SinceTime.After(*q.UntilTime) {
		errs = append(errs, fmt.Errorf("--until-time %s is before the start %s: swap them or widen the window", q.UntilTime.Format(time.RFC3339), q.SinceTime.Format(time.RFC3339)))
	}
	if q.Pattern != "" {
		if _, err := syntax.Parse(q.Pattern, syntax.Perl); err != nil {
			errs = append(errs, fmt.Errorf("--grep %q is not a valid regular expression: %v", q.Pattern, err))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// Values encodes the query as the kubelet's query parameters. Times go out in
// UTC RFC3339 because that is the only format the kubelet parses.
func (q LogQuery) Values() url.Values {
	values := url.Values{}
	for _, query := range q.Queries {
		values.Add("query", query)
	}
	if q.SinceTime != nil {
		values.Set("sinceTime", q.SinceTime.UTC().Format(time.RFC3339))
	}
	if q.UntilTime != nil {
		values.Set("untilTime", q.UntilTime.UTC().Format(time.RFC3339))
	}
	if q.TailLines != nil {
		values.Set("tailLines", strconv.Itoa(*q.TailLines))
	}
	if q.Pattern != "" {
		values.Set("pattern", q.Pattern)
	}
	if q.Boot != nil {
		values.Set("boot", strconv.Itoa(*q.Boot))
	}
	return values
}
