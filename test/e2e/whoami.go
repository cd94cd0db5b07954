package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubernetes/test/e2e/framework"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	admissionapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/kubenext/kubenext/internal/exec"
)

// KEP-3325: a SelfSubjectReview (authentication.k8s.io/v1, GA, no gate)
// returns the identity the apiserver authenticated, for each way a client
// can authenticate to our cluster: an x509 client certificate issued
// through the CSR API, a ServiceAccount token from the TokenRequest API,
// and impersonation by the admin. The expected user info is exact: every
// group and extra the apiserver adds is named here.

const credentialIDKey = "authentication.kubernetes.io/credential-id"

// whoamiReview asks the apiserver, as cfg, who cfg is.
func whoamiReview(ctx context.Context, cfg *rest.Config) authenticationv1.UserInfo {
	client, err := kubernetes.NewForConfig(cfg)
	framework.ExpectNoError(err)
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	framework.ExpectNoError(err, "creating a SelfSubjectReview")
	return review.Status.UserInfo
}

// kubectlWhoamiJSON runs our `kubectl whoami -o json` with the given
// kubeconfig (empty: the suite's) and extra flags, and decodes the review.
func kubectlWhoamiJSON(ctx context.Context, kubeconfig string, flags ...string) authenticationv1.UserInfo {
	var out, stderr string
	var err error
	args := append([]string{"whoami", "-o", "json"}, flags...)
	if kubeconfig == "" {
		out, stderr, err = kubectl(ctx, args...)
	} else {
		bin := os.Getenv("KUBENEXT_KUBECTL")
		if bin == "" {
			framework.Failf("KUBENEXT_KUBECTL must name our kubectl; run the suite with `make e2e`")
		}
		var o, e strings.Builder
		err = exec.Host.Command(ctx, bin, append([]string{"--kubeconfig", kubeconfig}, args...)...).SetStdout(&o).SetStderr(&e).Run()
		out, stderr = o.String(), e.String()
	}
	framework.ExpectNoError(err, "kubectl %v: %s", args, stderr)
	var review authenticationv1.SelfSubjectReview
	framework.ExpectNoError(json.Unmarshal([]byte(out), &review), "kubectl whoami -o json printed %q", out)
	gomega.Expect(review.Kind).To(gomega.Equal("SelfSubjectReview"))
	gomega.Expect(review.APIVersion).To(gomega.Equal("authentication.k8s.io/v1"))
	return review.Status.UserInfo
}

// issueClientCertificate has the cluster's kube-apiserver-client signer
// issue a certificate for CN=user, O=groups through a
// CertificateSigningRequest that the admin approves, and returns the
// certificate and key as PEM.
func issueClientCertificate(ctx context.Context, f *framework.Framework, user string, groups []string) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	framework.ExpectNoError(err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	framework.ExpectNoError(err)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	request, err := certutil.MakeCSR(key, &pkix.Name{CommonName: user, Organization: groups}, nil, nil)
	framework.ExpectNoError(err)

	csrs := f.ClientSet.CertificatesV1().CertificateSigningRequests()
	csr, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: f.UniqueName + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           request,
			SignerName:        certificatesv1.KubeAPIServerClientSignerName,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			ExpirationSeconds: ptr.To[int32](600), // the API's minimum
		},
	}, metav1.CreateOptions{})
	framework.ExpectNoError(err, "creating the CSR")
	ginkgo.DeferCleanup(func(ctx context.Context) error {
		err := csrs.Delete(ctx, csr.Name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})

	ginkgo.By("approving CSR " + csr.Name)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		current.Status.Conditions = append(current.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: v1.ConditionTrue,
			Reason: "KubenextE2E", Message: "approved by the kubenext whoami e2e",
		})
		_, err = csrs.UpdateApproval(ctx, csr.Name, current, metav1.UpdateOptions{})
		return err
	})
	framework.ExpectNoError(err, "approving the CSR")

	ginkgo.By("waiting for kube-controller-manager's signer to issue the certificate")
	gomega.Eventually(ctx, func(ctx context.Context) ([]byte, error) {
		got, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed || c.Type == certificatesv1.CertificateDenied {
				return nil, gomega.StopTrying("the CSR was " + string(c.Type) + ": " + c.Message)
			}
		}
		certPEM = got.Status.Certificate
		return certPEM, nil
	}).WithTimeout(framework.PollShortTimeout).ShouldNot(gomega.BeEmpty())
	return certPEM, keyPEM
}

// certFingerprint is the credential ID the apiserver reports for a client
// certificate: the SHA-256 of its DER encoding.
func certFingerprint(certPEM []byte) string {
	block, _ := pem.Decode(certPEM)
	gomega.Expect(block).NotTo(gomega.BeNil(), "PEM certificate")
	sum := sha256.Sum256(block.Bytes)
	return "X509SHA256=" + hex.EncodeToString(sum[:])
}

// jwtID reads the jti claim of a service account token (the apiserver's
// own token; only the payload is decoded, nothing is verified here).
func jwtID(token string) string {
	parts := strings.Split(token, ".")
	gomega.Expect(parts).To(gomega.HaveLen(3), "a JWT has three parts")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	framework.ExpectNoError(err)
	var claims struct {
		JTI string `json:"jti"`
	}
	framework.ExpectNoError(json.Unmarshal(payload, &claims))
	gomega.Expect(claims.JTI).NotTo(gomega.BeEmpty(), "the token's jti claim")
	return claims.JTI
}

