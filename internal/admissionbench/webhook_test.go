package admissionbench

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// The webhook answers over TLS with a certificate its CA bundle verifies,
// admits the bench object and denies its own probe, as the apiserver
// would ask it.
func TestWebhookOverTLS(t *testing.T) {
	w, err := StartWebhook()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(w.CABundle) {
		t.Fatal("CABundle holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	review := func(cm *corev1.ConfigMap) *admissionv1.AdmissionResponse {
		t.Helper()
		raw, err := json.Marshal(cm)
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(&admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: types.UID("uid-1"), Object: runtime.RawExtension{Raw: raw}}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Post(w.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
			t.Fatalf("status %s, response %+v, decode error %v", resp.Status, out.Response, err)
		}
		if out.Response.UID != "uid-1" {
			t.Errorf("response UID %q, want the request's", out.Response.UID)
		}
		return out.Response
	}

	if r := review(BenchConfigMap("cm")); !r.Allowed {
		t.Errorf("bench ConfigMap denied: %+v", r.Result)
	}
	r := review(ProbeConfigMap(PolicyName(Webhook, 0)))
	if r.Allowed || r.Result == nil || r.Result.Code != http.StatusForbidden {
		t.Errorf("webhook probe: allowed %v, result %+v; want a 403 denial", r.Allowed, r.Result)
	}
	if r := review(ProbeConfigMap(PolicyName(Validating, 0))); !r.Allowed {
		t.Errorf("a policy's probe must pass the webhook: %+v", r.Result)
	}
}
