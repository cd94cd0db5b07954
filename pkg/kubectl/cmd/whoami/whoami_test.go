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
	cmd := NewCmdWhoAmI(kubetest.Factory(t, srv.URL, ""), streams)
	cmd.SetArgs(args)
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

func TestWhoAmIEveryAdvertisedFormat(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{args: []string{"-o", "json"}, want: `"apiVersion": "authentication.k8s.io/v1"`},
		{args: []string{"-o", "yaml"}, want: "kind: SelfSubjectReview\n"},
		{args: []string{"-o", "kyaml"}, want: "kind: \"SelfSubjectReview\""},
		{args: []string{"-o", "jsonpath={.status.userInfo.username}"}, want: "alice"},
		{args: []string{"-o", "jsonpath-as-json={.status.userInfo.groups}"}, want: `"system:authenticated"`},
		{args: []string{"-o", "go-template={{.status.userInfo.username}}/{{.kind}}"}, want: "alice/SelfSubjectReview"},
		{args: []string{"-o", "template={{.status.userInfo.uid}}"}, want: "u-1"},
		{args: []string{"--template", "{{.status.userInfo.uid}}"}, want: "u-1"},
		{args: []string{"-o", "go-template-file", "--template", kubetest.WriteFile(t, "tmpl", "{{.status.userInfo.username}}")}, want: "alice"},
		{args: []string{"-o", "templatefile", "--template", kubetest.WriteFile(t, "tmpl2", "{{.kind}}")}, want: "SelfSubjectReview"},
		{args: []string{"-o", "jsonpath-file", "--template", kubetest.WriteFile(t, "jp", "{.status.userInfo.username}")}, want: "alice"},
	}
	advertised := map[string]bool{}
	for _, format := range NewWhoAmIOptions(genericiooptions.IOStreams{}).printFlags.AllowedFormats() {
		advertised[format] = true
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := run(t, 201, reviewJSON, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("got %q, want it to contain %q", out, tt.want)
			}
			if tt.args[0] == "-o" {
				format, _, _ := strings.Cut(tt.args[1], "=")
				delete(advertised, format)
			}
		})
	}
	if len(advertised) > 0 {
		t.Fatalf("advertised but not tested: %v", advertised)
	}
}

func TestWhoAmIRefusesUnadvertisedFormatsBeforeSending(t *testing.T) {
	for _, format := range []string{"wide", "name"} {
		out, req, err := run(t, 201, reviewJSON, "-o", format)
		if err == nil || !strings.Contains(err.Error(), "jsonpath") {
			t.Fatalf("-o %s: got %v, want the list of allowed formats", format, err)
		}
		if strings.TrimSpace(req) != "" || out != "" {
			t.Fatalf("-o %s: nothing may be sent or printed, sent %q printed %q", format, req, out)
		}
	}
	help := NewCmdWhoAmI(nil, genericiooptions.IOStreams{}).Flag("output").Usage
	if strings.Contains(help, "name") {
		t.Fatalf("-o name is refused, so it may not be advertised: %s", help)
	}
}

func TestWhoAmINotServed(t *testing.T) {
	_, _, err := run(t, 404, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}`)
	if err == nil || !strings.Contains(err.Error(), "does not serve authentication.k8s.io/v1") {
		t.Fatalf("got %v", err)
	}
}
