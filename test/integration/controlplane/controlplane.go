// Package controlplane runs a real etcd and a real kube-apiserver on
// loopback, with client-certificate authentication, for integration tests
// and benchmarks. Nothing is mocked: the binaries are the ones we build.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options says which binaries to run and how.
type Options struct {
	APIServer string // path to our kube-apiserver
	Etcd      string // path to etcd
	Dir       string // working directory for data, certificates and logs
	// ExtraAPIServerArgs are appended to the apiserver's command line,
	// e.g. --feature-gates.
	ExtraAPIServerArgs []string
	StartTimeout       time.Duration
}

// OptionsFromEnv reads the binary paths that `make integration` exports.
func OptionsFromEnv(dir string) (Options, error) {
	o := Options{APIServer: os.Getenv("KUBENEXT_APISERVER"), Etcd: os.Getenv("KUBENEXT_ETCD"), Dir: dir}
	if o.APIServer == "" || o.Etcd == "" {
		return o, errors.New("KUBENEXT_APISERVER and KUBENEXT_ETCD must name the kube-apiserver and etcd binaries; run the tests with `make integration`")
	}
	return o, nil
}

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	URL   string
	ca    *authority
	procs []*process
	ports []int
}

// AdminUser is in system:masters, so it bypasses authorization.
const AdminUser = "kubenext-integration-admin"

// Start brings up etcd, then the apiserver, and returns once /readyz answers.
// On error, everything started so far has been stopped.
func Start(ctx context.Context, o Options) (_ *ControlPlane, err error) {
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	cp := &ControlPlane{URL: "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort)), ports: ports}
	defer func() {
		if err != nil {
			_ = cp.Stop()
		}
	}()

	if cp.ca, err = newAuthority(); err != nil {
		return nil, err
	}
	files, err := writePKI(o.Dir, cp.ca)
	if err != nil {
		return nil, err
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := startProcess("etcd", filepath.Join(o.Dir, "etcd.log"), o.Etcd,
		"--name=integration",
		"--data-dir="+filepath.Join(o.Dir, "etcd-data"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=integration="+peerURL,
		"--unsafe-no-fsync", // test data; fsync only slows the run
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, etcd)
	if err := etcd.waitFor(ctx, "etcd /health", httpOK(http.DefaultClient, etcdURL+"/health")); err != nil {
		return nil, err
	}

	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The kubernetes Service cannot point at loopback; nothing here needs it.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + files.serverCert,
		"--tls-private-key-file=" + files.serverKey,
		"--client-ca-file=" + files.caCert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + files.saPub,
		"--service-account-signing-key-file=" + files.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--cert-dir=" + filepath.Join(o.Dir, "apiserver-certs"),
	}
	api, err := startProcess("kube-apiserver", filepath.Join(o.Dir, "kube-apiserver.log"), o.APIServer, append(args, o.ExtraAPIServerArgs...)...)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, api)
	admin, err := cp.ClientFor(AdminUser, "system:masters")
	if err != nil {
		return nil, err
	}
	ready := func(ctx context.Context) error {
		_, err := admin.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}
	if err := api.waitFor(ctx, "kube-apiserver /readyz", ready); err != nil {
		return nil, err
	}
	return cp, nil
}

// ConfigFor returns a client config that authenticates with a fresh client
// certificate for user in groups.
func (cp *ControlPlane) ConfigFor(user string, groups ...string) (*rest.Config, error) {
	cert, key, err := cp.ca.issue(user, groups, nil, false)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host: cp.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   cp.ca.pem,
			CertData: cert,
			KeyData:  key,
		},
		QPS:   -1, // no client-side throttling: tests measure the server
		Burst: -1,
	}, nil
}

// ClientFor returns a clientset for user in groups.
func (cp *ControlPlane) ClientFor(user string, groups ...string) (*kubernetes.Clientset, error) {
	cfg, err := cp.ConfigFor(user, groups...)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// AdminConfig is ConfigFor the system:masters admin.
func (cp *ControlPlane) AdminConfig() (*rest.Config, error) {
	return cp.ConfigFor(AdminUser, "system:masters")
}

// Stop stops the apiserver, then etcd, and checks that their ports are free.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.procs) - 1; i >= 0; i-- {
		errs = append(errs, cp.procs[i].stop(30*time.Second))
	}
	cp.procs = nil
	errs = append(errs, portsReleased(cp.ports))
	return errors.Join(errs...)
}

type pkiFiles struct {
	caCert, serverCert, serverKey, saKey, saPub string
}

func writePKI(dir string, ca *authority) (pkiFiles, error) {
	f := pkiFiles{
		caCert:     filepath.Join(dir, "ca.crt"),
		serverCert: filepath.Join(dir, "apiserver.crt"),
		serverKey:  filepath.Join(dir, "apiserver.key"),
		saKey:      filepath.Join(dir, "sa.key"),
		saPub:      filepath.Join(dir, "sa.pub"),
	}
	cert, key, err := ca.issue("kube-apiserver", nil, []net.IP{net.ParseIP("127.0.0.1")}, true)
	if err != nil {
		return f, err
	}
	for path, content := range map[string][]byte{f.caCert: ca.pem, f.serverCert: cert, f.serverKey: key} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return f, err
		}
	}
	return f, writeServiceAccountKey(f.saKey, f.saPub)
}

func httpOK(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}

// WriteKubeconfig writes a kubeconfig for user in groups, for tests that
// drive our kubectl binary against the control plane.
func (cp *ControlPlane) WriteKubeconfig(path, user string, groups ...string) error {
	cfg, err := cp.ConfigFor(user, groups...)
	if err != nil {
		return err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["integration"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["integration"] = &clientcmdapi.Context{Cluster: "integration", AuthInfo: user}
	kc.CurrentContext = "integration"
	return clientcmd.WriteToFile(*kc, path)
}
