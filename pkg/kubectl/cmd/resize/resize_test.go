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

type recorded struct {
	mu        sync.Mutex
	patchPath string
	patchType string
	patchBody string
	watchURL  string
}

func serve(t *testing.T, pod string, watchEvents []string) (string, *recorded) {
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		rec.mu.Lock()
		defer rec.mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods/web":
			fmt.Fprint(w, pod)
		case r.Method == http.MethodPatch:
			body, _ := io.ReadAll(r.Body)
			rec.patchPath, rec.patchType, rec.patchBody = r.URL.Path, r.Header.Get("Content-Type"), string(body)
			fmt.Fprint(w, pod)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/pods" && r.URL.Query().Get("watch") == "true":
			rec.watchURL = r.URL.RawQuery
			for _, event := range watchEvents {
				fmt.Fprintln(w, event)
			}
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return kubetest.Kubeconfig(t, srv.URL, "ns"), rec
}

func runResize(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdResize(streams)
	cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func modified(pod string) string { return `{"type":"MODIFIED","object":` + pod + `}` }

func TestPatchRequest(t *testing.T) {
	kubeconfig, rec := serve(t, podJSON(oldResources, "", 2), nil)
	out, err := runResize(t, kubeconfig, "pod/web", "--requests=cpu=500m", "--limits=cpu=1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.patchPath != "/api/v1/namespaces/ns/pods/web/resize" || rec.patchType != "application/strategic-merge-patch+json" {
		t.Fatalf("patched %s as %s", rec.patchPath, rec.patchType)
	}
	want := `{"spec":{"containers":[{"name":"app","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"500m"}}}]}}`
	if rec.patchBody != want {
		t.Fatalf("patch body %s\nwant %s", rec.patchBody, want)
	}
	if out != "pod/web resized: container app requests cpu=500m, limits cpu=1 (restarts: 2)\n" {
		t.Fatalf("output %q", out)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig, rec := serve(t, podJSON(oldResources, "", 0), nil)
			_, err := runResize(t, kubeconfig, tt.args...)
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
	kubeconfig, _ := serve(t, pod, nil)
	_, err := runResize(t, kubeconfig, "web", "--requests=cpu=1")
	if err == nil || !strings.Contains(err.Error(), "choose one with -c") {
		t.Fatalf("got %v", err)
	}
}

func TestWaitOutcomes(t *testing.T) {
	inProgress := `{"type":"PodResizeInProgress","status":"True"}`
	tests := []struct {
		name    string
		events  []string
		wantOut string
		wantErr string
	}{
		{
			name:    "applied",
			events:  []string{modified(podJSON(oldResources, inProgress, 2)), modified(podJSON(newResources, "", 2))},
			wantOut: "pod/web: container app runs with the new resources (restarts: 2 before, 2 after)\n",
		},
		{
			name:    "infeasible",
			events:  []string{modified(podJSON(oldResources, `{"type":"PodResizePending","status":"True","reason":"Infeasible","message":"Node didn't have enough capacity: cpu, requested: 500, capacity: 400"}`, 2))},
			wantErr: "Infeasible): Node didn't have enough capacity",
		},
		{
			name:    "deferred",
			events:  []string{modified(podJSON(oldResources, `{"type":"PodResizePending","status":"True","reason":"Deferred","message":"Node didn't have enough resource: cpu"}`, 2))},
			wantErr: "Deferred",
		},
		{
			name:    "kubelet error",
			events:  []string{modified(podJSON(oldResources, `{"type":"PodResizeInProgress","status":"True","reason":"Error","message":"runtime refused"}`, 2))},
			wantErr: "failed to apply the resize: runtime refused",
		},
		{
			name:    "watch ends early",
			events:  []string{modified(podJSON(oldResources, inProgress, 2))},
			wantErr: "watch ended before the resize finished",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig, rec := serve(t, podJSON(oldResources, "", 2), tt.events)
			out, err := runResize(t, kubeconfig, "pod/web", "--requests=cpu=500m", "--limits=cpu=1", "--wait", "--timeout=10s")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "in progress: requests cpu is 100m, want 500m") {
				t.Fatalf("progress not reported: %q", out)
			}
			if !strings.HasSuffix(out, tt.wantOut) {
				t.Fatalf("output %q, want suffix %q", out, tt.wantOut)
			}
			if !strings.Contains(rec.watchURL, "fieldSelector=metadata.name%3Dweb") || !strings.Contains(rec.watchURL, "resourceVersion=7") {
				t.Fatalf("watch query %s", rec.watchURL)
			}
		})
	}
}
