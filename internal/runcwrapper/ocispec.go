package runcwrapper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The OCI files are decoded only down to process.capabilities; everything
// else stays json.RawMessage. Decoding the whole file into specs.Spec would
// silently drop any field newer than the vendored runtime-spec (and turn
// numbers into floats via interface{}), and runc would then run a container
// that differs from what Docker asked for in more than capabilities.

// FilterConfig removes the capabilities for which drop returns true from
// process.capabilities of an OCI bundle config.json. It returns data itself
// (byte for byte) and no names when there is nothing to remove, so callers can
// skip rewriting the file.
func FilterConfig(data []byte, drop func(string) bool) ([]byte, []string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("config.json: %w", err)
	}
	proc, ok := top["process"]
	if !ok || isNull(proc) {
		return data, nil, nil
	}
	newProc, removed, err := filterProcess(proc, drop)
	if err != nil || len(removed) == 0 {
		return data, nil, err
	}
	top["process"] = newProc
	out, err := marshal(top)
	return out, removed, err
}

// FilterProcess does the same for a runc exec --process file, whose top level
// is the process object itself.
func FilterProcess(data []byte, drop func(string) bool) ([]byte, []string, error) {
	out, removed, err := filterProcess(data, drop)
	if err != nil || len(removed) == 0 {
		return data, nil, err
	}
	return out, removed, nil
}

func filterProcess(data []byte, drop func(string) bool) ([]byte, []string, error) {
	var proc map[string]json.RawMessage
	if err := json.Unmarshal(data, &proc); err != nil {
		return nil, nil, fmt.Errorf("process: %w", err)
	}
	caps, ok := proc["capabilities"]
	if !ok || isNull(caps) {
		return data, nil, nil
	}
	newCaps, removed, err := filterCapabilities(caps, drop)
	if err != nil || len(removed) == 0 {
		return data, nil, err
	}
	proc["capabilities"] = newCaps
	out, err := marshal(proc)
	return out, removed, err
}

// filterCapabilities filters the five sets of specs.LinuxCapabilities. The
// object is read twice, as the typed struct (so the set names are the spec's)
// and as a raw map (so keys a later spec adds survive), and only sets that
// were present are written back: an absent set and an empty set mean
// different things to runc.
func filterCapabilities(data []byte, drop func(string) bool) ([]byte, []string, error) {
	var typed specs.LinuxCapabilities
	if err := json.Unmarshal(data, &typed); err != nil {
		return nil, nil, fmt.Errorf("process.capabilities: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("process.capabilities: %w", err)
	}
	sets := []struct {
		key  string
		list []string
	}{
		{"bounding", typed.Bounding},
		{"effective", typed.Effective},
		{"inheritable", typed.Inheritable},
		{"permitted", typed.Permitted},
		{"ambient", typed.Ambient},
	}
	var removed []string
	seen := map[string]bool{}
	for _, s := range sets {
		if _, present := raw[s.key]; !present {
			continue
		}
		kept := make([]string, 0, len(s.list))
		for _, c := range s.list {
			if drop(c) {
				if !seen[c] {
					seen[c] = true
					removed = append(removed, c)
				}
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) == len(s.list) {
			continue
		}
		b, err := marshal(kept)
		if err != nil {
			return nil, nil, err
		}
		raw[s.key] = b
	}
	if len(removed) == 0 {
		return data, nil, nil
	}
	out, err := marshal(raw)
	return out, removed, err
}

// FilterFile applies filter to the file at path and rewrites it only when
// something was removed. The new content goes to a temporary file in the same
// directory and is renamed over the old one, so a crash never leaves runc a
// half-written config.
func FilterFile(path string, filter func([]byte, func(string) bool) ([]byte, []string, error), drop func(string) bool) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, removed, err := filter(data, drop)
	if err != nil || len(removed) == 0 {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kubenext-"+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return removed, os.Rename(tmp.Name(), path)
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// marshal is json.Marshal without HTML escaping: a process's args or env may
// hold '<', '>' or '&', and while "\u003c" means the same, leaving the user's
// strings as they were keeps a rewritten config easy to diff against the old.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
