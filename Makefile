# kubenext: upstream Kubernetes v1.37.2 plus our patch series.
#
#   make build     the seven components into _output/bin
#   make test      unit tests, the patch regression tests, the integration test
#   make verify    patches apply to the pinned modules; gofmt, import groups, go.mod tidy; go vet
#   make clean     remove _output
#
# Every go command here runs in the workspace that hack/patchtree generates,
# so it sees the patched upstream trees. GOWORK=off gives pristine upstream.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

OUT      := $(CURDIR)/_output
BIN      := $(OUT)/bin
TOOLS    := $(OUT)/tools
export GOWORK := $(OUT)/go.work
# -trimpath everywhere: build, test and vet caches then do not depend on
# where the repository is checked out, so a fresh clone reuses them.
export GOFLAGS := -buildvcs=false -trimpath

COMPONENTS := kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl
# Upstream's release tags: SELinux support, no test-only code, no gRPC tracing.
GO_TAGS    := selinux,notest,grpcnotrace

# The version names the upstream base, the fork and the commit, in semver
# build metadata so that ordering against upstream is unchanged. kubeadm
# turns '+' into '_' for image tags (v1.37.2_kubenext.<commit>).
UPSTREAM_VERSION := $(shell GOWORK=off go list -m -f '{{.Version}}' k8s.io/kubernetes)
GIT_COMMIT       := $(shell git rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)
GIT_TREE_STATE   := $(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),dirty,clean)
BUILD_DATE       := $(shell TZ=UTC git show -s --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd HEAD 2>/dev/null || echo 1970-01-01T00:00:00Z)
VERSION          ?= $(UPSTREAM_VERSION)+kubenext.$(shell echo $(GIT_COMMIT) | cut -c1-10)$(if $(filter dirty,$(GIT_TREE_STATE)),.dirty)
VERSION_MAJOR    := $(word 1,$(subst ., ,$(patsubst v%,%,$(UPSTREAM_VERSION))))
VERSION_MINOR    := $(word 2,$(subst ., ,$(UPSTREAM_VERSION)))

version_pkgs := k8s.io/component-base/version k8s.io/client-go/pkg/version
LDFLAGS := -s -w $(foreach p,$(version_pkgs),\
	-X $(p).gitVersion=$(VERSION) -X $(p).gitMajor=$(VERSION_MAJOR) -X $(p).gitMinor=$(VERSION_MINOR) \
	-X $(p).gitCommit=$(GIT_COMMIT) -X $(p).gitTreeState=$(GIT_TREE_STATE) -X $(p).buildDate=$(BUILD_DATE))

GO_BUILD := CGO_ENABLED=0 go build -trimpath -tags $(GO_TAGS)

.PHONY: all build plugins patched cgo-deps fuzz-nodelogs test unit integration verify clean codegen version etcd \
	docker netd node-image node-image-upstream cluster cluster-config cluster-down e2e e2e-why bench bench-relist bench-nodelogs bench-pleg bench-admission bench-admission-cpu tools images \
	conformance conformance-e2e conformance-images conformance-rerun machines machines-down machines-upgrade upstream-build upstream-release release push \
	vm-worker vm-worker-down vm-e2e

all: verify build test

version:
	@echo $(VERSION)

# patchtree is incremental: with no change to go.mod or a patch it only
# compares a stamp, so it runs on every build.
$(TOOLS)/patchtree: $(shell find hack/patchtree internal/patchtree internal/exec -name '*.go') go.mod go.sum
	@mkdir -p $(TOOLS)
	GOWORK=off go build -o $@ ./hack/patchtree

patched: $(TOOLS)/patchtree cgo-deps
	@$(TOOLS)/patchtree -root $(CURDIR) -out $(OUT) apply

# The kubelet is built with cgo: it reads the journal through sd-journal's
# header (libsystemd-dev here) and dlopens libsystemd.so.0 on the node.
# Everything else stays static. systemd-journal-remote writes the journal
# files that the reader's unit tests read through sd-journal.
cgo-deps:
	@dpkg -s libsystemd-dev systemd-journal-remote >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends libsystemd-dev systemd-journal-remote; }

build: patched
	@mkdir -p $(BIN)
	@echo "building $(COMPONENTS) $(VERSION)"
	$(GO_BUILD) -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(filter-out kubelet,$(COMPONENTS)))
	CGO_ENABLED=1 go build -trimpath -tags $(GO_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/kubelet
	@$(BIN)/kubelet --version

# The kubectl commands of ours, also as krew-style plugins.
PLUGINS := kubectl-node_logs kubectl-whoami kubectl-resize
plugins: patched
	@mkdir -p $(BIN)
	$(GO_BUILD) -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(PLUGINS))