var _ = ginkgo.Describe("whoami", func() {
	f := framework.NewDefaultFramework("whoami")
	f.NamespacePodSecurityLevel = admissionapi.LevelBaseline

	ginkgo.It("names a client-certificate user issued through the CSR API, in client-go and in kubectl whoami -o json", func(ctx context.Context) {
		user := "kubenext-e2e-" + f.UniqueName
		groups := []string{"kubenext:e2e-dev", "kubenext:e2e-ops"}
		certPEM, keyPEM := issueClientCertificate(ctx, f, user, groups)

		cfg := rest.AnonymousClientConfig(f.ClientConfig())
		cfg.CertData, cfg.KeyData = certPEM, keyPEM
		want := authenticationv1.UserInfo{
			Username: user,
			Groups:   append(groups, "system:authenticated"),
			Extra:    map[string]authenticationv1.ExtraValue{credentialIDKey: {certFingerprint(certPEM)}},
		}
		ginkgo.By("a SelfSubjectReview through client-go")
		gomega.Expect(whoamiReview(ctx, cfg)).To(gomega.Equal(want))

		ginkgo.By("kubectl whoami -o json with a kubeconfig holding only the new certificate")
		kubeconfig := filepath.Join(ginkgo.GinkgoT().TempDir(), "kubeconfig")
		framework.ExpectNoError(clientcmd.WriteToFile(clientcmdapi.Config{
			Clusters:       map[string]*clientcmdapi.Cluster{"kubenext": {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
			AuthInfos:      map[string]*clientcmdapi.AuthInfo{user: {ClientCertificateData: certPEM, ClientKeyData: keyPEM}},
			Contexts:       map[string]*clientcmdapi.Context{user: {Cluster: "kubenext", AuthInfo: user}},
			CurrentContext: user,
		}, kubeconfig))
		gomega.Expect(kubectlWhoamiJSON(ctx, kubeconfig)).To(gomega.Equal(want))
	})

	ginkgo.It("names a ServiceAccount token from the TokenRequest API, with its groups, UID and credential ID", func(ctx context.Context) {
		ns := f.Namespace.Name
		sa, err := f.ClientSet.CoreV1().ServiceAccounts(ns).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "whoami"}}, metav1.CreateOptions{})
		framework.ExpectNoError(err)
		username := "system:serviceaccount:" + ns + ":" + sa.Name
		groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
		asToken := func(token string) *rest.Config {
			cfg := rest.AnonymousClientConfig(f.ClientConfig())
			cfg.BearerToken = token
			return cfg
		}

		ginkgo.By("a token bound to nothing but its expiry: the only extra is the credential ID, JTI=<jti>")
		tr, err := f.ClientSet.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
		}, metav1.CreateOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(whoamiReview(ctx, asToken(tr.Status.Token))).To(gomega.Equal(authenticationv1.UserInfo{
			Username: username,
			UID:      string(sa.UID),
			Groups:   groups,
			Extra:    map[string]authenticationv1.ExtraValue{credentialIDKey: {"JTI=" + jwtID(tr.Status.Token)}},
		}))

		ginkgo.By("a token bound to a running pod: the pod's and its node's name and UID too")
		pod := testPod("whoami-bound", "", "exec sleep 3600")
		pod.Spec.ServiceAccountName = sa.Name
		pod = e2epod.NewPodClient(f).CreateSync(ctx, pod)
		node, err := f.ClientSet.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		framework.ExpectNoError(err)
		tr, err = f.ClientSet.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{
				ExpirationSeconds: ptr.To[int64](600),
				BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
			},
		}, metav1.CreateOptions{})
		framework.ExpectNoError(err)
		gomega.Expect(whoamiReview(ctx, asToken(tr.Status.Token))).To(gomega.Equal(authenticationv1.UserInfo{
			Username: username,
			UID:      string(sa.UID),
			Groups:   groups,
			Extra: map[string]authenticationv1.ExtraValue{
				credentialIDKey:                          {"JTI=" + jwtID(tr.Status.Token)},
				"authentication.kubernetes.io/pod-name":  {pod.Name},
				"authentication.kubernetes.io/pod-uid":   {string(pod.UID)},
				"authentication.kubernetes.io/node-name": {node.Name},
				"authentication.kubernetes.io/node-uid":  {string(node.UID)},
			},
		}))
	})

	ginkgo.It("names the user, UID, groups and extra the admin impersonates, in client-go and in kubectl whoami -o json", func(ctx context.Context) {
		user := "kubenext-e2e-impersonated-" + f.UniqueName
		want := authenticationv1.UserInfo{
			Username: user,
			UID:      "uid-" + f.UniqueName,
			// The apiserver adds system:authenticated to impersonated groups.
			Groups: []string{"kubenext:e2e-team-a", "kubenext:e2e-team-b", "system:authenticated"},
			// Extra keys travel as header names, so the apiserver lowercases them.
			Extra: map[string]authenticationv1.ExtraValue{
				"example.com/ticket": {"T-42"},
				"example.com/teams":  {"a", "b"},
			},
		}

		ginkgo.By("a SelfSubjectReview through client-go with rest.Config.Impersonate")
		cfg := rest.CopyConfig(f.ClientConfig())
		cfg.Impersonate = rest.ImpersonationConfig{
			UserName: user,
			UID:      want.UID,
			Groups:   want.Groups[:2],
			Extra:    map[string][]string{"example.com/ticket": {"T-42"}, "example.com/teams": {"a", "b"}},
		}
		gomega.Expect(whoamiReview(ctx, cfg)).To(gomega.Equal(want))

		ginkgo.By("kubectl whoami -o json --as ... as the admin")
		gomega.Expect(kubectlWhoamiJSON(ctx, "",
			"--as", user, "--as-uid", want.UID,
			"--as-group", "kubenext:e2e-team-a", "--as-group", "kubenext:e2e-team-b",
			"--as-user-extra", "example.com/ticket=T-42",
			"--as-user-extra", "example.com/teams=a", "--as-user-extra", "example.com/teams=b",
		)).To(gomega.Equal(want))
	})
})
