package nodelogs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubenext/kubenext/pkg/kubectl/internal/kubetest"
)

// fakeAPIServer records every request and answers from handle.
type fakeAPIServer struct {
	mu       sync.Mutex
	requests []string
	handle   func(w http.ResponseWriter, r *http.Request)
}

// start serves f and returns kubectl's test factory pointed at it.
func (f *fakeAPIServer) start(t *testing.T) cmdutil.Factory {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.URL.RequestURI())
		f.mu.Unlock()
		f.handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return kubetest.Factory(t, srv.URL, "")
}

func (f *fakeAPIServer) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func runNodeLogs(t *testing.T, ctx context.Context, f cmdutil.Factory, o *NodeLogsOptions, args ...string) (string, string, error) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o.IOStreams = streams
	cmd := newCmdNodeLogs(f, o)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

const forbiddenStatus = `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes \"n2\" is forbidden: User \"bob\" cannot get resource \"nodes/proxy\"","reason":"Forbidden","details":{"name":"n2","kind":"nodes"},"code":403}`

func TestRequestPathAndQuery(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Nov 26 20:11:59.907124 n1 kubelet[1]: hello")
	}}
	f := api.start(t)
	out, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1", "-q", "kubelet", "--tail", "5")
	if err != nil {
		t.Fatal(err)
	}
	if got := api.seen(); len(got) != 1 || got[0] != "/api/v1/nodes/n1/proxy/logs/?query=kubelet&tailLines=5" {
		t.Fatalf("requests %v", got)
	}
	if out != "Nov 26 20:11:59.907124 n1 kubelet[1]: hello\n" {
		t.Fatalf("one node must print without prefix, got %q", out)
	}
}

func TestAllOptionsReachTheKubelet(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {}}
	f := api.start(t)
	_, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1",
		"-q", "kubelet", "-q", "containerd", "--since-time", "2024-11-26T20:00:00+01:00", "--until-time", "2024-11-26T20:00:00Z",
		"-g", "err|warn", "--boot", "0", "--prefix")
	if err != nil {
		t.Fatal(err)
	}
	want := "/api/v1/nodes/n1/proxy/logs/?boot=0&pattern=err%7Cwarn&query=kubelet&query=containerd&sinceTime=2024-11-26T19%3A00%3A00Z&untilTime=2024-11-26T20%3A00%3A00Z"
	if got := api.seen(); len(got) != 1 || got[0] != want {
		t.Fatalf("requests %v\nwant %s", got, want)
	}
}

func TestInvalidQueryIsNeverSent(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {}}
	f := api.start(t)
	_, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1", "-q", "/kube-proxy.log", "--tail", "5")
	if err == nil || !strings.Contains(err.Error(), "it answers 400") {
		t.Fatalf("want the file+options error, got %v", err)
	}
	if got := api.seen(); len(got) != 0 {
		t.Fatalf("nothing may be sent, got %v", got)
	}
}

func TestOneNodeForbiddenOtherPrinted(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/nodes/n1/proxy/logs/":
			fmt.Fprintln(w, "Nov 26 20:11:59.907124 n1 kubelet[1]: good")
		case "/api/v1/nodes/n2/proxy/logs/":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, forbiddenStatus)
		}
	}}
	f := api.start(t)
	out, errOut, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1", "n2", "-q", "kubelet")
	if out != "n1: Nov 26 20:11:59.907124 n1 kubelet[1]: good\n" {
		t.Fatalf("the good node's output must be printed, got %q", out)
	}
	if err == nil || !strings.Contains(err.Error(), "1 of 2 nodes failed: n2") {
		t.Fatalf("want a non-nil summary, got %v", err)
	}
	if !strings.Contains(errOut, "'get' verb on 'nodes/proxy'") || !strings.Contains(errOut, "node n2") {
		t.Fatalf("stderr must explain the missing permission, got %q", errOut)
	}
}