# --- tools ---
# Tools that are not Kubernetes build from hack/tools/go.mod (its `tool`
# directives pin them), so that their dependencies never move Kubernetes'
# pins. Each is a file target: a second `make tools` does nothing.
TOOLS_MOD   := hack/tools/go.mod hack/tools/go.sum
TOOLS_BUILD  = cd hack/tools && GOWORK=off CGO_ENABLED=0 go build -trimpath
# Versions stamped into the tools are read from the modules that pin them.
tools_mod_version = $(shell cd hack/tools && GOWORK=off go list -m -f '{{.Version}}' $(1))
CONTAINERD_VERSION := $(call tools_mod_version,github.com/containerd/containerd/v2)
CRICTL_VERSION     := $(call tools_mod_version,sigs.k8s.io/cri-tools)
# pause's version is the TAG of upstream's build/pause/Makefile.
PAUSE_VERSION       = $(shell sed -n 's/^TAG ?= *//p' $$(GOWORK=off go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/Makefile)
CNI_PLUGINS := host-local loopback ptp portmap
TOOL_BINS   := etcd containerd ctr containerd-shim-runc-v2 runc crictl coredns kind pause $(addprefix cni/,$(CNI_PLUGINS))

tools: $(addprefix $(TOOLS)/,$(TOOL_BINS))
etcd: $(TOOLS)/etcd

$(TOOLS)/etcd: $(TOOLS_MOD)
	$(TOOLS_BUILD) -o $@ go.etcd.io/etcd/server/v3
$(TOOLS)/containerd $(TOOLS)/ctr $(TOOLS)/containerd-shim-runc-v2: $(TOOLS)/%: $(TOOLS_MOD)
	$(TOOLS_BUILD) -tags 'no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs' \
		-ldflags '-s -w -X github.com/containerd/containerd/v2/version.Version=$(CONTAINERD_VERSION)' \
		-o $@ github.com/containerd/containerd/v2/cmd/$*
$(TOOLS)/crictl: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$(CRICTL_VERSION)' -o $@ sigs.k8s.io/cri-tools/cmd/crictl
$(TOOLS)/coredns: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ github.com/coredns/coredns
$(TOOLS)/kind: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ sigs.k8s.io/kind
$(TOOLS)/cni/host-local: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ github.com/containernetworking/plugins/plugins/ipam/host-local
$(TOOLS)/cni/loopback $(TOOLS)/cni/ptp: $(TOOLS)/cni/%: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ github.com/containernetworking/plugins/plugins/main/$*
$(TOOLS)/cni/portmap: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ github.com/containernetworking/plugins/plugins/meta/portmap
# runc needs cgo for nsenter and libseccomp for the RuntimeDefault profile
# that kubeadm gives the control-plane pods. It links the same libseccomp2
# that the bookworm node image ships.
$(TOOLS)/runc: $(TOOLS_MOD)
	@dpkg -s libseccomp-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libseccomp-dev; }
	cd hack/tools && GOWORK=off CGO_ENABLED=1 go build -trimpath -tags seccomp -ldflags '-s -w' -o $@ github.com/opencontainers/runc
