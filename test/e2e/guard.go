package e2e

import (
	"context"
	"os/exec"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/kubernetes/test/e2e/framework"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/hostprep"
)

// These specs look at rules only. They never send a packet to an outside
// address to prove that it is dropped.
var _ = ginkgo.Describe("Traffic guard", func() {
	ginkgo.It("blackholes the pod and service ranges on every node", func(ctx context.Context) {
		e := env()
		out, err := exec.CommandContext(ctx, "docker", "ps", "--filter", "label=io.x-k8s.kind.cluster="+e.Name, "--format", "{{.Names}}").Output()
		framework.ExpectNoError(err)
		nodes := strings.Fields(string(out))
		gomega.Expect(nodes).NotTo(gomega.BeEmpty())
		for _, node := range nodes {
			err := cluster.CheckNodeBlackholes(func(args ...string) (string, error) {
				out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", node}, args...)...).Output()
				return string(out), err
			})
			framework.ExpectNoError(err, "node %s", node)
		}
	})

	ginkgo.It("drops forwarded cluster traffic bound off this machine on the host", func(ctx context.Context) {
		e := env()
		listing, err := exec.CommandContext(ctx, "iptables", "-w", "-S", hostprep.GuardChain).Output()
		framework.ExpectNoError(err)
		rules := hostprep.OwnedRules(string(listing), e.Name)
		gomega.Expect(rules).NotTo(gomega.BeEmpty(), "DOCKER-USER:\n%s", listing)
		last := strings.Join(rules[len(rules)-1], " ")
		gomega.Expect(last).To(gomega.ContainSubstring("-j DROP"), "the guard must end in a DROP:\n%s", listing)
	})
})
