package nodecri

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/exec/exectest"
	"github.com/kubenext/kubenext/internal/nodejournal"
)

func TestParseStopRequest(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		line    string
		ok      bool
		timeout time.Duration
	}{
		{`time="2026-12-01T08:45:07.599Z" level=info msg="StopContainer for \"` + id + `\" with timeout 5 (s)"`, true, 5 * time.Second},
		{`StopContainer for "` + id + `" with timeout 30 (s)`, true, 30 * time.Second},
		{`level=info msg="StopContainer for \"` + id + `\" returns successfully"`, false, 0},
		{`StopPodSandbox for "` + id + `"`, false, 0},
		{`StopContainer for "not-an-id" with timeout 5 (s)`, false, 0},
	} {
		got, ok := ParseStopRequest(tc.line)
		if ok != tc.ok || got.Timeout != tc.timeout || (ok && got.ContainerID != id) {
			t.Errorf("ParseStopRequest(%q) = %+v, %v; want timeout %v, %v", tc.line, got, ok, tc.timeout, tc.ok)
		}
	}
}

func TestFirstStopRequests(t *testing.T) {
	id := strings.Repeat("cd", 32)
	t0 := time.Date(2026, 12, 1, 8, 45, 7, 0, time.UTC)
	got := FirstStopRequests([]nodejournal.Entry{
		{Time: t0, Message: `msg="StopContainer for \"` + id + `\" with timeout 20 (s)"`},
		{Time: t0.Add(time.Second), Message: `msg="StopContainer for \"` + id + `\" returns successfully"`},
		{Time: t0.Add(9 * time.Second), Message: `msg="StopContainer for \"` + id + `\" with timeout 11 (s)"`},
	})
	if r := got[id]; len(got) != 1 || !r.At.Equal(t0) || r.Timeout != 20*time.Second {
		t.Fatalf("FirstStopRequests = %+v", got)
	}
}

func TestParseInspectStreamAndArray(t *testing.T) {
	one := `{"status":{"id":"a","metadata":{"name":"main","attempt":0},"state":"CONTAINER_EXITED","createdAt":"2026-12-01T08:45:00.100000000Z","startedAt":"2026-12-01T08:45:00.200000001Z","finishedAt":"2026-12-01T08:45:02.300000000Z","exitCode":3,"reason":"Error"},"info":{}}`
	never := `{"status":{"id":"b","metadata":{"name":"main"},"state":"CONTAINER_EXITED","createdAt":"1764578700000000000","startedAt":"1970-01-01T00:00:00Z","finishedAt":"2026-12-01T08:45:02Z","exitCode":128,"reason":"StartError","message":"runc create failed: unable to freeze"}}`
	for name, out := range map[string]string{"stream": one + "\n" + never + "\n", "array": "[" + one + "," + never + "]"} {
		got, err := ParseInspect([]byte(out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 2 {
			t.Fatalf("%s: %d statuses", name, len(got))
		}
		if !got[0].Started() || got[0].ExitCode != 3 || got[0].StartedAt.Nanosecond() != 200000001 {
			t.Errorf("%s: first = %+v", name, got[0])
		}
		if got[1].Started() || got[1].Reason != "StartError" || got[1].CreatedAt.Year() != 2025 {
			t.Errorf("%s: second = %+v (created %v)", name, got[1], got[1].CreatedAt)
		}
		if d := got[1].Describe(); !strings.Contains(d, "never started") || !strings.Contains(d, "unable to freeze") {
			t.Errorf("%s: Describe = %q", name, d)
		}
	}
	if _, err := ParseInspect([]byte(`{"status": {"startedAt": "yesterday"}}`)); err == nil {
		t.Error("a time crictl would not print must be an error")
	}
}

func TestListingsAndSelectors(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{
		"crictl ps -a -o json": {Stdout: `{"containers":[{"id":"c1","podSandboxId":"s1","metadata":{"name":"main","attempt":1},"state":"CONTAINER_RUNNING","createdAt":"1764578700000000000"}]}`},
		"crictl pods -o json":  {Stdout: `{"items":[{"id":"s1","metadata":{"name":"p","uid":"u","namespace":"ns","attempt":0},"state":"SANDBOX_NOTREADY","createdAt":"1764578700000000000"}]}`},
		"crictl info -o json":  {Stdout: `{"status":{"conditions":[{"type":"RuntimeReady","status":true},{"type":"NetworkReady","status":false,"reason":"NetworkPluginNotReady","message":"cni config uninitialized"}]}}`},
	}}
	rt := Runtime{Node: fake}
	ctx := context.Background()
	cs, err := rt.Containers(ctx, Selector{PodNamespaceLabel: "ns", PodUIDLabel: "u"})
	if err != nil || len(cs) != 1 || cs[0].Metadata.Attempt != 1 || cs[0].CreatedAt.IsZero() {
		t.Fatalf("Containers = %+v, %v", cs, err)
	}
	sb, err := rt.Sandboxes(ctx, Namespace("ns"))
	if err != nil || len(sb) != 1 || sb[0].Metadata.Namespace != "ns" {
		t.Fatalf("Sandboxes = %+v, %v", sb, err)
	}
	statuses, err := rt.PodStatuses(ctx, "u")
	if err != nil || len(statuses) != 0 {
		t.Fatalf("PodStatuses = %v, %v", statuses, err)
	}
	lines := fake.Lines()
	if want := "crictl inspect -o json c1"; lines[len(lines)-1] != want {
		t.Errorf("PodStatuses inspected with %q, want %q", lines[len(lines)-1], want)
	}
	if lines[0] != "crictl ps -a -o json --label io.kubernetes.pod.namespace=ns --label io.kubernetes.pod.uid=u" {
		t.Errorf("selector flags: %q", lines[0])
	}
	if err := rt.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "NetworkReady") {
		t.Errorf("Healthy = %v, want the false condition named", err)
	}
	healthy := &exectest.Cmder{Script: map[string]exectest.Result{
		"crictl info -o json": {Stdout: `{"status":{"conditions":[{"type":"RuntimeReady","status":true},{"type":"NetworkReady","status":true},{"type":"ContainerdHasNoDeprecationWarnings","status":false,"reason":"ContainerdHasDeprecationWarnings"}]}}`},
	}}
	if err := (Runtime{Node: healthy}).Healthy(ctx); err != nil {
		t.Errorf("a deprecation warning is not ill health: %v", err)
	}
	silent := &exectest.Cmder{Script: map[string]exectest.Result{"crictl info -o json": {Stdout: `{"status":{"conditions":[{"type":"RuntimeReady","status":true}]}}`}}}
	if err := (Runtime{Node: silent}).Healthy(ctx); err == nil || !strings.Contains(err.Error(), "no NetworkReady") {
		t.Errorf("a runtime without NetworkReady: %v", err)
	}
}
