package e2e

import (
	"context"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/kubernetes/test/e2e/framework"

	"github.com/kubenext/kubenext/internal/cluster"
	"github.com/kubenext/kubenext/internal/exec"
	"github.com/kubenext/kubenext/internal/guard"
)

// These specs look at rules only. They never send a packet to an outside
// address to prove that it is dropped.
var _ = ginkgo.Describe("Traffic guard", func() {
	ginkgo.It("blackholes the pod and service ranges on every node", func(ctx context.Context) {
		nodes, err := provider.List(ctx, env().Name)
		framework.ExpectNoError(err)
		gomega.Expect(nodes).NotTo(gomega.BeEmpty())
		for _, node := range nodes {
			err := cluster.CheckNodeBlackholes(func(args ...string) (string, error) {
				out, err := exec.Output(node.Command(ctx, args[0], args[1:]...))
				return string(out), err
			})
			framework.ExpectNoError(err, "node %s", node)
		}
	})

	ginkgo.It("drops forwarded cluster traffic bound off this machine on the host", func(ctx context.Context) {
		e := env()
		listing, err := exec.Output(exec.Host.Command(ctx, "iptables", "-w", "-S", guard.Chain))
		framework.ExpectNoError(err)
		rules := guard.OwnedRules(string(listing), e.Name)
		gomega.Expect(rules).NotTo(gomega.BeEmpty(), "%s:\n%s", guard.Chain, listing)
		last := strings.Join(rules[len(rules)-1], " ")
		gomega.Expect(last).To(gomega.ContainSubstring("-j DROP"), "the guard must end in a DROP:\n%s", listing)
		// The DROP must be for the nodes' own network: one for any other
		// subnet leaves the cluster's traffic unguarded.
		subnets, err := provider.NetworkSubnets(ctx, e.Network)
		framework.ExpectNoError(err)
		for _, subnet := range subnets {
			if subnet.Addr().Is4() {
				framework.ExpectNoError(guard.CheckDrop(string(listing), e.Name, subnet), "docker network %s", e.Network)
			}
		}
	})
})
