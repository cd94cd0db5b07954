package nodelogs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
)

// The headers a kubenext kubelet with NodeLogQueryInProcess answers with
// (pkg/kubelet/nodelogs): a streaming follow says so.
const (
	followParam  = "follow"
	followHeader = "Kubenext-Log-Follow"
)

// openStreams asks every node to follow in the kubelet itself and keeps
// the answers that stream. The other nodes (upstream's kubelet, or ours
// with the gate off) answered once and stopped; they are returned to be
// polled, as -f has always done for them.
func (o *NodeLogsOptions) openStreams(ctx context.Context, nodes []string) (streams map[string]io.ReadCloser, polled []string) {
	streams = map[string]io.ReadCloser{}
	var mu sync.Mutex
	var group errgroup.Group
	group.SetLimit(o.MaxParallel)
	for _, node := range nodes {
		group.Go(func() error {
			stream := o.openStream(ctx, node)
			mu.Lock()
			defer mu.Unlock()
			if stream != nil {
				streams[node] = stream
			} else {
				polled = append(polled, node)
			}
			return nil
		})
	}
	_ = group.Wait()
	// Keep the nodes' order for the polled ones, as the rest of -f does.
	slices.SortFunc(polled, func(a, b string) int { return slices.Index(nodes, a) - slices.Index(nodes, b) })
	return streams, polled
}

// openStream is one follow=true request; nil when the node does not
// stream (any answer but a 200 with the follow header: the polling path
// then reports what the node says).
func (o *NodeLogsOptions) openStream(ctx context.Context, node string) io.ReadCloser {
	restClient, ok := o.client.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || restClient.Client == nil {
		return nil
	}
	values := o.query.Values()
	values.Set(followParam, "true")
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, logsRequest(restClient, node, values).URL().String(), nil)
	if err != nil {
		return nil
	}
	resp, err := restClient.Client.Do(httpReq)
	if err != nil {
		return nil
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get(followHeader) != "stream" {
		_ = resp.Body.Close()
		return nil
	}
	return resp.Body
}

// copyStreams prints each stream's lines as they come, whole lines only,
// each with its node when prefix is set. Lines of different nodes are in
// the order they arrived: a live follow cannot wait for a quiet node to
// merge by time. It returns when every stream has ended.
func (o *NodeLogsOptions) copyStreams(ctx context.Context, streams map[string]io.ReadCloser, prefix bool) map[string]error {
	var mu sync.Mutex
	ended := map[string]error{}
	var wg sync.WaitGroup
	for node, stream := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer stream.Close()
			stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
			defer stop()
			scanner := bufio.NewScanner(stream)
			scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
			for scanner.Scan() {
				mu.Lock()
				if prefix {
					fmt.Fprintf(o.Out, "%s: %s\n", node, scanner.Text())
				} else {
					fmt.Fprintln(o.Out, scanner.Text())
				}
				mu.Unlock()
			}
			mu.Lock()
			if ctx.Err() == nil {
				err := scanner.Err()
				if err == nil {
					err = io.EOF
				}
				ended[node] = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ended
}
