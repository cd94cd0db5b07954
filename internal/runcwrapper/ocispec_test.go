package runcwrapper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const configJSON = `{
  "ociVersion": "1.0.2-dev",
  "process": {
    "args": ["/sbin/init", "a<b&c"],
    "user": {"uid": 0, "gid": 0},
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "effective": ["CAP_CHOWN", "CAP_SYS_RESOURCE"],
      "permitted": ["CAP_SYS_RESOURCE"],
      "ambient": [],
      "futureSet": ["CAP_SYS_RESOURCE"]
    },
    "oomScoreAdj": 0
  },
  "linux": {"resources": {"memory": {"limit": 9007199254740993}}},
  "x-unknown": {"keep": true}
}`

func TestFilterConfig(t *testing.T) {
	drop := DropSet([]string{"CAP_SYS_RESOURCE"})
	out, removed, err := FilterConfig([]byte(configJSON), drop)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("removed %v", removed)
	}
	var got struct {
		Process struct {
			Args         []string
			Capabilities map[string][]string
			OomScoreAdj  *int
		}
		Linux   json.RawMessage
		Unknown map[string]bool `json:"x-unknown"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	caps := got.Process.Capabilities
	want := map[string][]string{
		"bounding":  {"CAP_CHOWN", "CAP_SYS_ADMIN"},
		"effective": {"CAP_CHOWN"},
		"permitted": {},
		"ambient":   {},
		// Unknown sets are not ours to interpret.
		"futureSet": {"CAP_SYS_RESOURCE"},
	}
	if !reflect.DeepEqual(caps, want) {
		t.Fatalf("caps = %v", caps)
	}
	if _, ok := caps["inheritable"]; ok {
		t.Fatal("absent set was added")
	}
	if !got.Unknown["keep"] || got.Process.OomScoreAdj == nil || got.Process.Args[1] != "a<b&c" {
		t.Fatalf("lost fields: %s", out)
	}
	// Large integers must survive exactly (no float64 round trip).
	if string(got.Linux) != `{"resources":{"memory":{"limit":9007199254740993}}}` {
		t.Fatalf("linux = %s", got.Linux)
	}
}

func TestFilterConfigNothingToDo(t *testing.T) {
	for name, drop := range map[string]func(string) bool{
		"full host":   DropSet(nil),
		"not present": DropSet([]string{"CAP_BPF"}),
	} {
		out, removed, err := FilterConfig([]byte(configJSON), drop)
		if err != nil || removed != nil || string(out) != configJSON {
			t.Errorf("%s: changed the config (removed %v, err %v)", name, removed, err)
		}
	}
	noCaps := `{"process": {"args": ["sh"]}}`
	if out, removed, err := FilterConfig([]byte(noCaps), DropSet([]string{"CAP_SYS_RESOURCE"})); err != nil || removed != nil || string(out) != noCaps {
		t.Errorf("no capabilities: %s %v %v", out, removed, err)
	}
	if _, _, err := FilterConfig([]byte(`{"process": {"capabilities": {"bounding": [1]}}}`), DropSet(nil)); err == nil {
		t.Error("want error for malformed capabilities")
	}
}

func TestFilterProcess(t *testing.T) {
	in := `{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"],"effective":["CAP_SYS_RESOURCE"],"inheritable":["CAP_SYS_RESOURCE"],"permitted":["CAP_KILL"],"ambient":["CAP_SYS_RESOURCE"]},"cwd":"/"}`
	out, removed, err := FilterProcess([]byte(in), DropSet([]string{"CAP_SYS_RESOURCE"}))
	if err != nil || !reflect.DeepEqual(removed, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("removed %v, err %v", removed, err)
	}
	want := `{"args":["sh"],"capabilities":{"ambient":[],"bounding":["CAP_KILL"],"effective":[],"inheritable":[],"permitted":["CAP_KILL"]},"cwd":"/"}`
	if string(out) != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestFilterFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(configJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	info0, _ := os.Stat(path)

	// Nothing to drop: the file is not touched at all.
	if removed, err := FilterFile(path, FilterConfig, DropSet(nil)); err != nil || removed != nil {
		t.Fatalf("removed %v, err %v", removed, err)
	}
	if info, _ := os.Stat(path); !os.SameFile(info0, info) {
		t.Fatal("file replaced although nothing was dropped")
	}

	removed, err := FilterFile(path, FilterConfig, DropSet([]string{"CAP_SYS_RESOURCE"}))
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %v, err %v", removed, err)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", info.Mode())
	}
	data, _ := os.ReadFile(path)
	if _, again, _ := FilterConfig(data, DropSet([]string{"CAP_SYS_RESOURCE"})); again != nil {
		t.Fatal("capability still present after rewrite")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