# pause is upstream's C program, read from the pinned module at build time.
$(TOOLS)/pause: go.mod
	@mkdir -p $(TOOLS)
	@test -n '$(PAUSE_VERSION)' || { echo 'no TAG in upstream build/pause/Makefile'; exit 1; }
	gcc -Os -Wall -Werror -static -DVERSION=v$(PAUSE_VERSION) -o $@ $$(GOWORK=off go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c

test: unit integration

# Patches may add tests to upstream packages; they are named TestKubenext*
# and run here against the patched tree.
PATCH_TEST_PKGS := k8s.io/kubernetes/pkg/kubelet k8s.io/kubernetes/pkg/kubelet/kuberuntime k8s.io/kubernetes/pkg/kubelet/pleg \
	k8s.io/kubernetes/pkg/apis/core/validation k8s.io/kubernetes/pkg/api/pod

# Upstream's own tests of container restart rules (KEP-5307) and
# RestartAllContainers (KEP-5532), validation and kubelet, on the patched
# tree with every gate at its default (ContainerRestartRuleTerminatePod and
# KeystoneContainers off): the TerminatePod and keystone hooks must leave
# upstream's behaviour as it is. The list is every upstream test that names
# restart rules, found by grepping upstream's _test.go files for
# RestartPolicyRules, ContainerRestartRule and RestartAllContainers, plus
# the phase and pod-action tables the hooks sit in front of.
RESTART_RULES_TEST_PKGS := k8s.io/kubernetes/pkg/apis/core/validation k8s.io/kubernetes/pkg/api/pod \
	k8s.io/kubernetes/pkg/api/v1/pod k8s.io/kubernetes/pkg/kubelet/container k8s.io/kubernetes/pkg/kubelet \
	k8s.io/kubernetes/pkg/kubelet/kuberuntime k8s.io/kubernetes/pkg/kubelet/prober k8s.io/kubernetes/pkg/kubelet/status \
	k8s.io/kubernetes/pkg/kubelet/config
RESTART_RULES_TESTS := TestValidateContainerRestartPolicy TestValidateRestartPolicy TestValidateContainerStateTransition \
	TestValidateInitContainerStateTransition TestValidatePodUpdate TestValidateOSFields TestValidateContainerRestartRulesOption \
	Test_dropContainerRestartRules TestValidateRestartAllContainersOption TestIsContainerRestartable TestContainerHasRestartablePolicy \
	TestAllContainersCouldRestart TestFindMatchingContainerRestartRule TestShouldAllContainersRestart TestShouldContainerBeRestarted \
	TestPodPhaseWith.* TestGenerateAPIPodStatusWith.*RestartPolicies TestSyncPodRestartAllContainersRequeue TestConvertToAPIContainerStatuses \
	TestComputePodActions.* TestSyncPodWithRestartAllContainers TestDoProbeWithContainerRestart.* TestGenerateAllContainersRestartingCondition \
	TestGeneratePodInitializedCondition TestDecodeSinglePodWithOptions
space := $(subst ,, )
RESTART_RULES_RUN := ^($(subst $(space),|,$(strip $(RESTART_RULES_TESTS))))$$

# Upstream's own tests of the CEL admission plugins, on the patched tree:
# with CELAdmissionCache off (upstream's path, plus the packages the patches
# build on), then on. The gate goes into upstream's test binaries through
# the linker (pkg/features.linkedGates); TestLinkedGates, linked the same
# way, shows that it did.
CEL_PLUGIN_PKGS := k8s.io/apiserver/pkg/admission/plugin/policy/... k8s.io/apiserver/pkg/admission/plugin/cel/... \
	k8s.io/apiserver/pkg/admission/plugin/webhook/...
CEL_PKGS        := $(CEL_PLUGIN_PKGS) k8s.io/apiserver/pkg/admission k8s.io/apiserver/pkg/cel/...
LINKED_GATES    := -ldflags '-X github.com/kubenext/kubenext/pkg/features.linkedGates=CELAdmissionCache=true'

unit: patched
	go test ./pkg/... ./internal/... ./hack/... ./cmd/...
	go test -run '^(TestKubenext|FuzzKubenext)' $(PATCH_TEST_PKGS)
	go test -run '$(RESTART_RULES_RUN)' $(RESTART_RULES_TEST_PKGS)
	go test $(CEL_PKGS)
	go test $(LINKED_GATES) ./pkg/features $(CEL_PLUGIN_PKGS)
	cd hack/imagebuild && GOWORK=off go test ./...
	cd hack/release && GOWORK=off go test ./...

# The node log query parser and validator, fuzzed (FUZZTIME=10m for the
# recorded run; CI runs a short one). go test -fuzz only takes packages of
# the main module, and the target lives in upstream's pkg/kubelet (the
# parser is unexported), so the test binary is built with the fuzzer's
# coverage instrumentation for that package and run directly. A crasher is
# written under $(OUT)/fuzz/testdata: add it to the patch's seeds.
# The default budget is a count, not a duration: Go 1.26's coordinator can
# fail a duration run at its deadline with "context deadline exceeded" and no
# crasher when a worker is mid-call (golang/go#75804, fixed in Go 1.27). A
# count sets no deadline. FUZZTIME=10m still works for the long run.
FUZZTIME ?= 600000x
fuzz-nodelogs: patched
	@mkdir -p $(OUT)/fuzz/cache
	go test -c -gcflags='k8s.io/kubernetes/pkg/kubelet=-d=libfuzzer' -o $(OUT)/fuzz/kubelet.test k8s.io/kubernetes/pkg/kubelet
	cd $(OUT)/fuzz && ./kubelet.test -test.run '^$$' -test.fuzz '^FuzzKubenextNodeLogQuery$$' -test.fuzztime $(FUZZTIME) \
		-test.parallel $(or $(FUZZ_PARALLEL),2) -test.fuzzcachedir $(OUT)/fuzz/cache

integration: build $(TOOLS)/etcd
	KUBENEXT_BIN=$(BIN) KUBENEXT_APISERVER=$(BIN)/kube-apiserver KUBENEXT_ETCD=$(TOOLS)/etcd \
		go test -count=1 -timeout 10m ./test/integration/...

verify: $(TOOLS)/patchtree $(TOOLS)/codegen
	@$(TOOLS)/patchtree -root $(CURDIR) verify
	@$(TOOLS)/codegen -root $(CURDIR) -out $(OUT)/codegen verify
	@$(MAKE) --no-print-directory patched
	@files=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	@GOWORK=off go run ./hack/importgroups -module github.com/kubenext/kubenext $$(git ls-files '*.go' | grep -v '^hack/imagebuild/\|^hack/release/\|^hack/tools/\|^hack/codegen/generators/')
	@GOWORK=off go run ./hack/importgroups -module github.com/kubenext/kubenext/hack/imagebuild $$(git ls-files 'hack/imagebuild/*.go')
	@GOWORK=off go run ./hack/importgroups -module github.com/kubenext/kubenext/hack/release $$(git ls-files 'hack/release/*.go')
	@GOWORK=off go mod tidy -diff >/dev/null || { echo "go.mod is not tidy; run: GOWORK=off go mod tidy"; GOWORK=off go mod tidy -diff; exit 1; }
	go vet ./...

clean:
	rm -rf $(OUT)

# Generated code (protobuf, swagger docs, deepcopy, conversions, OpenAPI,
# apply configurations) lives in staging/<module>/90NN-generated-*.patch.
# After changing an API type in a hand-written patch, run make codegen and
# commit what it writes; make verify fails while they are stale.
$(TOOLS)/codegen: $(shell find hack/codegen internal/codegen internal/patchtree internal/hostprep internal/guard internal/nodes internal/exec internal/runcwrapper internal/steps -name '*.go') go.mod go.sum
	@mkdir -p $(TOOLS)
	GOWORK=off go build -o $@ ./hack/codegen

codegen: $(TOOLS)/codegen
	@$(TOOLS)/codegen -root $(CURDIR) -out $(OUT)/codegen update
	@$(MAKE) --no-print-directory patched

# --- cluster ---
#
#   make cluster                         1 control-plane + 1 worker (every gate of ours on) + 1 gate-off worker
#   make cluster WORKERS=2 GATES=EventedPLEG=false
#   make cluster UPSTREAM_WORKERS=1      plus a worker running pristine upstream's kubelet, labelled kubenext.io/kubelet=upstream
#   make e2e [FOCUS=Smoke] [SKIP='\[Disruptive\]'] [LABELS='!KubenextKubelet']
#   make cluster-down

CLUSTER        ?= kubenext
WORKERS        ?= 1
GATE_OFF_WORKERS ?= 1
UPSTREAM_WORKERS ?= 0
GATES          ?=
NETWORK        ?= kubenext
NETWORK_SUBNET ?= 172.30.0.0/24
IMAGE_TAG      := $(subst +,_,$(VERSION))
NODE_IMAGE     := kubenext/node:$(IMAGE_TAG)
NETD_IMAGE     := docker.io/kubenext/netd:$(IMAGE_TAG)
TEST_IMAGE     := docker.io/kubenext/busybox:$(IMAGE_TAG)
UPSTREAM_NODE_IMAGE := kubenext/node-upstream-kubelet:$(IMAGE_TAG)
CLUSTER_DIR    := $(OUT)/clusters/$(CLUSTER)
CLUSTER_FLAGS   = --name $(CLUSTER) --workers $(WORKERS) --gate-off-workers $(GATE_OFF_WORKERS) --gates '$(GATES)' \
	--upstream-workers $(UPSTREAM_WORKERS) --upstream-image $(UPSTREAM_NODE_IMAGE) \
	--network $(NETWORK) --subnet $(NETWORK_SUBNET) \
	--kind $(TOOLS)/kind --kubectl $(BIN)/kubectl --state-dir $(OUT)/clusters
KIND_TREE       = $(OUT)/src/sigs.k8s.io/kind@$(shell cd hack/tools && GOWORK=off go list -m -f '{{.Version}}' sigs.k8s.io/kind)

# Our own host and cluster tools, static so that hostprep can run itself
# inside a one-file image to check privileged containers.
$(addprefix $(TOOLS)/,hostprep cluster nodeimage): $(TOOLS)/%: patched $(shell find hack internal -name '*.go')
	@mkdir -p $(TOOLS)
	CGO_ENABLED=0 go build -o $@ ./hack/$*
$(TOOLS)/kubenext-runc-wrapper: $(shell find hack/runc-wrapper internal/runcwrapper -name '*.go')
	@mkdir -p $(TOOLS)
	CGO_ENABLED=0 go build -o $@ ./hack/runc-wrapper

# Installs and starts Docker when missing; never touches a daemon it did not start.
docker: $(TOOLS)/hostprep $(TOOLS)/kubenext-runc-wrapper
	@$(TOOLS)/hostprep docker --runc-wrapper $(TOOLS)/kubenext-runc-wrapper

netd: $(BIN)/kubenext-netd
$(BIN)/kubenext-netd: patched $(shell find cmd/kubenext-netd pkg/netd -name '*.go')
	$(GO_BUILD) -ldflags '$(LDFLAGS)' -o $@ ./cmd/kubenext-netd

# --- images ---
# Component and test images as docker archives, written by hack/imagebuild
# (its own module: go-containerregistry would move Kubernetes' x/ pins).
ROOTFS := $(OUT)/rootfs
$(TOOLS)/imagebuild: $(shell find hack/imagebuild -name '*.go') hack/imagebuild/go.mod
	@mkdir -p $(TOOLS)
	cd hack/imagebuild && GOWORK=off CGO_ENABLED=0 go build -o $@ .

# kube-proxy runs iptables, ip6tables, nft and conntrack from its image.
$(ROOTFS)/kube-proxy.tar:
	@command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
	@rm -rf $(ROOTFS)/kube-proxy && mkdir -p $(ROOTFS)
	@echo " • debootstrap bookworm for kube-proxy's image (iptables, nftables, conntrack)"
	debootstrap --variant=minbase --include=iptables,nftables,conntrack bookworm $(ROOTFS)/kube-proxy http://deb.debian.org/debian >$(ROOTFS)/kube-proxy.log 2>&1 || { tail -20 $(ROOTFS)/kube-proxy.log; exit 1; }
	rm -rf $(ROOTFS)/kube-proxy/var/cache/apt/archives/*.deb $(ROOTFS)/kube-proxy/var/lib/apt/lists/*
	tar -C $(ROOTFS)/kube-proxy --numeric-owner --exclude=./dev -cf $@.tmp . && mv $@.tmp $@

# The test image's busybox comes from Debian's busybox-static, unpacked
# here and never installed on the host.
$(ROOTFS)/busybox/bin/busybox:
	@rm -rf $(ROOTFS)/busybox-deb && mkdir -p $(ROOTFS)/busybox-deb
	cd $(ROOTFS)/busybox-deb && apt-get download busybox-static >/dev/null
	dpkg-deb -x $(ROOTFS)/busybox-deb/busybox-static_*.deb $(ROOTFS)/busybox

images: build netd tools $(TOOLS)/imagebuild $(ROOTFS)/kube-proxy.tar $(ROOTFS)/busybox/bin/busybox
	@$(TOOLS)/imagebuild --version $(VERSION) --tag $(IMAGE_TAG) --out $(OUT)/images

# --- release ---
# A release of this build, written by hack/release (its own module: nfpm
# and go-containerregistry would move Kubernetes' pins):
#
#   make release                                   _output/release/<version>: upstream-style tarballs, images/, debs/, SHA256SUMS
#   make push REGISTRY=host:port[/path] [INSECURE=1]   images/ under the names kubeadm uses for that imageRepository
#
# The debs' versions sort above upstream's packages of the same release
# (1.37.2-1.1+kubenext.<date>.<commit> > 1.37.2-1.1), so apt upgrades a node
# of upstream's packages. cri-tools, kubernetes-cni and kubenext-containerd
# carry crictl's, the CNI plugins' and containerd's versions from
# hack/tools/go.mod.
RELEASE_DIR  := $(OUT)/release/$(VERSION)
CNI_VERSION   = $(call tools_mod_version,github.com/containernetworking/plugins)
RUNC_VERSION  = $(call tools_mod_version,github.com/opencontainers/runc)
$(TOOLS)/release: $(shell find hack/release -type f)
	@mkdir -p $(TOOLS)
	cd hack/release && GOWORK=off CGO_ENABLED=0 go build -o $@ .

release: build plugins tools images $(TOOLS)/release
	@$(TOOLS)/release build --version $(VERSION) --build-date $(BUILD_DATE) \
		--bin $(BIN) --tools $(TOOLS) --images $(OUT)/images --out $(RELEASE_DIR) \
		--cri-tools-version $(CRICTL_VERSION) --cni-version $(CNI_VERSION) \
		--containerd-version $(CONTAINERD_VERSION) --runc-version $(RUNC_VERSION)

push: $(TOOLS)/release
	@test -n '$(REGISTRY)' || { echo 'make push needs REGISTRY=host:port[/path], the imageRepository of the kubeadm ClusterConfiguration (INSECURE=1 for plain HTTP)'; exit 1; }
	@test -d $(RELEASE_DIR)/images || { echo 'no $(RELEASE_DIR)/images: run make release first'; exit 1; }
	@$(TOOLS)/release push --registry '$(REGISTRY)' $(if $(INSECURE),--insecure) $(RELEASE_DIR)/images

# Checks GATES and WORKERS before anything is built or started.
cluster-config: $(TOOLS)/cluster
	@$(TOOLS)/cluster config $(CLUSTER_FLAGS) >/dev/null

node-image: cluster-config build netd tools images docker $(TOOLS)/nodeimage
	@$(TOOLS)/nodeimage --version $(VERSION) --tag $(NODE_IMAGE) --kind-tree $(KIND_TREE) \
		--netd-image $(NETD_IMAGE) --images $(OUT)/images
	@# Older node images are 700 MB each; those still in use stay.
	@docker images kubenext/node --format '{{.Repository}}:{{.Tag}}' | grep -vx '$(NODE_IMAGE)' | xargs -r docker rmi >/dev/null 2>&1 || true

# Our node image with pristine upstream's kubelet (GOWORK=off, no patch),
# for UPSTREAM_WORKERS: only the kubelet differs from our nodes.
node-image-upstream: node-image $(TOOLS)/cluster
	@$(MAKE) --no-print-directory upstream-build COMPONENTS=kubelet
	@$(TOOLS)/cluster upstream-image --image $(NODE_IMAGE) --kubelet $(UPSTREAM_DIR)/bin/kubelet --tag $(UPSTREAM_NODE_IMAGE)
	@docker images kubenext/node-upstream-kubelet --format '{{.Repository}}:{{.Tag}}' | grep -vx '$(UPSTREAM_NODE_IMAGE)' | xargs -r docker rmi >/dev/null 2>&1 || true

# The e2e suite uses the images of the cluster it runs against, which may
# be older than the tree, so create records them.
cluster: node-image $(if $(filter-out 0,$(UPSTREAM_WORKERS)),node-image-upstream)
	@$(TOOLS)/cluster create $(CLUSTER_FLAGS) --image $(NODE_IMAGE)
	@echo $(TEST_IMAGE) > $(CLUSTER_DIR)/test-image
	@echo $(WORKERS) > $(CLUSTER_DIR)/workers
	@echo $(GATE_OFF_WORKERS) > $(CLUSTER_DIR)/gate-off-workers
	@echo $(UPSTREAM_WORKERS) > $(CLUSTER_DIR)/upstream-workers

cluster-down: $(TOOLS)/cluster $(TOOLS)/kind
	@$(TOOLS)/cluster delete $(CLUSTER_FLAGS)

# --- machines ---
# kubenext installed as a user installs it on machines of their own: plain
# Debian 12 containers booting systemd (nothing of kind's), the release's
# packages from a local apt repository, every image from a registry
# (distribution) that this project starts on the machines' network,
# kubeadm init on the first machine and kubeadm join on the others.
#
#   make machines [MACHINE_WORKERS=2]   needs make release's output (built first)
#   make e2e CLUSTER=machines
#   make machines-down
MACHINES         ?= machines
MACHINE_WORKERS  ?= 2
MACHINES_NETWORK ?= kubenext-machines
MACHINES_SUBNET  ?= 172.30.1.0/24
REGISTRY_VERSION  = $(shell cd hack/tools/registry && GOWORK=off go list -m -f '{{.Version}}' github.com/distribution/distribution/v3)
MACHINES_FLAGS    = --name $(MACHINES) --workers $(MACHINE_WORKERS) --gates '$(GATES)' \
	--network $(MACHINES_NETWORK) --subnet $(MACHINES_SUBNET) --kubectl $(BIN)/kubectl \
	--release-tool $(TOOLS)/release --registry $(TOOLS)/registry --state-dir $(OUT)/clusters --work-dir $(OUT)/machines
$(TOOLS)/registry: hack/tools/registry/go.mod hack/tools/registry/go.sum
	@mkdir -p $(TOOLS)
	cd hack/tools/registry && GOWORK=off CGO_ENABLED=0 go build -trimpath \
		-ldflags '-s -w -X github.com/distribution/distribution/v3/version.version=$(REGISTRY_VERSION)' \
		-o $@ github.com/distribution/distribution/v3/cmd/registry
$(TOOLS)/machines: patched $(shell find hack/machines internal -name '*.go')
	@mkdir -p $(TOOLS)
	CGO_ENABLED=0 go build -o $@ ./hack/machines

machines: release docker $(TOOLS)/registry $(TOOLS)/machines
	@$(TOOLS)/machines up $(MACHINES_FLAGS) --version $(VERSION) --pause-tag $(PAUSE_VERSION) --release $(RELEASE_DIR) \
		$(foreach i,busybox supplementalgroups,--test-image $(OUT)/images/kubenext_$(i)_$(IMAGE_TAG).tar)

machines-down: $(TOOLS)/machines
	@$(TOOLS)/machines down $(MACHINES_FLAGS)

# --- a cgroup v2 worker in a virtual machine ---
# Debian 12 under qemu (KVM when a KVM guest boots, software emulation
# otherwise), from a disk built here with debootstrap, on a bridge of its
# own with no uplink; installed from the release's packages with apt and
# joined to the running cluster with kubeadm join.
#
#   make cluster && make vm-worker [VM_ACCEL=auto|kvm|tcg]
#   make vm-e2e         the feature specs on it (make e2e NODE_SELECTOR=kubenext.io/vm=cgroupv2)
#   make vm-worker-down
VM_NAME    ?= kubenext-vm
VM_CLUSTER ?= $(CLUSTER)
VM_ACCEL   ?= auto
VM_CPUS    ?= 2
VM_MEMORY  ?= 3072
VM_LABEL    = kubenext.io/vm=cgroupv2
VM_FLAGS    = --name $(VM_NAME) --cluster $(VM_CLUSTER) --state-dir $(OUT)/clusters --work-dir $(OUT)/vm --kubectl $(BIN)/kubectl

$(TOOLS)/vm: patched $(shell find hack/vm internal -name '*.go')
	@mkdir -p $(TOOLS)
	CGO_ENABLED=0 go build -o $@ ./hack/vm

vm-worker: release $(TOOLS)/vm
	@$(TOOLS)/vm up $(VM_FLAGS) --release $(RELEASE_DIR) --release-tool $(TOOLS)/release \
		--accel $(VM_ACCEL) --cpus $(VM_CPUS) --memory $(VM_MEMORY) \
		--containerd $(TOOLS)/containerd --ctr $(TOOLS)/ctr

# The feature specs on the VM: resize with cpu.max and memory.max, strict
# and merge supplemental groups, keystone with a sidecar ignoring SIGTERM,
# evented PLEG over 20 pods, the node-log viewer on the VM's own journal.
VM_E2E_FOCUS = In-place pod resize.*(raises and lowers|exactly once)|Strict supplemental groups.*policy allows|kills a sidecar that ignores SIGTERM|Evented PLEG.*follows pod churn|Node log viewer.*(tailLines of them|filters a unit|hostile)
vm-e2e:
	@$(MAKE) --no-print-directory e2e CLUSTER=$(VM_CLUSTER) NODE_SELECTOR=$(VM_LABEL) FOCUS='$(VM_E2E_FOCUS)'

vm-worker-down: $(TOOLS)/vm
	@$(TOOLS)/vm down $(VM_FLAGS)

# --- upgrade: pristine upstream to kubenext and back ---
# Pristine upstream v1.37.2, built from the same pinned module with none of
# our patches (GOWORK=off, upstream's own mains), packaged and imaged
# exactly as our release is, under upstream's version string. Its kubectl
# package carries our three plugins (client-side, built from this tree);
# every Kubernetes binary is upstream's.
#
#   make upstream-release     _output/release/v1.37.2
#   make machines-upgrade     machines on upstream, rolled to kubenext under load, and back
UPSTREAM_DIR     := $(OUT)/upstream
UPSTREAM_RELEASE := $(OUT)/release/$(UPSTREAM_VERSION)
UPSTREAM_LDFLAGS := -s -w $(foreach p,$(version_pkgs),\
	-X $(p).gitVersion=$(UPSTREAM_VERSION) -X $(p).gitMajor=$(VERSION_MAJOR) -X $(p).gitMinor=$(VERSION_MINOR) \
	-X $(p).gitTreeState=clean -X $(p).buildDate=$(BUILD_DATE))
upstream-build:
	@mkdir -p $(UPSTREAM_DIR)/bin
	@echo "building pristine upstream $(COMPONENTS) $(UPSTREAM_VERSION) (GOWORK=off)"
	GOWORK=off $(GO_BUILD) -ldflags '$(UPSTREAM_LDFLAGS)' -o $(UPSTREAM_DIR)/bin/ $(addprefix k8s.io/kubernetes/cmd/,$(COMPONENTS))
	@$(UPSTREAM_DIR)/bin/kubelet --version

upstream-release: upstream-build plugins netd tools images $(TOOLS)/imagebuild $(TOOLS)/release
	cp $(addprefix $(BIN)/,$(PLUGINS)) $(UPSTREAM_DIR)/bin/
	@$(TOOLS)/imagebuild --kubeadm $(UPSTREAM_DIR)/bin/kubeadm --version $(UPSTREAM_VERSION) --tag $(UPSTREAM_VERSION) \
		--bin $(UPSTREAM_DIR)/bin --out $(UPSTREAM_DIR)/images
	@$(TOOLS)/release build --version $(UPSTREAM_VERSION) --build-date $(BUILD_DATE) \
		--bin $(UPSTREAM_DIR)/bin --tools $(TOOLS) --images $(UPSTREAM_DIR)/images --out $(UPSTREAM_RELEASE) \
		--cri-tools-version $(CRICTL_VERSION) --cni-version $(CNI_VERSION) \
		--containerd-version $(CONTAINERD_VERSION) --runc-version $(RUNC_VERSION)

$(TOOLS)/kubenext-probe: $(shell find hack/probe internal/probe -name '*.go')
	@mkdir -p $(TOOLS)
	CGO_ENABLED=0 go build -o $@ ./hack/probe

# Mid-roll, with one worker on each kubelet: every spec that does not need
# our kubelet, without the disruptive ones (they restart kubelets).
MIXED_E2E_LABELS = !KubenextKubelet && !Disruptive
machines-upgrade: release upstream-release docker $(TOOLS)/registry $(TOOLS)/machines $(TOOLS)/kubenext-probe
	@$(TOOLS)/machines upgrade $(MACHINES_FLAGS) --version $(VERSION) --release $(RELEASE_DIR) \
		--from-version $(UPSTREAM_VERSION) --from-release $(UPSTREAM_RELEASE) --pause-tag $(PAUSE_VERSION) \
		--probe $(TOOLS)/kubenext-probe --mixed-e2e "$(MAKE) --no-print-directory e2e CLUSTER=$(MACHINES) LABELS='$(MIXED_E2E_LABELS)'" \
		$(foreach i,busybox supplementalgroups,--test-image $(OUT)/images/kubenext_$(i)_$(IMAGE_TAG).tar)

# Benchmarks; results are recorded in docs/benchmarks.md. bench-relist and
# bench-admission need no cluster; the others run on the one make cluster
# started.
bench: bench-relist bench-nodelogs bench-pleg bench-resize bench-startup bench-admission

bench-relist: patched
	go test -run '^$$' -bench BenchmarkKubenextRelist -benchtime 50x k8s.io/kubernetes/pkg/kubelet/pleg

# Benchmarks on the running cluster; results go to docs/benchmarks.md.
# 100,000 journal lines on every node, read by kubectl node-logs with the
# kubelets in process and with journalctl (the gate toggled between
# blocks, kubelets restarted), and by journalctl in the nodes as the floor.
NODELOGS_LINES ?= 100000
NODELOGS_ROUNDS ?= 3
bench-nodelogs: build
	go run ./hack/bench/nodelogs -kubeconfig $(CLUSTER_DIR)/kubeconfig -cluster $(CLUSTER) -kubectl $(BIN)/kubectl \
		-lines $(NODELOGS_LINES) -rounds $(NODELOGS_ROUNDS) -csv docs/bench-nodelogs.csv

# Our kubelet (<cluster>-worker) against upstream's (the worker of make
# cluster UPSTREAM_WORKERS=1), both evented, then both generic, every phase
# on both nodes at once: runtime calls and CPU over PLEG_IDLE with
# PLEG_PODS idle pods, and exit-to-status latency over PLEG_EXITS exits
# among PLEG_FEW_PODS pods and over PLEG_PODS exits among PLEG_PODS pods.
# About 2 x (PLEG_IDLE + 12 min). Without an upstream worker, ours alone.
PLEG_PODS ?= 100
PLEG_FEW_PODS ?= 20
PLEG_EXITS ?= 100
PLEG_IDLE ?= 5m
PLEG_EXIT_INTERVAL ?= 1s
bench-pleg: build
	@test -f $(CLUSTER_DIR)/test-image || { echo "no cluster $(CLUSTER): run make cluster first"; exit 1; }
	set -o pipefail; go run ./hack/bench/pleg -kubeconfig $(CLUSTER_DIR)/kubeconfig -node $(CLUSTER)-worker \
		-image $$(cat $(CLUSTER_DIR)/test-image) -pods $(PLEG_PODS) -few-pods $(PLEG_FEW_PODS) -exits $(PLEG_EXITS) \
		-idle $(PLEG_IDLE) -exit-interval $(PLEG_EXIT_INTERVAL) -csv docs/bench-pleg.csv -idle-csv docs/bench-pleg-idle.csv | tee $(OUT)/bench-pleg.md

# In-place resize against delete-and-recreate, RESIZE_N rounds each, on
# our kubelet and, taking turns, on upstream's (UPSTREAM_WORKERS=1).
RESIZE_N ?= 50
bench-resize:
	@test -f $(CLUSTER_DIR)/test-image || { echo "no cluster $(CLUSTER): run make cluster first"; exit 1; }
	set -o pipefail; go run ./hack/bench/resize -kubeconfig $(CLUSTER_DIR)/kubeconfig -node $(CLUSTER)-worker \
		-image $$(cat $(CLUSTER_DIR)/test-image) -n $(RESIZE_N) -csv docs/bench-resize.csv | tee $(OUT)/bench-resize.md

# 100 pods scheduled and run at once; the control plane's memory at rest.
bench-startup:
	@test -f $(CLUSTER_DIR)/test-image || { echo "no cluster $(CLUSTER): run make cluster first"; exit 1; }
	go run ./hack/bench/startup -kubeconfig $(CLUSTER_DIR)/kubeconfig -cluster $(CLUSTER) \
		-image $$(cat $(CLUSTER_DIR)/test-image) | tee $(OUT)/bench-startup.md

# CEL admission against a webhook: ConfigMap creates on a real etcd and our
# kube-apiserver (the integration harness, same environment as make
# integration) with no policy, 1/10/100 ValidatingAdmissionPolicies, 1/10
# MutatingAdmissionPolicies and a TLS webhook, interleaved over
# ADMISSION_ROUNDS rounds, then a CPU profile of the apiserver under each
# of ADMISSION_PROFILE (written to _output/bench-admission/). About 7
# minutes on 2 cores.
ADMISSION_ROUNDS  ?= 5
ADMISSION_CREATES ?= 2000
ADMISSION_PROFILE ?= none,vap-10,vap-100,map-10,webhook
bench-admission: build $(TOOLS)/etcd
	KUBENEXT_BIN=$(BIN) KUBENEXT_APISERVER=$(BIN)/kube-apiserver KUBENEXT_ETCD=$(TOOLS)/etcd \
		go run ./hack/bench/admission -rounds $(ADMISSION_ROUNDS) -creates $(ADMISSION_CREATES) \
		-profile '$(ADMISSION_PROFILE)' -profile-seconds 10 -profile-dir $(OUT)/bench-admission \
		-csv docs/bench-admission.csv | tee $(OUT)/bench-admission.md

# CEL admission in process (issue 18): upstream's validating and mutating
# policy plugins driven directly (internal/celadmission: no network, no
# etcd) with 1, 10, 100 and 1,000 policies and bindings, CELAdmissionCache
# off and on in the same run; benchstat's table, then the ratios
# (hack/bench/admissioncpu), then CPU profiles of gate=on at 100 and 1,000
# in _output/bench-admission-cpu/. BENCH_CPU_COUNT=3 for a quick look.
BENCH_CPU_COUNT ?= 10
BENCH_CPU_FILTER ?= .
bench-admission-cpu: patched
	@mkdir -p $(OUT)/bench-admission-cpu
	go test -run '^$$' -bench '$(BENCH_CPU_FILTER)' -benchmem -count $(BENCH_CPU_COUNT) -timeout 60m ./internal/celadmission \
		| tee $(OUT)/bench-admission-cpu.txt
	cd hack/tools && GOWORK=off go tool benchstat -col /gate $(OUT)/bench-admission-cpu.txt
	go run ./hack/bench/admissioncpu $(OUT)/bench-admission-cpu.txt
	@for n in 100 1000; do go test -run '^$$' -bench "BenchmarkValidating/bindings=$$n/gate=on" -benchtime 2s \
		-o $(OUT)/bench-admission-cpu/celadmission.test -cpuprofile $(OUT)/bench-admission-cpu/validating-$$n-on.pprof ./internal/celadmission >/dev/null && \
		echo "profile: $(OUT)/bench-admission-cpu/validating-$$n-on.pprof"; done

# Specs run in a random order (every spec, not only containers), so that
# one that depends on another's leftovers fails; GINKGO_SEED repeats an
# order (ginkgo prints the seed of each run).
E2E_TIMEOUT ?= 60m
GINKGO_SEED ?=
E2E_REPORT := $(OUT)/e2e-report.json
e2e: patched build
	@test -f $(CLUSTER_DIR)/test-image || { echo "no cluster $(CLUSTER): run make cluster first"; exit 1; }
	rm -f $(E2E_REPORT)
	KUBENEXT_CLUSTER=$(CLUSTER) KUBENEXT_NETWORK=$$(cat $(CLUSTER_DIR)/network 2>/dev/null || echo $(NETWORK)) \
		KUBENEXT_TEST_IMAGE=$$(cat $(CLUSTER_DIR)/test-image) KUBENEXT_PULL_POLICY=$$(cat $(CLUSTER_DIR)/pull-policy 2>/dev/null) KUBENEXT_KUBECTL=$(BIN)/kubectl KUBENEXT_VM_DIR=$(OUT)/vm KUBENEXT_NODE_SELECTOR='$(NODE_SELECTOR)' \
		KUBENEXT_WORKERS=$$(cat $(CLUSTER_DIR)/workers 2>/dev/null) KUBENEXT_GATE_OFF_WORKERS=$$(cat $(CLUSTER_DIR)/gate-off-workers 2>/dev/null) \
		KUBENEXT_UPSTREAM_WORKERS=$$(cat $(CLUSTER_DIR)/upstream-workers 2>/dev/null) \
		go test -v -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/ -args \
		--kubeconfig=$(CLUSTER_DIR)/kubeconfig --ginkgo.v --ginkgo.randomize-all --ginkgo.json-report=$(E2E_REPORT) \
		$(if $(GINKGO_SEED),--ginkgo.seed=$(GINKGO_SEED)) $(if $(FOCUS),--ginkgo.focus='$(FOCUS)') $(if $(SKIP),--ginkgo.skip='$(SKIP)') $(if $(LABELS),--ginkgo.label-filter='$(LABELS)')

# Why the last `make e2e` failed, spec by spec: failure message, place and
# the spec's last log lines. .ci/run prints it last after a failed e2e.
e2e-why: patched
	@go run ./hack/e2ereport $(E2E_REPORT)

# --- conformance ---
# Upstream's [Conformance] specs against the running cluster, offline:
#
#   make conformance-images   the e2e test images, built here and loaded into the nodes
#   make conformance          e2e.test, ginkgo, the images, then both phases; writes docs/conformance.md
#   make conformance-rerun    the last run's failures once more
#
# test/conformance/skips.txt lists the specs not run, with reasons;
# test/conformance/triage.txt the notes on known failures. Takes about an
# hour on 2 cores; not part of .ci/run.
CONFORMANCE_PROCS            ?= 4
CONFORMANCE_PARALLEL_TIMEOUT ?= 90m
CONFORMANCE_SERIAL_TIMEOUT   ?= 60m
CONFORMANCE_PHASES           ?= parallel,serial
TESTIMAGES  := $(OUT)/testimages
K8S_MOD_DIR  = $(shell GOWORK=off go list -m -f '{{.Dir}}' k8s.io/kubernetes)

$(TOOLS)/ginkgo: $(TOOLS_MOD)
	$(TOOLS_BUILD) -ldflags '-s -w' -o $@ github.com/onsi/ginkgo/v2/ginkgo
$(TOOLS)/conformance: patched $(shell find hack/conformance internal/conformance internal/exec internal/steps -name '*.go')
	@mkdir -p $(TOOLS)
	go build -o $@ ./hack/conformance
$(TOOLS)/testimages: $(shell find hack/imagebuild -name '*.go') hack/imagebuild/go.mod
	@mkdir -p $(TOOLS)
	cd hack/imagebuild && GOWORK=off CGO_ENABLED=0 go build -o $@ ./testimages

# Upstream's suite with our gates registered; go's cache makes a rebuild cheap.
conformance-e2e: patched
	@mkdir -p $(BIN)
	go test -c -ldflags '$(LDFLAGS)' -o $(BIN)/e2e.test ./test/conformance

# The test images' Debian root: the tools upstream's Alpine and Debian test
# images have (curl, dig, nc, ip/ss, socat) and Debian's nginx.
$(ROOTFS)/e2e-debian.tar:
	@command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
	@rm -rf $(ROOTFS)/e2e-debian && mkdir -p $(ROOTFS)
	@echo " • debootstrap bookworm for the e2e test images (curl, dig, nc, iproute2, socat, nginx)"
	debootstrap --variant=minbase --include=curl,bind9-dnsutils,netcat-openbsd,iproute2,socat,nginx-light,procps,ca-certificates \
		bookworm $(ROOTFS)/e2e-debian http://deb.debian.org/debian >$(ROOTFS)/e2e-debian.log 2>&1 || { tail -20 $(ROOTFS)/e2e-debian.log; exit 1; }
	rm -rf $(ROOTFS)/e2e-debian/var/cache/apt/archives/*.deb $(ROOTFS)/e2e-debian/var/lib/apt/lists/*
	tar -C $(ROOTFS)/e2e-debian --numeric-owner --exclude=./dev -cf $@.tmp . && mv $@.tmp $@

# agnhost, nonewprivs and sample-apiserver come from the pinned modules;
# kind loads every archive into every node (never a pull).
conformance-images: patched $(TOOLS)/testimages $(ROOTFS)/e2e-debian.tar $(ROOTFS)/kube-proxy.tar $(ROOTFS)/busybox/bin/busybox | $(TOOLS)/kind
	@mkdir -p $(TESTIMAGES)/bin
	CGO_ENABLED=0 go build -ldflags '-s -w' -o $(TESTIMAGES)/bin/agnhost k8s.io/kubernetes/test/images/agnhost
	CGO_ENABLED=0 go build -ldflags '-s -w' -o $(TESTIMAGES)/bin/nnp k8s.io/kubernetes/test/images/nonewprivs
	CGO_ENABLED=0 go build -ldflags '-s -w' -o $(TESTIMAGES)/bin/sample-apiserver k8s.io/sample-apiserver
	@$(TOOLS)/testimages --kubernetes-dir $(K8S_MOD_DIR) --out $(TESTIMAGES)/images
	@test -f $(CLUSTER_DIR)/kubeconfig || { echo "no cluster $(CLUSTER): run make cluster first"; exit 1; }
	@for archive in $(TESTIMAGES)/images/*.tar; do \
		start=$$(date +%s); $(TOOLS)/kind load image-archive --name $(CLUSTER) $$archive >/dev/null; \
		echo " ✓ loaded $$(basename $$archive) into $(CLUSTER)'s nodes ($$(( $$(date +%s) - start ))s)"; done

CONFORMANCE_FLAGS = --kubeconfig $(CLUSTER_DIR)/kubeconfig --kubectl $(BIN)/kubectl \
		--e2e-test $(BIN)/e2e.test --ginkgo $(TOOLS)/ginkgo --procs $(CONFORMANCE_PROCS) \
		--parallel-timeout $(CONFORMANCE_PARALLEL_TIMEOUT) --serial-timeout $(CONFORMANCE_SERIAL_TIMEOUT) \
		--dir $(OUT)/conformance --doc docs/conformance.md
conformance: conformance-e2e conformance-images $(TOOLS)/ginkgo $(TOOLS)/conformance
	@$(TOOLS)/conformance run $(CONFORMANCE_FLAGS) --phases $(CONFORMANCE_PHASES)

# The last run's failures once more (listed apart in docs/conformance.md).
conformance-rerun: conformance-e2e $(TOOLS)/ginkgo $(TOOLS)/conformance
	@$(TOOLS)/conformance rerun $(CONFORMANCE_FLAGS)
