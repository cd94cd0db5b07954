package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/test/e2e/framework"
	admissionapi "k8s.io/pod-security-admission/api"

	kubenextfeatures "github.com/kubenext/kubenext/pkg/features"
	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs"
)

// logAnswer is a node log query's answer with the header that says which
// path served it.
type logAnswer struct {
	status int
	source string
	body   string
}

// nodeLogsWithSource sends a node log query through the API server's node
// proxy with the suite's own credentials and keeps the response headers,
// which client-go's request helpers drop.
func nodeLogsWithSource(ctx context.Context, f *framework.Framework, node string, query url.Values) logAnswer {
	resp := openLogStream(ctx, f, node, query)
	body, err := io.ReadAll(resp.Body)
	framework.ExpectNoError(err)
	return logAnswer{status: resp.StatusCode, source: resp.Header.Get(nodelogs.SourceHeader), body: string(body)}
}

// openLogStream starts a node log query and returns the open response;
// it is closed when ctx ends.
func openLogStream(ctx context.Context, f *framework.Framework, node string, query url.Values) *http.Response {
	config := f.ClientConfig()
	client, err := rest.HTTPClientFor(config)
	framework.ExpectNoError(err)
	u := strings.TrimRight(config.Host, "/") + "/api/v1/nodes/" + node + "/proxy/logs/?" + query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	framework.ExpectNoError(err)
	resp, err := client.Do(req)
	framework.ExpectNoError(err)
	// Closed by the spec's cleanup, after the body was read or the stream
	// given up.
	ginkgo.DeferCleanup(func() { _ = resp.Body.Close() })
	return resp
}

// journalctlArgs are the arguments upstream's kubelet gives journalctl for
// query (getLoggingCmd), in its order.
func journalctlArgs(query url.Values) []string {
	args := []string{"--utc", "--no-pager", "--output=short-precise"}
	for _, bound := range []struct{ param, flag string }{{"sinceTime", "--since"}, {"untilTime", "--until"}} {
		if v := query.Get(bound.param); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			framework.ExpectNoError(err)
			args = append(args, bound.flag+"="+t.Format("2006-1-2 15:4:5"))
		}
	}
	if v := query.Get("tailLines"); v != "" {
		args = append(args, "--pager-end", "--lines="+v)
	}
	for _, s := range query["query"] {
		args = append(args, "--unit="+s)
	}
	if v := query.Get("pattern"); v != "" {
		args = append(args, "--grep="+v)
	}
	if v := query.Get("boot"); v != "" {
		args = append(args, "--boot", v)
	}
	return args
}

// journalctlTrap replaces journalctl on a node with a script that records
// each call and fails, for as long as the returned function is not called.
func journalctlTrap(ctx context.Context, node string) (calls func(context.Context) string, restore func(context.Context)) {
	const trap, record = "/var/tmp/kubenext-journalctl-trap", "/var/tmp/kubenext-journalctl-calls"
	nodeExec(ctx, node, "sh", "-c", fmt.Sprintf(`rm -f %[2]s; printf '#!/bin/sh\necho "$*" >> %[2]s\nexit 1\n' > %[1]s; chmod 755 %[1]s; mount --bind %[1]s /usr/bin/journalctl`, trap, record))
	restored := false
	restore = func(ctx context.Context) {
		if !restored {
			restored = true
			nodeExec(ctx, node, "umount", "/usr/bin/journalctl")
		}
	}
	ginkgo.DeferCleanup(restore)
	return func(ctx context.Context) string {
		return nodeExec(ctx, node, "sh", "-c", "cat "+record+" 2>/dev/null; true")
	}, restore
}

