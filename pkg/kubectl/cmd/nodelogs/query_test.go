package nodelogs

import (
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

func ptr[T any](v T) *T { return &v }

func TestLogQueryValidate(t *testing.T) {
	t0 := time.Date(2024, 11, 26, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		query   LogQuery
		wantErr string // substring; empty means valid
	}{
		{name: "one service", query: LogQuery{Queries: []string{"kubelet"}}},
		{name: "four services", query: LogQuery{Queries: []string{"a", "b", "c", "d"}}},
		{name: "five services", query: LogQuery{Queries: []string{"a", "b", "c", "d", "e"}}, wantErr: "at most 4"},
		{name: "service with allowed punctuation", query: LogQuery{Queries: []string{"getty@tty1.service:x-y_z"}}},
		{name: "service with unsafe characters", query: LogQuery{Queries: []string{"kubelet;rm"}}, wantErr: "characters the kubelet refuses"},
		{name: "service name at the limit", query: LogQuery{Queries: []string{strings.Repeat("a", 256)}}},
		{name: "service name too long", query: LogQuery{Queries: []string{strings.Repeat("a", 257)}}, wantErr: "at most 256"},
		{name: "blank query", query: LogQuery{Queries: []string{"  "}}, wantErr: "blank"},
		{name: "no query", query: LogQuery{}, wantErr: "no --query"},
		{name: "one file", query: LogQuery{Queries: []string{"/kube-proxy.log"}}},
		{name: "backslash means file", query: LogQuery{Queries: []string{`C:\k\log.txt`}}},
		{name: "two files", query: LogQuery{Queries: []string{"/a.log", "/b.log"}}, wantErr: "one file per request"},
		{name: "file and service", query: LogQuery{Queries: []string{"/a.log", "kubelet"}}, wantErr: "mixes files"},
		{name: "file with tail", query: LogQuery{Queries: []string{"/a.log"}, TailLines: ptr(5)}, wantErr: "it answers 400"},
		{name: "file with pattern", query: LogQuery{Queries: []string{"/a.log"}, Pattern: "x"}, wantErr: "it answers 400"},
		{name: "file with boot 0", query: LogQuery{Queries: []string{"/a.log"}, Boot: ptr(0)}, wantErr: "it answers 400"},
		{name: "file with since", query: LogQuery{Queries: []string{"/a.log"}, SinceTime: &t0}, wantErr: "it answers 400"},
		{name: "tail 0", query: LogQuery{Queries: []string{"kubelet"}, TailLines: ptr(0)}},
		{name: "tail max", query: LogQuery{Queries: []string{"kubelet"}, TailLines: ptr(100000)}},
		{name: "tail over max", query: LogQuery{Queries: []string{"kubelet"}, TailLines: ptr(100001)}, wantErr: "--tail=100001"},
		{name: "tail negative", query: LogQuery{Queries: []string{"kubelet"}, TailLines: ptr(-2)}, wantErr: "--tail=-2"},
		{name: "boot previous", query: LogQuery{Queries: []string{"kubelet"}, Boot: ptr(-1)}},
		{name: "boot positive", query: LogQuery{Queries: []string{"kubelet"}, Boot: ptr(1)}, wantErr: "--boot=1"},
		{name: "until after since", query: LogQuery{Queries: []string{"kubelet"}, SinceTime: &t0, UntilTime: ptr(t0.Add(time.Hour))}},
		{name: "until equal since", query: LogQuery{Queries: []string{"kubelet"}, SinceTime: &t0, UntilTime: &t0}},
		{name: "until before since", query: LogQuery{Queries: []string{"kubelet"}, SinceTime: &t0, UntilTime: ptr(t0.Add(-time.Second))}, wantErr: "before the start"},
		{name: "valid pattern", query: LogQuery{Queries: []string{"kubelet"}, Pattern: `(?i)evict(ed|ion)\b`}},
		{name: "invalid pattern", query: LogQuery{Queries: []string{"kubelet"}, Pattern: `a(b`}, wantErr: "not a valid regular expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.query.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("expected an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLogQueryValues(t *testing.T) {
	since := time.Date(2024, 11, 26, 20, 0, 0, 0, time.FixedZone("CET", 3600))
	q := LogQuery{Queries: []string{"kubelet", "containerd"}, SinceTime: &since, TailLines: ptr(5), Boot: ptr(-1), Pattern: "err"}
	got := q.Values().Encode()
	want := "boot=-1&pattern=err&query=kubelet&query=containerd&sinceTime=2024-11-26T19%3A00%3A00Z&tailLines=5"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestBuildQueryFromFlags(t *testing.T) {
	now := time.Date(2024, 11, 26, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    NodeLogsOptions
		check   func(t *testing.T, q LogQuery)
		wantErr string
	}{
		{
			name: "since becomes sinceTime",
			opts: NodeLogsOptions{Since: time.Hour, TailLines: -1},
			check: func(t *testing.T, q LogQuery) {
				if q.SinceTime == nil || !q.SinceTime.Equal(now.Add(-time.Hour)) {
					t.Fatalf("sinceTime = %v", q.SinceTime)
				}
				if q.TailLines != nil {
					t.Fatalf("tail -1 must mean unset, got %d", *q.TailLines)
				}
			},
		},
		{name: "since and since-time", opts: NodeLogsOptions{Since: time.Hour, SinceTime: "2024-11-26T19:00:00Z", TailLines: -1}, wantErr: "only one"},
		{name: "bad since-time", opts: NodeLogsOptions{SinceTime: "yesterday", TailLines: -1}, wantErr: "not RFC3339"},
		{name: "bad until-time", opts: NodeLogsOptions{UntilTime: "2024-11-26 19:00", TailLines: -1}, wantErr: "not RFC3339"},
		{name: "negative since", opts: NodeLogsOptions{Since: -time.Hour, TailLines: -1}, wantErr: "negative"},
		{
			name: "boot only when set",
			opts: NodeLogsOptions{TailLines: 0, bootSet: true, Boot: 0},
			check: func(t *testing.T, q LogQuery) {
				if q.Boot == nil || *q.Boot != 0 || q.TailLines == nil || *q.TailLines != 0 {
					t.Fatalf("boot=%v tail=%v", q.Boot, q.TailLines)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Clock = testingclock.NewFakeClock(now)
			q, err := o.buildQuery()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, q)
		})
	}
}

func TestValidateFlagCombinations(t *testing.T) {
	service := LogQuery{Queries: []string{"kubelet"}}
	tests := []struct {
		name    string
		opts    NodeLogsOptions
		wantErr string
	}{
		{name: "names", opts: NodeLogsOptions{NodeNames: []string{"n1"}, MaxParallel: 4, query: service}},
		{name: "role", opts: NodeLogsOptions{Role: "worker", MaxParallel: 4, query: service}},
		{name: "no nodes", opts: NodeLogsOptions{MaxParallel: 4, query: service}, wantErr: "no nodes chosen"},
		{name: "names and role", opts: NodeLogsOptions{NodeNames: []string{"n1"}, Role: "worker", MaxParallel: 4, query: service}, wantErr: "not both"},
		{name: "raw two nodes", opts: NodeLogsOptions{NodeNames: []string{"n1", "n2"}, Raw: true, MaxParallel: 4, query: service}, wantErr: "exactly one node"},
		{name: "raw by role", opts: NodeLogsOptions{Role: "worker", Raw: true, MaxParallel: 4, query: service}, wantErr: "exactly one node"},
		{name: "raw follow", opts: NodeLogsOptions{NodeNames: []string{"n1"}, Raw: true, Follow: true, MaxParallel: 4, query: service}, wantErr: "cannot be combined"},
		{name: "follow file", opts: NodeLogsOptions{NodeNames: []string{"n1"}, Follow: true, MaxParallel: 4, query: LogQuery{Queries: []string{"/a.log"}}}, wantErr: "follow a service"},
		{name: "follow until", opts: NodeLogsOptions{NodeNames: []string{"n1"}, Follow: true, MaxParallel: 4, query: LogQuery{Queries: []string{"kubelet"}, UntilTime: ptr(time.Now())}}, wantErr: "--until-time"},
		{name: "max parallel 0", opts: NodeLogsOptions{NodeNames: []string{"n1"}, MaxParallel: 0, query: service}, wantErr: "--max-parallel=0"},
		{name: "kubelet rules too", opts: NodeLogsOptions{NodeNames: []string{"n1"}, MaxParallel: 4, query: LogQuery{Queries: []string{"kubelet"}, Boot: ptr(2)}}, wantErr: "--boot=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRoleSelector(t *testing.T) {
	tests := []struct {
		role, selector, want string
		workers              bool
	}{
		{role: "control-plane", want: "node-role.kubernetes.io/control-plane"},
		{role: "master", want: "node-role.kubernetes.io/control-plane"},
		{role: "worker", workers: true},
		{role: "infra", want: "node-role.kubernetes.io/infra"},
		{role: "infra", selector: "zone=a", want: "node-role.kubernetes.io/infra,zone=a"},
		{selector: "zone=a", want: "zone=a"},
	}
	for _, tt := range tests {
		got, workers, err := roleSelector(tt.role, tt.selector)
		if err != nil || got != tt.want || workers != tt.workers {
			t.Errorf("roleSelector(%q,%q) = %q,%v,%v; want %q,%v", tt.role, tt.selector, got, workers, err, tt.want, tt.workers)
		}
	}
	if _, _, err := roleSelector("", "a in ("); err == nil {
		t.Error("a broken selector must be refused before any request")
	}
}

func TestFileQueryMayNotLeaveVarLog(t *testing.T) {
	for _, q := range []string{"../../etc/shadow", "/pods/../../etc/shadow", `..\windows`} {
		err := LogQuery{Queries: []string{q}}.Validate()
		if err == nil || !strings.Contains(err.Error(), "leaves /var/log") {
			t.Errorf("%q: got %v, want a refusal before sending", q, err)
		}
	}
	if err := (LogQuery{Queries: []string{"/containers/x..log"}}).Validate(); err != nil {
		t.Errorf("a name containing dots is fine: %v", err)
	}
}
