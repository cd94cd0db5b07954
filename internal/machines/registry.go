package machines

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubenext/kubenext/internal/exec"
)

// registryConfig is distribution's configuration: plain HTTP on the
// machines' network (which only this host and the machines reach),
// storage on the container's volume.
const registryConfig = `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
`

// startRegistry runs distribution's registry in a container of the
// machine image on the machines' network. Its log (docker logs) shows
// every pull.
func (m *Machines) startRegistry(ctx context.Context, image string) error {
	config := filepath.Join(m.WorkDir, "registry.yml")
	if err := os.WriteFile(config, []byte(registryConfig), 0o644); err != nil {
		return err
	}
	registryIP, _, _ := strings.Cut(m.Registry(), ":")
	_, err := exec.CombinedOutput(m.Cmd.Command(ctx, "docker", "run", "-d", "--name", m.registryContainer(),
		"--network", m.Network, "--ip", registryIP, "--label", RegistryLabel+"="+m.Name,
		"--volume", m.RegistryBin+":/usr/local/bin/registry:ro", "--volume", config+":/etc/kubenext/registry.yml:ro",
		"--volume", "/var/lib/registry", "--entrypoint", "/usr/local/bin/registry", image, "serve", "/etc/kubenext/registry.yml"))
	if err != nil {
		return err
	}
	return m.waitRegistry(ctx, 30*time.Second)
}

// waitRegistry polls the registry's API root until it answers 200.
func (m *Machines) waitRegistry(ctx context.Context, timeout time.Duration) error {
	client := m.HTTP
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + m.Registry() + "/v2/"
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry not up within %s: %v; see `docker logs %s`", timeout, last, m.registryContainer())
		case <-tick.C:
		}
	}
}

// pushImages pushes the release's images, and the e2e suite's, under the
// names kubeadm derives from the imageRepository.
func (m *Machines) pushImages(ctx context.Context) error {
	args := []string{"push", "--insecure", "--registry", m.ImageRepository(), filepath.Join(m.Release, "images")}
	for _, r := range m.ExtraReleases {
		args = append(args, filepath.Join(r, "images"))
	}
	args = append(args, m.TestImages...)
	out, err := exec.CombinedOutput(m.Cmd.Command(ctx, m.ReleaseTool, args...))
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			m.Steps.Note("%s", line)
		}
	}
	return err
}
