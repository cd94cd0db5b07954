package resize

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/kubenext/kubenext/pkg/kubectl/internal/kubetest"
)

// podJSON is a Burstable pod with one container "app" (cpu 100m/200m) that
// has restarted twice.
func podJSON(statusResources, conditions string, restarts int) string {
	return fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns","resourceVersion":"7"},
"spec":{"containers":[{"name":"app","image":"x","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"200m"}}}]},
"status":{"conditions":[%s],"containerStatuses":[{"name":"app","restartCount":%d,"image":"x","imageID":"","ready":true,"resources":%s}]}}`, conditions, restarts, statusResources)
}

const oldResources = `{"requests":{"cpu":"100m"},"limits":{"cpu":"200m"}}`
const newResources = `{"requests":{"cpu":"500m"},"limits":{"cpu":"1"}}`

const inProgress = `{"type":"PodResizeInProgress","status":"True"}`
const deferred = `{"type":"PodResizePending","status":"True","reason":"Deferred","message":"Node didn't have enough resource: cpu"}`

type recorded struct {
	mu        sync.Mutex
	gets      int
	patchPath string
	patchType string
	patchBody string
	patchDry  string
	watches   []string
}

func (r *recorded) watchQueries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.watches...)
}

// serve plays the apiserver: GET returns pod, PATCH returns pod, and the
// i-th watch streams watches[i] and then closes, except the last one, which
// stays open as the apiserver's would until the client gives up.
func serve(t *testing.T, pod string, watches ...[]string) (cmdutil.Factory, *recorded) {
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods/web":
			rec.mu.Lock()
			rec.gets++
			rec.mu.Unlock()
			fmt.Fprint(w, pod)
		case r.Method == http.MethodPatch:
			body, _ := io.ReadAll(r.Body)
			rec.mu.Lock()
			rec.patchPath, rec.patchType, rec.patchBody, rec.patchDry = r.URL.Path, r.Header.Get("Content-Type"), string(body), r.URL.Query().Get("dryRun")
			rec.mu.Unlock()
			fmt.Fprint(w, pod)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods" && r.URL.Query().Get("watch") == "true":
			rec.mu.Lock()
			i := len(rec.watches)
			rec.watches = append(rec.watches, r.URL.RawQuery)
			rec.mu.Unlock()
			if i < len(watches) {
				for _, event := range watches[i] {
					fmt.Fprintln(w, event)
				}
			}
			w.(http.Flusher).Flush()
			if i >= len(watches)-1 {
				<-r.Context().Done()
			}
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return kubetest.Factory(t, srv.URL, "ns"), rec
}

func runResize(t *testing.T, f cmdutil.Factory, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdResize(f, streams)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func modified(pod string) string { return `{"type":"MODIFIED","object":` + pod + `}` }

func withResourceVersion(pod, rv string) string {
	return strings.Replace(pod, `"resourceVersion":"7"`, `"resourceVersion":"`+rv+`"`, 1)
}

func TestPatchRequest(t *testing.T) {
	f, rec := serve(t, podJSON(oldResources, "", 2))
	out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.patchPath != "/api/v1/namespaces/ns/pods/web/resize" || rec.patchType != "application/strategic-merge-patch+json" || rec.patchDry != "" {
		t.Fatalf("patched %s as %s, dryRun=%q", rec.patchPath, rec.patchType, rec.patchDry)
	}
	want := `{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"500m"}}}]}}`
	if rec.patchBody != want {
		t.Fatalf("patch body %s\nwant %s", rec.patchBody, want)
	}
	if out != "pod/web resized: container app requests cpu=500m, limits cpu=1 (restarts: 2)\n" {
		t.Fatalf("output %q", out)
	}
}

func TestDryRun(t *testing.T) {
	t.Run("client sends nothing", func(t *testing.T) {
		f, rec := serve(t, podJSON(oldResources, "", 2))
		out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--dry-run=client")
		if err != nil {
			t.Fatal(err)
		}
		if rec.patchPath != "" {
			t.Fatal("--dry-run=client may not patch")
		}
		if out != "pod/web resized (dry run): container app requests cpu=500m, limits cpu=1 (restarts: 2)\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("client prints the pod it would make", func(t *testing.T) {
		f, _ := serve(t, podJSON(oldResources, "", 2))
		out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--dry-run=client", "-o", "jsonpath={.spec.containers[0].resources.requests.cpu}/{.spec.containers[0].resources.limits.cpu}")
		if err != nil {
			t.Fatal(err)
		}
		if out != "500m/1" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("server", func(t *testing.T) {
		f, rec := serve(t, podJSON(oldResources, "", 2))
		out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--dry-run=server")
		if err != nil {
			t.Fatal(err)
		}
		if rec.patchPath != "/api/v1/namespaces/ns/pods/web/resize" || rec.patchDry != "All" {
			t.Fatalf("patched %s with dryRun=%q", rec.patchPath, rec.patchDry)
		}
		if out != "pod/web resized (server dry run): container app requests cpu=500m, limits cpu=1 (restarts: 2)\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("server with -o name", func(t *testing.T) {
		f, _ := serve(t, podJSON(oldResources, "", 2))
		out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--dry-run=server", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if out != "pod/web\n" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("not with --wait", func(t *testing.T) {
		f, rec := serve(t, podJSON(oldResources, "", 2))
		_, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--dry-run=server", "--wait")
		if err == nil || !strings.Contains(err.Error(), "--wait with --dry-run") || rec.patchPath != "" {
			t.Fatalf("got %v, patched %q", err, rec.patchPath)
		}
	})
	t.Run("unknown strategy", func(t *testing.T) {
		f, _ := serve(t, podJSON(oldResources, "", 2))
		_, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--dry-run=maybe")
		if err == nil || !strings.Contains(err.Error(), `Must be "none", "server", or "client"`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOutputWithWaitPrintsOnlyTheFinalPod(t *testing.T) {
	f, _ := serve(t, podJSON(oldResources, "", 2), []string{modified(podJSON(newResources, "", 3))})
	out, errOut, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--wait", "--timeout=10s", "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
	if err != nil {
		t.Fatal(err)
	}
	if out != "3" {
		t.Fatalf("stdout %q, want only the final pod's restart count", out)
	}
	if !strings.Contains(errOut, "in progress: requests cpu is 100m, want 500m") {
		t.Fatalf("progress belongs on stderr with -o, got %q", errOut)
	}
}

func TestClientSideChecksSendNothing(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "gpu", args: []string{"pod/web", "--limits=nvidia.com/gpu=1"}, want: "only cpu and memory"},
		{name: "bad quantity", args: []string{"pod/web", "--requests=cpu=lots"}, want: "not a quantity"},
		{name: "not a pair", args: []string{"pod/web", "--requests=cpu"}, want: "NAME=QUANTITY"},
		{name: "nothing", args: []string{"pod/web"}, want: "nothing to change"},
		{name: "deployment", args: []string{"deployment/web", "--requests=cpu=1"}, want: "only pods"},
		{name: "qos change to guaranteed", args: []string{"pod/web", "--requests=cpu=200m,memory=1Gi", "--limits=memory=1Gi"}, want: "from QoS class Burstable into Guaranteed"},
		{name: "unknown container", args: []string{"pod/web", "-c", "side", "--requests=cpu=1"}, want: `no container "side"; its containers are: app`},
		{name: "request above limit", args: []string{"pod/web", "--requests=cpu=300m"}, want: "may not exceed its limit"},
		{name: "unknown output", args: []string{"pod/web", "--requests=cpu=150m", "-o", "wide"}, want: "allowed formats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, rec := serve(t, podJSON(oldResources, "", 0))
			_, _, err := runResize(t, f, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if rec.patchPath != "" {
				t.Fatal("nothing may be patched")
			}
		})
	}
}

func TestSeveralContainersNeedC(t *testing.T) {
	pod := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns"},"spec":{"containers":[{"name":"app","image":"x"},{"name":"proxy","image":"y"}]}}`
	f, _ := serve(t, pod)
	_, _, err := runResize(t, f, "web", "--requests=cpu=1")
	if err == nil || !strings.Contains(err.Error(), "choose one with -c") {
		t.Fatalf("got %v", err)
	}
}

