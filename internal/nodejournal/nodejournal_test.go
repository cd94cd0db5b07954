package nodejournal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubenext/kubenext/internal/exec/exectest"
)

func TestParse(t *testing.T) {
	out := `{"MESSAGE":"time=\"2026-12-01T08:45:07.599123456Z\" level=info msg=\"StopContainer for \\\"abc\\\" with timeout 5 (s)\"","_SYSTEMD_UNIT":"containerd.service","__REALTIME_TIMESTAMP":"1764578707600000"}
{"MESSAGE":[104,105,255],"_SYSTEMD_UNIT":"kubelet.service","__REALTIME_TIMESTAMP":"1764578708000001"}
`
	entries, err := Parse([]byte(out))
	if err != nil || len(entries) != 2 {
		t.Fatalf("Parse = %v, %v", entries, err)
	}
	if entries[0].Time.Nanosecond() != 599123456 || !strings.Contains(entries[0].Message, `StopContainer for "abc"`) && !strings.Contains(entries[0].Message, `StopContainer for \"abc\"`) {
		t.Errorf("logrus entry: %+v", entries[0])
	}
	if entries[1].Message != "hi\xff" || entries[1].Time != time.UnixMicro(1764578708000001).UTC() {
		t.Errorf("byte-array entry: %+v", entries[1])
	}
	if _, err := Parse([]byte(`{"MESSAGE":"x"}`)); err == nil {
		t.Error("an entry without a timestamp must be an error")
	}
}

func TestReadArgsAndNoMatch(t *testing.T) {
	fake := &exectest.Cmder{Script: map[string]exectest.Result{"journalctl": {ExitCode: 1}}}
	since := time.Unix(1764578707, 500_000_000)
	entries, err := Read(context.Background(), fake, Query{Unit: "containerd", Since: since, Grep: "StopContainer"})
	if err != nil || len(entries) != 0 {
		t.Fatalf("no match must be no entries, got %v, %v", entries, err)
	}
	want := "journalctl --no-pager -o json --output-fields=MESSAGE,_SYSTEMD_UNIT,__REALTIME_TIMESTAMP -u containerd --since @1764578707.500000 --grep StopContainer"
	if got := fake.Lines()[0]; got != want {
		t.Errorf("command %q\nwant    %q", got, want)
	}
	if _, err := Read(context.Background(), fake, Query{Unit: "containerd"}); err == nil {
		t.Error("exit 1 without --grep is a failure")
	}
}