func TestErrorTranslation(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{name: "unknown node", status: 404, body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes \"nx\" not found","reason":"NotFound","details":{"name":"nx","kind":"nodes"},"code":404}`, want: `node "nx" does not exist`},
		{name: "kubelet 404", status: 404, body: "404 page not found", want: "enableSystemLogQuery: true"},
		{name: "log handler disabled", status: 405, body: "logs endpoint is disabled.", want: "enableSystemLogQuery: true"},
		{name: "query ignored, listing served", status: 200, body: "<pre>\n<a href=\"syslog\">syslog</a>\n</pre>\n", want: "enableSystemLogQuery: true"},
		{name: "kubelet unreachable", status: 502, body: "Error trying to reach service: dial tcp 10.0.0.2:10250: connect: connection refused", want: "does not answer"},
		{name: "kubelet rejects", status: 400, body: "query: Invalid value", want: "rejected the query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(tt.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}}
			f := api.start(t)
			out, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "nx", "-q", "kubelet")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if out != "" {
				t.Fatalf("nothing may be printed, got %q", out)
			}
		})
	}
}

func TestRawPrintsUntouched(t *testing.T) {
	body := "line without timestamp\r\n\x00binary\nno final newline"
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }}
	f := api.start(t)
	out, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1", "-q", "/syslog", "--raw")
	if err != nil {
		t.Fatal(err)
	}
	if out != body {
		t.Fatalf("got %q", out)
	}
}

func TestWorkerRoleSkipsNodesWithRoleLabels(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/nodes" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"kind":"NodeList","apiVersion":"v1","items":[
				{"metadata":{"name":"cp","labels":{"node-role.kubernetes.io/control-plane":""}}},
				{"metadata":{"name":"w2","labels":{"zone":"a"}}},
				{"metadata":{"name":"w1"}}]}`)
			return
		}
		node := strings.Split(r.URL.Path, "/")[4]
		fmt.Fprintf(w, "Nov 26 20:00:0%d.000000 %s kubelet[1]: hi\n", len(node), node)
	}}
	f := api.start(t)
	out, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "--role", "worker", "-q", "kubelet")
	if err != nil {
		t.Fatal(err)
	}
	want := "w1: Nov 26 20:00:02.000000 w1 kubelet[1]: hi\nw2: Nov 26 20:00:02.000000 w2 kubelet[1]: hi\n"
	if out != want {
		t.Fatalf("got %q want %q", out, want)
	}
	for _, req := range api.seen() {
		if strings.Contains(req, "/nodes/cp/") {
			t.Fatalf("control-plane node queried: %v", api.seen())
		}
	}
}

