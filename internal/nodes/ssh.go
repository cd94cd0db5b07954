package nodes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SSHRecord is how a virtual machine node is reached: the record make
// vm-worker writes next to the machine's disk.
type SSHRecord struct {
	User    string `json:"user"`
	Address string `json:"address"` // on the project's own bridge
	Port    int    `json:"port"`
	Key     string `json:"key"` // private key, absolute path
}

// sshRecordFile is the record's name in a machine's directory.
const sshRecordFile = "ssh.json"

// WriteSSHRecord stores r in dir.
func WriteSSHRecord(dir string, r SSHRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sshRecordFile), append(b, '\n'), 0o644)
}

// ReadSSHRecord reads the record in dir.
func ReadSSHRecord(dir string) (SSHRecord, error) {
	var r SSHRecord
	b, err := os.ReadFile(filepath.Join(dir, sshRecordFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(dir, sshRecordFile), err)
	}
	if r.User == "" || r.Address == "" || r.Key == "" {
		return r, fmt.Errorf("%s: user, address and key are required", filepath.Join(dir, sshRecordFile))
	}
	return r, nil
}

// Target is user@address.
func (r SSHRecord) Target() string { return r.User + "@" + r.Address }

// options are the client options shared by ssh and scp (their port flags
// differ: -p and -P). The machine is a throwaway whose host key changes
// with every disk, so it is not remembered; the key is the only identity.
func (r SSHRecord) options(portFlag string) []string {
	port := r.Port
	if port == 0 {
		port = 22
	}
	return []string{"-i", r.Key, portFlag, strconv.Itoa(port),
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "ServerAliveInterval=15"}
}

// commandArgs is the ssh command line running argv in the machine. ssh
// hands the remote side one string for its shell, so every word is quoted.
func (r SSHRecord) commandArgs(argv, env []string, dir string) []string {
	var words []string
	if dir != "" {
		words = append(words, "cd", shellQuote(dir), "&&")
	}
	if len(env) > 0 {
		words = append(words, "env")
		for _, e := range env {
			words = append(words, shellQuote(e))
		}
	}
	for _, a := range argv {
		words = append(words, shellQuote(a))
	}
	return append(r.options("-p"), r.Target(), "--", strings.Join(words, " "))
}

// shellQuote makes s one word for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
