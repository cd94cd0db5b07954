// Package nodecri reads a node's container runtime as the runtime itself
// sees it, through crictl in the node. Tests use it for the runtime's truth
// (what ran, when, how it ended) to compare with what the API reports.
package nodecri

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// The labels the kubelet puts on every sandbox and container.
const (
	PodNamespaceLabel = "io.kubernetes.pod.namespace"
	PodNameLabel      = "io.kubernetes.pod.name"
	PodUIDLabel       = "io.kubernetes.pod.uid"
	ContainerLabel    = "io.kubernetes.container.name"
)

// Runtime is the CRI runtime of one node, reached through crictl.
type Runtime struct {
	Node exec.Cmder
}

// Container is one container as `crictl ps -a` lists it.
type Container struct {
	ID           string            `json:"id"`
	PodSandboxID string            `json:"podSandboxId"`
	Metadata     Metadata          `json:"metadata"`
	State        string            `json:"state"`
	CreatedAt    Time              `json:"createdAt"`
	Labels       map[string]string `json:"labels"`
}

// Metadata names a container or sandbox.
type Metadata struct {
	Name      string `json:"name"`
	Attempt   uint32 `json:"attempt"`
	UID       string `json:"uid,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// Sandbox is one pod sandbox as `crictl pods` lists it.
type Sandbox struct {
	ID        string            `json:"id"`
	Metadata  Metadata          `json:"metadata"`
	State     string            `json:"state"`
	CreatedAt Time              `json:"createdAt"`
	Labels    map[string]string `json:"labels"`
}

// Status is a container's status as `crictl inspect` shows it: full
// resolution times, the exit code and the runtime's reason.
type Status struct {
	ID         string            `json:"id"`
	Metadata   Metadata          `json:"metadata"`
	State      string            `json:"state"`
	CreatedAt  Time              `json:"createdAt"`
	StartedAt  Time              `json:"startedAt"`
	FinishedAt Time              `json:"finishedAt"`
	ExitCode   int32             `json:"exitCode"`
	Reason     string            `json:"reason"`
	Message    string            `json:"message"`
	Labels     map[string]string `json:"labels"`
}

// Container states as crictl prints them.
const (
	ContainerCreated = "CONTAINER_CREATED"
	ContainerRunning = "CONTAINER_RUNNING"
	ContainerExited  = "CONTAINER_EXITED"
	ContainerUnknown = "CONTAINER_UNKNOWN"
)

// Started reports whether the runtime ever started the container: it
// keeps a start time of 0 for one that was created but never ran.
func (s Status) Started() bool { return !s.StartedAt.IsZero() && s.StartedAt.Unix() > 0 }

// Describe is one line for failure messages.
func (s Status) Describe() string {
	d := fmt.Sprintf("%s %s", s.Metadata.Name, s.State)
	if s.State == ContainerExited {
		d += fmt.Sprintf(" exit %d (%s)", s.ExitCode, s.Reason)
		if !s.Started() {
			d += ", never started"
		}
	}
	if s.Message != "" {
		d += fmt.Sprintf(": %.160s", s.Message)
	}
	return d
}

// Time is a CRI timestamp: crictl prints nanoseconds since the epoch (as
// a number or a string) in listings and RFC 3339 in inspect.
type Time struct{ time.Time }

func (t *Time) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" || s == "0" {
		t.Time = time.Time{}
		return nil
	}
	if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
		t.Time = time.Unix(0, ns).UTC()
		return nil
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("CRI time %q: %w", s, err)
	}
	t.Time = parsed
	return nil
}

// Selector picks containers or sandboxes by the kubelet's labels.
type Selector map[string]string

func (s Selector) args() []string {
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		args = append(args, "--label", k+"="+s[k])
	}
	return args
}

// Namespace selects everything of one Kubernetes namespace.
func Namespace(ns string) Selector { return Selector{PodNamespaceLabel: ns} }

// Pod selects everything of one pod.
func Pod(uid string) Selector { return Selector{PodUIDLabel: uid} }

// Containers lists every container, running or not, that sel selects.
func (r Runtime) Containers(ctx context.Context, sel Selector) ([]Container, error) {
	out, err := exec.Output(r.Node.Command(ctx, "crictl", append([]string{"ps", "-a", "-o", "json"}, sel.args()...)...))
	if err != nil {
		return nil, err
	}
	return ParseContainers(out)
}

// ParseContainers reads `crictl ps -o json`.
func ParseContainers(out []byte) ([]Container, error) {
	var listed struct {
		Containers []Container `json:"containers"`
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		return nil, fmt.Errorf("crictl ps: %w", err)
	}
	return listed.Containers, nil
}

// Sandboxes lists every sandbox, ready or not, that sel selects.
func (r Runtime) Sandboxes(ctx context.Context, sel Selector) ([]Sandbox, error) {
	out, err := exec.Output(r.Node.Command(ctx, "crictl", append([]string{"pods", "-o", "json"}, sel.args()...)...))
	if err != nil {
		return nil, err
	}
	return ParseSandboxes(out)
}

// ParseSandboxes reads `crictl pods -o json`.
func ParseSandboxes(out []byte) ([]Sandbox, error) {
	var listed struct {
		Items []Sandbox `json:"items"`
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		return nil, fmt.Errorf("crictl pods: %w", err)
	}
	return listed.Items, nil
}

// Inspect returns the status of each container id, in one crictl call.
func (r Runtime) Inspect(ctx context.Context, ids ...string) ([]Status, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := exec.Output(r.Node.Command(ctx, "crictl", append([]string{"inspect", "-o", "json"}, ids...)...))
	if err != nil {
		return nil, err
	}
	return ParseInspect(out)
}

// PodStatuses is the status of every container, of every attempt, of the
// pod with uid.
func (r Runtime) PodStatuses(ctx context.Context, uid string) ([]Status, error) {
	listed, err := r.Containers(ctx, Pod(uid))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range listed {
		ids = append(ids, c.ID)
	}
	return r.Inspect(ctx, ids...)
}

// ParseInspect reads `crictl inspect -o json`: one object per container,
// either as a JSON array or one after another.
func ParseInspect(out []byte) ([]Status, error) {
	type inspected struct {
		Status Status `json:"status"`
	}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var all []inspected
		if err := json.Unmarshal(trimmed, &all); err != nil {
			return nil, fmt.Errorf("crictl inspect: %w", err)
		}
		statuses := make([]Status, len(all))
		for i, a := range all {
			statuses[i] = a.Status
		}
		return statuses, nil
	}
	var statuses []Status
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for {
		var one inspected
		if err := dec.Decode(&one); err == io.EOF {
			return statuses, nil
		} else if err != nil {
			return nil, fmt.Errorf("crictl inspect: %w", err)
		}
		statuses = append(statuses, one.Status)
	}
}

// Healthy reports whether the runtime answers CRI and reports the two
// conditions CRI requires (RuntimeReady, NetworkReady) true.
func (r Runtime) Healthy(ctx context.Context) error {
	out, err := exec.Output(r.Node.Command(ctx, "crictl", "info", "-o", "json"))
	if err != nil {
		return err
	}
	var info struct {
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  bool   `json:"status"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return fmt.Errorf("crictl info: %w", err)
	}
	required := map[string]bool{"RuntimeReady": false, "NetworkReady": false}
	for _, c := range info.Status.Conditions {
		if _, ok := required[c.Type]; !ok {
			continue // informational, such as containerd's deprecation warnings
		}
		if !c.Status {
			return fmt.Errorf("runtime condition %s is false: %s %s", c.Type, c.Reason, c.Message)
		}
		required[c.Type] = true
	}
	for cond, seen := range required {
		if !seen {
			return fmt.Errorf("the runtime reports no %s condition", cond)
		}
	}
	return nil
}