var _ = ginkgo.Describe("Node log viewer in process", framework.WithFeatureGate(features.NodeLogQuery),
	framework.WithFeatureGate(kubenextfeatures.NodeLogQueryInProcess), needsOurKubelet, framework.WithSerial(), func() {
		f := framework.NewDefaultFramework("nodelogs-inprocess")
		f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

		ginkgo.It("streams a follow as the journal grows, and refuses a query beyond its limit with 429", func(ctx context.Context) {
			node := nodeWithKeystoneGate(ctx, f, true)
			unit := "kubenext-follow-" + rand.String(6)
			journalLines(ctx, node, unit, "before the follow")
			ginkgo.By("following " + unit)
			follows := make([]*bufio.Scanner, 0, 8)
			followCtx, stopFollows := context.WithCancel(ctx)
			defer stopFollows()
			for range 8 {
				resp := openLogStream(followCtx, f, node, url.Values{"query": {unit}, "follow": {"true"}})
				gomega.Expect(resp.StatusCode).To(gomega.Equal(http.StatusOK))
				gomega.Expect(resp.Header.Get(nodelogs.FollowHeader)).To(gomega.Equal("stream"), "the kubelet on %s must stream a follow", node)
				follows = append(follows, bufio.NewScanner(resp.Body))
			}
			lines := make(chan string, 16)
			go func() {
				defer ginkgo.GinkgoRecover()
				for follows[0].Scan() {
					lines <- follows[0].Text()
				}
				close(lines)
			}()
			gomega.Eventually(ctx, lines).WithTimeout(30*time.Second).Should(gomega.Receive(gomega.HaveSuffix("before the follow")), "the follow starts with the unit's lines")
			journalLines(ctx, node, unit, "written while followed")
			gomega.Eventually(ctx, lines).WithTimeout(30*time.Second).Should(gomega.Receive(gomega.HaveSuffix("written while followed")), "a new line reaches the follow")

			ginkgo.By("a ninth query while eight follows hold every slot")
			busy := nodeLogsWithSource(ctx, f, node, url.Values{"query": {unit}})
			gomega.Expect(busy.status).To(gomega.Equal(http.StatusTooManyRequests), busy.body)
			gomega.Expect(busy.body).To(gomega.ContainSubstring("8 at a time"))

			ginkgo.By("the slots come back when the clients go away")
			stopFollows()
			gomega.Eventually(ctx, func(ctx context.Context) int {
				return nodeLogsWithSource(ctx, f, node, url.Values{"query": {unit}, "tailLines": {"1"}}).status
			}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(gomega.Equal(http.StatusOK))
		})

		ginkgo.It("answers a table of queries byte for byte as journalctl does, without running it", func(ctx context.Context) {
			node := nodeWithKeystoneGate(ctx, f, true)
			suffix := rand.String(6)
			unitA, unitB := "kubenext-diff-a-"+suffix, "kubenext-diff-b-"+suffix
			journalLines(ctx, node, unitA, "first Alpha line", "grüße ÄÖÜ unicode", "level=error one")
			since := waitForNextSecond(ctx, time.Now())
			journalLines(ctx, node, unitB, "second batch alpha", "level=error two")
			journalLines(ctx, node, unitA, "ALPHA upper", "tab\there")
			until := waitForNextSecond(ctx, time.Now())
			waitForNextSecond(ctx, until)
			journalLines(ctx, node, unitA, "third batch, after the window", "level=info three")
			// systemd logs a unit's end after systemd-run returns; both
			// paths must read a journal that no longer changes for these units.
			units := []string{"--unit=" + unitA, "--unit=" + unitB}
			var previous string
			gomega.Eventually(ctx, func(ctx context.Context) bool {
				now := nodeExec(ctx, node, append([]string{"journalctl", "--no-pager", "-o", "short-precise"}, units...)...)
				stable := now == previous
				previous = now
				return stable
			}).WithTimeout(time.Minute).WithPolling(time.Second).Should(gomega.BeTrue(), "the units' journal must stop changing")

			rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
			table := []struct {
				name     string
				query    url.Values
				reversed bool // the one intended difference
			}{
				{"a unit", url.Values{"query": {unitA}}, false},
				{"two units", url.Values{"query": {unitA, unitB}}, false},
				{"tailLines 0", url.Values{"query": {unitA}, "tailLines": {"0"}}, false},
				{"tailLines 1", url.Values{"query": {unitA}, "tailLines": {"1"}}, false},
				{"tailLines maximum", url.Values{"query": {unitA, unitB}, "tailLines": {"100000"}}, false},
				{"sinceTime", url.Values{"query": {unitA, unitB}, "sinceTime": {rfc(since)}}, false},
				{"untilTime", url.Values{"query": {unitA, unitB}, "untilTime": {rfc(until)}}, false},
				{"a window at line boundaries", url.Values{"query": {unitA, unitB}, "sinceTime": {rfc(since)}, "untilTime": {rfc(until)}}, false},
				{"sinceTime and tailLines", url.Values{"query": {unitA}, "sinceTime": {rfc(since)}, "tailLines": {"1"}}, false},
				{"untilTime and tailLines", url.Values{"query": {unitA}, "untilTime": {rfc(until)}, "tailLines": {"2"}}, false},
				{"pattern, lower case", url.Values{"query": {unitA, unitB}, "pattern": {"alpha"}}, false},
				{"pattern with upper case", url.Values{"query": {unitA, unitB}, "pattern": {"ALPHA"}}, false},
				{"pattern anchors", url.Values{"query": {unitA}, "pattern": {"^level=error one$"}}, false},
				{"pattern, unicode", url.Values{"query": {unitA}, "pattern": {"grüße äöü"}}, false},
				{"pattern and a window", url.Values{"query": {unitA, unitB}, "pattern": {"error"}, "sinceTime": {rfc(since)}, "untilTime": {rfc(until)}}, false},
				{"nothing matches", url.Values{"query": {unitA}, "pattern": {"no such text"}}, false},
				{"boot 0", url.Values{"query": {unitA}, "boot": {"0"}}, false},
				{"a boot the journal does not have", url.Values{"query": {unitA}, "boot": {"-9"}}, false},
				{"pattern and tailLines: oldest first here, newest first from journalctl 252", url.Values{"query": {unitA, unitB}, "pattern": {"level="}, "tailLines": {"2"}}, true},
			}

			ginkgo.By("asking the kubelet, with journalctl out of its reach")
			calls, restore := journalctlTrap(ctx, node)
			answers := make([]logAnswer, len(table))
			for i, row := range table {
				answers[i] = nodeLogsWithSource(ctx, f, node, row.query)
			}
			restore(ctx)
			gomega.Expect(calls(ctx)).To(gomega.BeEmpty(), "the kubelet ran journalctl for an in-process query")

			ginkgo.By("asking journalctl itself, as upstream's kubelet does")
			for i, row := range table {
				got := answers[i]
				gomega.Expect(got.status).To(gomega.Equal(http.StatusOK), "%s: %s", row.name, got.body)
				gomega.Expect(got.source).To(gomega.Equal("journal"), "%s: the kubelet on %s must answer in process", row.name, node)
				want := nodeExec(ctx, node, append([]string{"sh", "-c", `journalctl "$@" 2>&1; true`, "sh"}, journalctlArgs(row.query)...)...)
				if row.reversed {
					lines := strings.SplitAfter(want, "\n")
					lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
					slices.Reverse(lines)
					want = strings.Join(lines, "")
				}
				gomega.Expect(got.body).To(gomega.Equal(want), "%s: %v", row.name, row.query)
			}
		})
	})