func TestWaitOutcomes(t *testing.T) {
	const expired = `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 7 (9)","reason":"Expired","code":410}}`
	tests := []struct {
		name     string
		watches  [][]string
		timeout  string
		wantOut  string
		wantErr  string
		wantGets int
		// wantRVs are the resourceVersions the watches start from.
		wantRVs []string
	}{
		{
			name:    "applied",
			watches: [][]string{{modified(podJSON(oldResources, inProgress, 2)), modified(podJSON(newResources, "", 2))}},
			wantOut: "pod/web: container app runs with the new resources (restarts: 2 before, 2 after)\n",
			wantRVs: []string{"7"},
		},
		{
			name:    "infeasible is final",
			watches: [][]string{{modified(podJSON(oldResources, `{"type":"PodResizePending","status":"True","reason":"Infeasible","message":"Node didn't have enough capacity: cpu, requested: 500, capacity: 400"}`, 2))}},
			wantErr: "Infeasible): Node didn't have enough capacity",
			wantRVs: []string{"7"},
		},
		{
			name:    "deferred is waited through",
			watches: [][]string{{modified(podJSON(oldResources, deferred, 2)), modified(podJSON(newResources, "", 2))}},
			wantOut: "pod/web: deferred: the node cannot fit this resize now and the kubelet retries when resources free up; waiting (Node didn't have enough resource: cpu)\npod/web: container app runs with the new resources (restarts: 2 before, 2 after)\n",
			wantRVs: []string{"7"},
		},
		{
			name:    "deferred until the timeout",
			watches: [][]string{{modified(podJSON(oldResources, deferred, 2))}},
			timeout: "2s",
			wantOut: "pod/web: deferred: the node cannot fit this resize now and the kubelet retries when resources free up; waiting (Node didn't have enough resource: cpu)\n",
			wantErr: "timed out after 2s waiting for the resize (last state: deferred:",
			wantRVs: []string{"7"},
		},
		{
			name:    "kubelet error",
			watches: [][]string{{modified(podJSON(oldResources, `{"type":"PodResizeInProgress","status":"True","reason":"Error","message":"runtime refused"}`, 2))}},
			wantErr: "failed to apply the resize: runtime refused",
			wantRVs: []string{"7"},
		},
		{
			name:    "closed watch is resumed",
			watches: [][]string{{modified(withResourceVersion(podJSON(oldResources, inProgress, 2), "8"))}, {modified(withResourceVersion(podJSON(newResources, "", 2), "9"))}},
			wantOut: "pod/web: container app runs with the new resources (restarts: 2 before, 2 after)\n",
			wantRVs: []string{"7", "8"},
		},
		{
			name:     "expired watch starts over from a fresh read",
			watches:  [][]string{{expired}, {modified(podJSON(newResources, "", 2))}},
			wantOut:  "pod/web: container app runs with the new resources (restarts: 2 before, 2 after)\n",
			wantGets: 2,
			wantRVs:  []string{"7", "7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, rec := serve(t, podJSON(oldResources, "", 2), tt.watches...)
			timeout := tt.timeout
			if timeout == "" {
				timeout = "10s"
			}
			out, _, err := runResize(t, f, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--wait", "--timeout="+timeout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "pod/web resized: container app requests cpu=500m, limits cpu=1 (restarts: 2)\npod/web: in progress: requests cpu is 100m, want 500m\n") {
				t.Fatalf("progress not reported: %q", out)
			}
			if !strings.HasSuffix(out, tt.wantOut) {
				t.Fatalf("output %q, want suffix %q", out, tt.wantOut)
			}
			if tt.wantGets != 0 && rec.gets != tt.wantGets {
				t.Fatalf("%d GETs of the pod, want %d", rec.gets, tt.wantGets)
			}
			watches := rec.watchQueries()
			if len(watches) < len(tt.wantRVs) {
				t.Fatalf("watches %v, want %d", watches, len(tt.wantRVs))
			}
			for i, rv := range tt.wantRVs {
				if !strings.Contains(watches[i], "fieldSelector=metadata.name%3Dweb") || !strings.Contains(watches[i], "resourceVersion="+rv+"&") {
					t.Fatalf("watch %d query %s, want resourceVersion=%s", i, watches[i], rv)
				}
			}
		})
	}
}
