package plugin

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubenext/kubenext/pkg/kubectl/cmd/nodelogs"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/resize"
	"github.com/kubenext/kubenext/pkg/kubectl/cmd/whoami"
	"github.com/kubenext/kubenext/pkg/kubectl/internal/kubetest"
)

// cluster answers anything with a SelfSubjectReview naming itself and counts
// what it was asked.
func cluster(t *testing.T, name string, asked *[]string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*asked = append(*asked, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"user-of-%s"}}}`, name)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPluginUsesItsOwnKubeconfigAndContextFlags(t *testing.T) {
	var askedOne, askedTwo []string
	kubeconfig := kubetest.Kubeconfig(t, map[string]string{"one": cluster(t, "one", &askedOne), "two": cluster(t, "two", &askedTwo)}, "one", "")
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCommand(whoami.NewCmdWhoAmI, streams)
	cmd.SetArgs([]string{"--kubeconfig", kubeconfig, "--context", "two"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "user-of-two\n" || len(askedOne) != 0 || len(askedTwo) != 1 {
		t.Fatalf("output %q; cluster one asked %v, two asked %v", out, askedOne, askedTwo)
	}
}

func TestEveryPluginCarriesTheConnectionFlags(t *testing.T) {
	for _, newCommand := range []NewCommandFunc{nodelogs.NewCmdNodeLogs, whoami.NewCmdWhoAmI, resize.NewCmdResize} {
		cmd := NewCommand(newCommand, genericiooptions.NewTestIOStreamsDiscard())
		var missing []string
		for _, flag := range []string{"kubeconfig", "context", "namespace", "as", "server", "token", "match-server-version"} {
			if cmd.Flag(flag) == nil {
				missing = append(missing, flag)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s lacks %s", cmd.Name(), strings.Join(missing, ", "))
		}
	}
}
