// Package nodelogsbench is make bench-nodelogs: node log queries over
// journals of many lines on every node of the kind cluster, through
// kubectl node-logs with the kubelets reading the journal in process, the
// same with the kubelets running journalctl (NodeLogQueryInProcess off),
// and journalctl run directly in each node as the floor. Rounds
// interleave the three, so drift hits them alike.
package nodelogsbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/nodes"
	"github.com/kubenext/kubenext/internal/steps"
	"github.com/kubenext/kubenext/pkg/kubelet/nodelogs"
)

// Config is one benchmark run.
type Config struct {
	Kubeconfig string
	Cluster    string
	Kubectl    string
	Lines      int // journal lines written per node
	Rounds     int
	Stdout     io.Writer // the step lines and the table
	CSV        io.Writer // one row per round and method
	Provider   *nodes.Provider
}

// Check refuses a configuration that cannot run, naming the flag.
func (c Config) Check() error {
	var errs []string
	if c.Kubeconfig == "" {
		errs = append(errs, "-kubeconfig is required (make cluster writes it)")
	}
	if c.Kubectl == "" {
		errs = append(errs, "-kubectl is required: our kubectl, with node-logs")
	}
	if c.Lines < 1 || c.Lines > 1000000 {
		errs = append(errs, fmt.Sprintf("-lines=%d: want 1..1000000", c.Lines))
	}
	if c.Rounds < 1 {
		errs = append(errs, fmt.Sprintf("-rounds=%d: want at least 1", c.Rounds))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// The three ways of reading the same lines.
const (
	methodInProcess  = "kubectl-node-logs-in-process"
	methodJournalctl = "kubectl-node-logs-journalctl"
	methodFloor      = "docker-exec-journalctl"
)

// Sample is one method's result in one round.
type Sample struct {
	Round          int
	Method         string
	Wall           time.Duration
	Lines, Bytes   int64
	KubectlMaxRSS  int64 // bytes; 0 for the floor
	KubeletPeakRSS int64 // bytes, the largest VmHWM among the nodes' kubelets
}

// LinesPerSecond is the sample's throughput.
func (s Sample) LinesPerSecond() float64 { return float64(s.Lines) / s.Wall.Seconds() }

// Run writes the lines, runs the rounds and prints the results. The
// kubelets are left with the gate as make cluster set it (on).
func Run(ctx context.Context, c Config) (err error) {
	log := &steps.Steps{Out: c.Stdout}
	list, err := c.Provider.List(ctx, c.Cluster)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes: run make cluster", c.Cluster)
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	httpClient, err := rest.HTTPClientFor(restConfig)
	if err != nil {
		return err
	}
	b := bench{c: c, nodes: list, rest: restConfig, http: httpClient}
	unit := "kubenext-bench-" + rand.String(6)
	if err := log.Run(fmt.Sprintf("Writing %d journal lines under %s on each of %d nodes", c.Lines, unit, len(list)), func() error {
		return b.writeLines(ctx, unit)
	}); err != nil {
		return err
	}
	defer func() {
		if restoreErr := log.Run("Leaving the kubelets with NodeLogQueryInProcess on", func() error { return b.setGate(ctx, true) }); err == nil {
			err = restoreErr
		}
	}()
	fmt.Fprintln(c.CSV, "round,method,seconds,lines,bytes,lines_per_second,kubectl_maxrss_mib,kubelet_peak_rss_mib")
	var samples []Sample
	for round := 1; round <= c.Rounds; round++ {
		for _, gateOn := range []bool{true, false} {
			mode := map[bool]string{true: "in process", false: "with journalctl"}[gateOn]
			if err := log.Run(fmt.Sprintf("Round %d: kubelets reading the journal %s (restarted)", round, mode), func() error { return b.setGate(ctx, gateOn) }); err != nil {
				return err
			}
			methods := []string{methodJournalctl}
			if gateOn {
				methods = []string{methodInProcess, methodFloor}
			}
			for _, m := range methods {
				var s Sample
				if err := log.Run(fmt.Sprintf("Round %d: %s", round, m), func() (err error) {
					s, err = b.measure(ctx, round, m, unit)
					return err
				}); err != nil {
					return err
				}
				if want := int64(c.Lines * len(list)); s.Lines < want {
					return fmt.Errorf("round %d, %s: %d lines, want at least %d", round, m, s.Lines, want)
				}
				samples = append(samples, s)
				fmt.Fprintf(c.CSV, "%d,%s,%.3f,%d,%d,%.0f,%.1f,%.1f\n", s.Round, s.Method, s.Wall.Seconds(), s.Lines, s.Bytes,
					s.LinesPerSecond(), mib(s.KubectlMaxRSS), mib(s.KubeletPeakRSS))
			}
		}
	}
	writeSummary(c.Stdout, samples)
	return nil
}

type bench struct {
	c     Config
	nodes []nodes.Node
	rest  *rest.Config
	http  *http.Client
}

// writeLines writes the lines as a transient unit's output, so that they
// go through journald as any service's do. journald would keep only its
// rate limit's burst of them: 10,000 a 30 s window, scaled by the free
// space of the journal's file system (37,500 here, exactly what the first
// runs kept). LogRateLimitIntervalSec=0 does not lift it, because systemd
// 252 does not pass a zero to journald and journald then applies its
// default; a burst larger than the lines does. The unit stays up until the
// journal has every line, and is stopped once they are counted.
func (b bench) writeLines(ctx context.Context, unit string) error {
	script := fmt.Sprintf(`seq -f "kubenext bench line %%07g of %d, a line about as long as a kubelet's" 1 %d; exec sleep 600`, b.c.Lines, b.c.Lines)
	var group errgroup.Group
	for _, n := range b.nodes {
		group.Go(func() error {
			if _, err := exec.CombinedOutput(n.Command(ctx, "systemd-run", "--collect", "--quiet", "--unit", unit,
				"-p", "LogRateLimitIntervalSec=30s", "-p", fmt.Sprintf("LogRateLimitBurst=%d", 10*b.c.Lines), "sh", "-c", script)); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			defer func() { _, _ = exec.CombinedOutput(n.Command(context.WithoutCancel(ctx), "systemctl", "stop", unit)) }()
			deadline := time.Now().Add(2 * time.Minute)
			for {
				out, err := exec.Output(n.Command(ctx, "sh", "-c", "journalctl --no-pager -o cat -u "+unit+" | grep -c '^kubenext bench line'"))
				got, _ := strconv.Atoi(strings.TrimSpace(string(out)))
				if err == nil && got >= b.c.Lines {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s: the journal has %d of the %d lines after 2m", n, got, b.c.Lines)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(3 * time.Second):
				}
			}
		})
	}
	return group.Wait()
}

// setGate turns NodeLogQueryInProcess on or off in every kubelet's
// configuration, restarts them, and waits until each answers a log query
// the way asked (its Kubenext-Log-Source header says so).
func (b bench) setGate(ctx context.Context, on bool) error {
	from, to := "NodeLogQueryInProcess: false", "NodeLogQueryInProcess: true"
	if !on {
		from, to = to, from
	}
	var group errgroup.Group
	for _, n := range b.nodes {
		group.Go(func() error {
			sed := fmt.Sprintf("grep -q '%s\\|%s' /var/lib/kubelet/config.yaml && sed -i 's/%s/%s/' /var/lib/kubelet/config.yaml && systemctl restart kubelet",
				from, to, from, to)
			if _, err := exec.CombinedOutput(n.Command(ctx, "sh", "-c", sed)); err != nil {
				return fmt.Errorf("%s: setting %s in the kubelet's configuration: %w", n, to, err)
			}
			return b.waitSource(ctx, n.Name, on)
		})
	}
	return group.Wait()
}

func (b bench) waitSource(ctx context.Context, node string, on bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		source, err := b.source(ctx, node)
		if err == nil && (source == "journal") == on && (on || source == "") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the kubelet still answers with source %q (%v) 2m after its restart", node, source, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// source asks one node's kubelet a small query and returns how it answered.
func (b bench) source(ctx context.Context, node string) (string, error) {
	u := strings.TrimRight(b.rest.Host, "/") + "/api/v1/nodes/" + node + "/proxy/logs/?" + url.Values{"query": {"kubelet"}, "tailLines": {"1"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	return resp.Header.Get(nodelogs.SourceHeader), nil
}

// measure runs one method over every node and counts what it printed.
func (b bench) measure(ctx context.Context, round int, method, unit string) (Sample, error) {
	s := Sample{Round: round, Method: method}
	var counter lineCounter
	start := time.Now()
	switch method {
	case methodFloor:
		var group errgroup.Group
		for _, n := range b.nodes {
			group.Go(func() error {
				var own lineCounter
				err := n.Command(ctx, "journalctl", "--utc", "--no-pager", "--output=short-precise", "--unit="+unit).SetStdout(&own).Run()
				counter.add(&own)
				return err
			})
		}
		if err := group.Wait(); err != nil {
			return s, err
		}
	default:
		// The nodes by name: the ones the lines were written to, and no
		// other (a VM worker joined to the cluster has none of them).
		args := []string{"--kubeconfig", b.c.Kubeconfig, "node-logs", "-q", unit, "--tail", "-1"}
		for _, n := range b.nodes {
			args = append(args, n.Name)
		}
		cmd := exec.Host.Command(ctx, b.c.Kubectl, args...).SetStdout(&counter)
		if err := cmd.Run(); err != nil {
			return s, err
		}
		s.KubectlMaxRSS, _ = exec.PeakRSS(cmd)
	}
	s.Wall = time.Since(start)
	s.Lines, s.Bytes = counter.lines, counter.bytes
	peak, err := b.kubeletPeak(ctx)
	s.KubeletPeakRSS = peak
	return s, err
}

// kubeletPeak is the largest VmHWM (peak resident set since its start)
// among the nodes' kubelets; each method's block starts with restarted
// kubelets.
func (b bench) kubeletPeak(ctx context.Context) (int64, error) {
	var peak int64
	for _, n := range b.nodes {
		out, err := exec.Output(n.Command(ctx, "sh", "-c", "grep VmHWM /proc/$(pidof kubelet)/status"))
		if err != nil {
			return 0, fmt.Errorf("%s: reading the kubelet's VmHWM: %w", n, err)
		}
		kib, err := parseKiB(string(out))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", n, err)
		}
		peak = max(peak, kib*1024)
	}
	return peak, nil
}

// parseKiB reads "VmHWM:   123456 kB".
func parseKiB(line string) (int64, error) {
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[2] != "kB" {
		return 0, fmt.Errorf("unexpected /proc status line %q", strings.TrimSpace(line))
	}
	return strconv.ParseInt(fields[1], 10, 64)
}

// lineCounter counts what passes through it, without keeping it.
type lineCounter struct {
	mu           sync.Mutex
	lines, bytes int64
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bytes += int64(len(p))
	l.lines += int64(strings.Count(string(p), "\n"))
	return len(p), nil
}

func (l *lineCounter) add(o *lineCounter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines += o.lines
	l.bytes += o.bytes
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
