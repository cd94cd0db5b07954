package whoami

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubenext/kubenext/pkg/kubectl/internal/kubetest"
)

const reviewJSON = `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"status":{"userInfo":{"username":"alice","uid":"u-1","groups":["devs","system:authenticated"],"extra":{"scopes":["read","write"],"authentication.kubernetes.io/credential-id":["X509SHA256=ab"]}}}}`

func run(t *testing.T, status int, body string, args ...string) (string, string, error) {
	t.Helper()
	var gotMethod, gotPath, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod, gotPath, gotBody = r.Method, r.URL.Path, string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdWhoAmI(streams)
	cmd.SetArgs(append([]string{"--kubeconfig", kubetest.Kubeconfig(t, srv.URL, "")}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), gotMethod + " " + gotPath + " " + gotBody, err
}

func TestWhoAmIShort(t *testing.T) {
	out, req, err := run(t, 201, reviewJSON)
	if err != nil {
		t.Fatal(err)
	}
	// The body is protobuf by default, so only method and path are checked.
	if !strings.HasPrefix(req, "POST /apis/authentication.k8s.io/v1/selfsubjectreviews ") || !strings.Contains(req, "SelfSubjectReview") {
		t.Fatalf("request %s", req)
	}
	want := "alice\ngroups: devs, system:authenticated\nuid: u-1\nauthentication.kubernetes.io/credential-id: X509SHA256=ab\nscopes: read, write\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func TestWhoAmIJSONAndYAML(t *testing.T) {
	out, _, err := run(t, 201, reviewJSON, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"apiVersion": "authentication.k8s.io/v1"`) || !strings.Contains(out, `"username": "alice"`) {
		t.Fatalf("json: %s", out)
	}
	out, _, err = run(t, 201, reviewJSON, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "kind: SelfSubjectReview") || !strings.Contains(out, "username: alice") {
		t.Fatalf("yaml: %s", out)
	}
}

func TestWhoAmIRejectsOtherFormats(t *testing.T) {
	_, _, err := run(t, 201, reviewJSON, "-o", "wide")
	if err == nil || !strings.Contains(err.Error(), "use json or yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestWhoAmINotServed(t *testing.T) {
	_, _, err := run(t, 404, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`)
	if err == nil || !strings.Contains(err.Error(), "does not serve authentication.k8s.io/v1") {
		t.Fatalf("got %v", err)
	}
}
