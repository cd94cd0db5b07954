package kubectl

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

const review = `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"status":{"userInfo":{"username":"%s","groups":["system:authenticated"]}}}`

const pod = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"%s","resourceVersion":"7"},
"spec":{"containers":[{"name":"app","image":"x","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"200m"}}}]},
"status":{"containerStatuses":[{"name":"app","restartCount":0,"image":"x","imageID":"","ready":true}]}}`

// apiserver answers our three commands as the named cluster, so the output
// says which cluster was asked, and records every request.
type apiserver struct {
	name     string
	mu       sync.Mutex
	requests []string
}

func (a *apiserver) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests = append(a.requests, r.Method+" "+r.URL.RequestURI()+" as "+r.Header.Get("Impersonate-User"))
		a.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, review, "user-of-"+a.name)
		case strings.HasPrefix(r.URL.Path, "/api/v1/nodes/n1/proxy/logs/"):
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "Nov 26 20:11:59.907124 n1 kubelet[1]: from %s\n", a.name)
		case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/"):
			fmt.Fprintf(w, pod, strings.Split(r.URL.Path, "/")[4])
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (a *apiserver) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// twoClusters writes a kubeconfig whose current context is "one" and
// whose other context "two" points at a second server.
func twoClusters(t *testing.T) (string, *apiserver, *apiserver) {
	one, two := &apiserver{name: "one"}, &apiserver{name: "two"}
	kubeconfig := kubetest.Kubeconfig(t, map[string]string{"one": one.start(t), "two": two.start(t)}, "one", "from-kubeconfig")
	return kubeconfig, one, two
}

// kubectl runs our kubectl's command tree on args, as main does.
func kubectl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root, err := NewCommand(Options{Arguments: append([]string{"kubectl"}, args...), IOStreams: streams})
	if err != nil {
		return "", "", err
	}
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestGlobalFlagsChooseKubeconfigAndContext(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
		// wantRequest is a prefix of the last request the "two" server got.
		wantRequest string
	}{
		{
			name:        "whoami",
			args:        []string{"whoami"},
			wantOut:     "user-of-two\n",
			wantRequest: "POST /apis/authentication.k8s.io/v1/selfsubjectreviews",
		},
		{
			name:        "node-logs",
			args:        []string{"node-logs", "n1", "-q", "kubelet", "--tail", "5"},
			wantOut:     "from two\n",
			wantRequest: "GET /api/v1/nodes/n1/proxy/logs/?query=kubelet&tailLines=5",
		},
		{
			name:        "resize in the context's namespace",
			args:        []string{"resize", "pod/web", "--requests=cpu=150m"},
			wantOut:     "pod/web resized: container app requests cpu=150m (restarts: 0)\n",
			wantRequest: "PATCH /api/v1/namespaces/from-kubeconfig/pods/web/resize",
		},
		{
			name:        "resize with -n and --as before the command",
			args:        []string{"-n", "other", "--as", "bob", "resize", "pod/web", "--requests=cpu=150m"},
			wantOut:     "pod/web resized",
			wantRequest: "PATCH /api/v1/namespaces/other/pods/web/resize as bob",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig, one, two := twoClusters(t)
			out, errOut, err := kubectl(t, append([]string{"--kubeconfig", kubeconfig, "--context", "two"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output %q, want %q", out, tt.wantOut)
			}
			if got := one.seen(); len(got) != 0 {
				t.Fatalf("the current context's server was asked: %v", got)
			}
			got := two.seen()
			if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], tt.wantRequest) {
				t.Fatalf("context two's server got %v, want last %q", got, tt.wantRequest)
			}
		})
	}
}

func TestKubercDefaults(t *testing.T) {
	tests := []struct {
		name        string
		defaults    string
		args        []string
		wantOut     string
		wantRequest string
	}{
		{
			name:     "whoami -o",
			defaults: "- command: whoami\n  options:\n  - name: output\n    default: json\n",
			args:     []string{"whoami"},
			wantOut:  `"kind": "SelfSubjectReview"`,
		},
		{
			name:     "explicit -o beats kuberc",
			defaults: "- command: whoami\n  options:\n  - name: output\n    default: json\n",
			args:     []string{"whoami", "-o", "jsonpath={.status.userInfo.username}"},
			wantOut:  "user-of-one",
		},
		{
			name:     "resize -o",
			defaults: "- command: resize\n  options:\n  - name: output\n    default: name\n",
			args:     []string{"resize", "pod/web", "--requests=cpu=150m"},
			wantOut:  "pod/web\n",
		},
		{
			name:        "node-logs --tail",
			defaults:    "- command: node-logs\n  options:\n  - name: tail\n    default: \"7\"\n",
			args:        []string{"node-logs", "n1", "-q", "kubelet"},
			wantOut:     "from one\n",
			wantRequest: "GET /api/v1/nodes/n1/proxy/logs/?query=kubelet&tailLines=7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kubeconfig, one, _ := twoClusters(t)
			kubetest.Kuberc(t, tt.defaults)
			out, errOut, err := kubectl(t, append([]string{"--kubeconfig", kubeconfig}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if out != tt.wantOut && !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output %q, want %q", out, tt.wantOut)
			}
			if tt.wantOut == "pod/web\n" && out != tt.wantOut {
				t.Fatalf("output %q, want exactly %q", out, tt.wantOut)
			}
			if got := one.seen(); tt.wantRequest != "" && (len(got) == 0 || !strings.HasPrefix(got[len(got)-1], tt.wantRequest)) {
				t.Fatalf("requests %v, want last %q", got, tt.wantRequest)
			}
			if errOut != "" {
				t.Fatalf("stderr %q", errOut)
			}
		})
	}
}

// A kuberc naming our commands must not trouble upstream's: kuberc warns
// about defaults for commands it cannot find.
func TestKubercForOurCommandsIsQuietForOthers(t *testing.T) {
	kubetest.Kubeconfig(t, map[string]string{"one": "https://127.0.0.1:1"}, "one", "")
	kubetest.Kuberc(t, "- command: whoami\n  options:\n  - name: output\n    default: yaml\n- command: resize\n  options:\n  - name: dry-run\n    default: server\n")
	_, errOut, err := kubectl(t, "version", "--client")
	if err != nil {
		t.Fatal(err)
	}
	if errOut != "" {
		t.Fatalf("stderr %q", errOut)
	}
}

type recordingHandler struct{ lookedUp []string }

func (h *recordingHandler) Lookup(name string) (string, bool) {
	h.lookedUp = append(h.lookedUp, name)
	return "", false
}

func (h *recordingHandler) Execute(string, []string, []string) error { return nil }

func TestPluginsDoNotShadowOurCommands(t *testing.T) {
	root, err := NewCommand(Options{Arguments: []string{"kubectl"}, IOStreams: genericiooptions.NewTestIOStreamsDiscard()})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"whoami"},
		{"--as", "bob", "node-logs", "n1", "-q", "kubelet"},
		{"-n", "ns", "resize", "pod/web", "--requests=cpu=1"},
		{"get", "pods"},
		{"help"},
	} {
		h := &recordingHandler{}
		if err := HandlePlugin(root, h, args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if len(h.lookedUp) != 0 {
			t.Fatalf("%v looked up plugins %v", args, h.lookedUp)
		}
	}
	h := &recordingHandler{}
	if err := HandlePlugin(root, h, []string{"hello", "world"}); err != nil {
		t.Fatal(err)
	}
	if len(h.lookedUp) == 0 || h.lookedUp[0] != "hello-world" {
		t.Fatalf("an unknown command must be looked up as a plugin, looked up %v", h.lookedUp)
	}
	h = &recordingHandler{}
	if err := HandlePlugin(root, h, []string{"create", "thing"}); err != nil {
		t.Fatal(err)
	}
	if len(h.lookedUp) == 0 || h.lookedUp[0] != "create-thing" {
		t.Fatalf("an unknown create subcommand must be looked up as a plugin, looked up %v", h.lookedUp)
	}
}

func TestMatchServerVersionReachesOurFactory(t *testing.T) {
	var versionAsked bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/version" {
			versionAsked = true
			fmt.Fprint(w, `{"major":"0","minor":"1","gitVersion":"v0.1.0"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, review, "x")
	}))
	t.Cleanup(srv.Close)
	kubeconfig := kubetest.Kubeconfig(t, map[string]string{"one": srv.URL}, "one", "")
	_, _, err := kubectl(t, "--kubeconfig", kubeconfig, "--match-server-version", "whoami")
	if !versionAsked || err == nil || !strings.Contains(err.Error(), "server version") {
		t.Fatalf("--match-server-version must compare versions before whoami runs: asked=%v err=%v", versionAsked, err)
	}
}