func TestControlPlaneRoleSelector(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"NodeList","apiVersion":"v1","items":[]}`)
	}}
	f := api.start(t)
	_, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "--role", "master", "-q", "kubelet")
	if err == nil || !strings.Contains(err.Error(), "no node matches") {
		t.Fatalf("got %v", err)
	}
	if got := api.seen(); len(got) != 1 || !strings.Contains(got[0], "labelSelector=node-role.kubernetes.io%2Fcontrol-plane") {
		t.Fatalf("requests %v", got)
	}
}

func TestFollowPollsWithMovingCursor(t *testing.T) {
	answers := []string{
		"Nov 26 20:00:01.100000 n1 kubelet[1]: a\nNov 26 20:00:01.500000 n1 kubelet[1]: b\n",
		"Nov 26 20:00:01.100000 n1 kubelet[1]: a\nNov 26 20:00:01.500000 n1 kubelet[1]: b\nNov 26 20:00:03.000000 n1 kubelet[1]: c\n",
		"Nov 26 20:00:03.000000 n1 kubelet[1]: c\n",
	}
	polled := make(chan struct{}, 10)
	var mu sync.Mutex
	calls := 0
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") == "true" {
			// An upstream kubelet ignores follow and answers once, without
			// the stream header: kubectl polls it.
			fmt.Fprint(w, answers[0])
			return
		}
		mu.Lock()
		answer := answers[min(calls, len(answers)-1)]
		calls++
		mu.Unlock()
		fmt.Fprint(w, answer)
		polled <- struct{}{}
	}}
	f := api.start(t)
	clock := testingclock.NewFakeClock(testNow)
	o := NewNodeLogsOptions(genericiooptions.IOStreams{})
	o.Clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var out string
	var err error
	go func() {
		defer close(done)
		out, _, err = runNodeLogs(t, ctx, f, o, "n1", "-q", "kubelet", "--tail", "10", "-f")
	}()
	// The ticker holds one tick, so a step taken while a poll is still
	// being printed is not lost; and a step short of the interval must not
	// poll at all.
	<-polled
	clock.Step(time.Second)
	select {
	case <-polled:
		t.Fatal("polled before the 2s interval passed")
	case <-time.After(100 * time.Millisecond):
	}
	clock.Step(time.Second)
	<-polled
	clock.Step(2 * time.Second)
	<-polled
	clock.Step(2 * time.Second)
	<-polled
	cancel()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	want := "Nov 26 20:00:01.100000 n1 kubelet[1]: a\nNov 26 20:00:01.500000 n1 kubelet[1]: b\nNov 26 20:00:03.000000 n1 kubelet[1]: c\n"
	if out != want {
		t.Fatalf("got %q want %q", out, want)
	}
	got := api.seen()
	if got[0] != "/api/v1/nodes/n1/proxy/logs/?follow=true&query=kubelet&tailLines=10" {
		t.Fatalf("-f first asks the kubelet to stream: %s", got[0])
	}
	got = got[1:]
	if got[0] != "/api/v1/nodes/n1/proxy/logs/?query=kubelet&tailLines=10" {
		t.Fatalf("first poll %s", got[0])
	}
	if got[1] != "/api/v1/nodes/n1/proxy/logs/?query=kubelet&sinceTime=2024-11-26T20%3A00%3A01Z" {
		t.Fatalf("second poll must drop --tail and start at the cursor's second: %s", got[1])
	}
	if got[2] != "/api/v1/nodes/n1/proxy/logs/?query=kubelet&sinceTime=2024-11-26T20%3A00%3A03Z" {
		t.Fatalf("third poll %s", got[2])
	}
}

func TestMaxParallelBoundsRequestsInFlight(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		node := strings.Split(r.URL.Path, "/")[4]
		fmt.Fprintf(w, "Nov 26 20:00:01.000000 %s kubelet[1]: hi\n", node)
	}}
	f := api.start(t)
	out, _, err := runNodeLogs(t, context.Background(), f, NewNodeLogsOptions(genericiooptions.IOStreams{}), "n1", "n2", "n3", "n4", "n5", "-q", "kubelet", "--max-parallel", "2")
	if err != nil {
		t.Fatal(err)
	}
	if most != 2 {
		t.Fatalf("at most %d requests in flight, want exactly the limit 2", most)
	}
	if strings.Count(out, "kubelet[1]: hi") != 5 {
		t.Fatalf("every node must be printed: %q", out)
	}
}

func TestFollowStreamsFromAKubeletThatOffersIt(t *testing.T) {
	api := &fakeAPIServer{handle: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" {
			t.Errorf("polled a streaming kubelet: %s", r.URL)
			return
		}
		w.Header().Set("Kubenext-Log-Follow", "stream")
		fmt.Fprint(w, "Nov 26 20:00:01.100000 n1 kubelet[1]: a\nNov 26 20:00:02.000000 n1 kubelet[1]: b\n")
		// The stream then ends, as at the kubelet's follow bound.
	}}
	f := api.start(t)
	o := NewNodeLogsOptions(genericiooptions.IOStreams{})
	out, errOut, err := runNodeLogs(t, context.Background(), f, o, "n1", "-q", "kubelet", "-f")
	if want := "Nov 26 20:00:01.100000 n1 kubelet[1]: a\nNov 26 20:00:02.000000 n1 kubelet[1]: b\n"; out != want {
		t.Errorf("got %q want %q", out, want)
	}
	if !strings.Contains(errOut, "n1: following in the kubelet (streamed)") {
		t.Errorf("kubectl must say it streams: %q", errOut)
	}
	if err == nil || !strings.Contains(err.Error(), "stream ended") {
		t.Errorf("an ended stream must be reported: %v", err)
	}
	if got := api.seen(); len(got) != 1 {
		t.Errorf("requests %v", got)
	}
}
