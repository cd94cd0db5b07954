package nodelogs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// rbacHint is the smallest grant that lets a user read node logs through the
// apiserver. Nodes are cluster scoped, so it has to be a ClusterRole.
const rbacHint = `  apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: node-log-reader
  rules:
  - apiGroups: [""]
    resources: ["nodes/proxy"]
    verbs: ["get"]
bound with: kubectl create clusterrolebinding node-log-reader --clusterrole=node-log-reader --user=<you>`

const featureOffHint = `set "enableSystemLogQuery: true" (and keep "enableSystemLogHandler: true", the default) in that node's KubeletConfiguration and restart the kubelet; the NodeLogQuery feature gate is GA and needs no change`

// errLogQueryDisabled is returned when a node answers, but not to a log
// query: the kubelet with enableSystemLogQuery=false ignores the query
// parameters and serves the /var/log directory listing instead.
var errLogQueryDisabled = errors.New("the kubelet ignored the log query")

// NodeError is the failure of one node, already explained for a human.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string { return fmt.Sprintf("node %s: %v", e.Node, e.Err) }
func (e *NodeError) Unwrap() error { return e.Err }

// explainNodeError turns what client-go returned for one node into a message
// that says what is wrong and how to fix it.
func explainNodeError(node string, err error) *NodeError {
	explained := func(format string, args ...any) *NodeError {
		return &NodeError{Node: node, Err: fmt.Errorf(format, args...)}
	}
	var status apierrors.APIStatus
	code := 0
	message := err.Error()
	if errors.As(err, &status) {
		code = int(status.Status().Code)
		message = status.Status().Message
	}
	switch {
	case errors.Is(err, errLogQueryDisabled):
		return explained("the kubelet does not serve log queries (it answered with the /var/log listing): %s", featureOffHint)
	case apierrors.IsForbidden(err):
		return explained("forbidden: reading node logs needs the 'get' verb on 'nodes/proxy' (or 'nodes/log' for direct kubelet access); ask your cluster admin for a role like:\n%s\nserver said: %s", rbacHint, message)
	case apierrors.IsNotFound(err) && status != nil && status.Status().Details != nil && status.Status().Details.Kind == "nodes":
		// The apiserver itself answers with a Status naming the node; a 404
		// from the kubelet behind the proxy carries no such details.
		return explained("node %q does not exist; 'kubectl get nodes' lists the names", node)
	case code == http.StatusNotFound:
		return explained("the kubelet has no log query endpoint (HTTP 404): %s", featureOffHint)
	case code == http.StatusMethodNotAllowed:
		// The kubelet answers every method with 405 "logs endpoint is
		// disabled." when enableSystemLogHandler is false; a GET is never
		// refused otherwise.
		return explained("the kubelet's /logs/ endpoint is disabled (HTTP 405): %s", featureOffHint)
	case code == http.StatusBadRequest || code == http.StatusNotAcceptable:
		// Our kubelet refuses a query with 400 (patch 0012); an upstream
		// one, which this kubectl may talk to as well, still says 406.
		return explained("the kubelet rejected the query (HTTP %d): %s", code, message)
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout || errors.Is(err, context.DeadlineExceeded):
		// The apiserver proxy answers 502/503/504 when it cannot reach the
		// kubelet on port 10250.
		return explained("the node does not answer (is it Ready, and can the apiserver reach its kubelet on port 10250?): %s", message)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return explained("the node does not answer in time: %v", err)
	}
	if errors.As(err, &urlErr) {
		return explained("cannot reach the apiserver, so the node cannot be asked: %v", err)
	}
	return &NodeError{Node: node, Err: err}
}
