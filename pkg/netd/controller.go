package netd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// DefaultResyncPeriod bounds how long a route deleted by hand stays missing.
const DefaultResyncPeriod = 30 * time.Second

// syncKey is the only work item: every Node change calls for the same
// recomputation over all nodes, so events coalesce into one pending sync.
const syncKey = "sync"

// ControllerOptions configures a Controller.
type ControllerOptions struct {
	NodeName   string
	Config     Config
	Routes     RouteTable
	CNIConfDir string
	// ResyncPeriod defaults to DefaultResyncPeriod.
	ResyncPeriod time.Duration
}

// Controller applies DesiredState to its node whenever a Node changes and
// every ResyncPeriod.
type Controller struct {
	nodeName      string
	cfg           Config
	routes        RouteTable
	cniConfigPath string
	resyncPeriod  time.Duration

	informers   informers.SharedInformerFactory
	nodes       corelisters.NodeLister
	nodesSynced cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]

	// waitingForPodCIDR keeps the "no podCIDR yet" message to one line per
	// wait instead of one per resync. Only the worker touches it.
	waitingForPodCIDR bool
}

// NewController wires a Controller to the API server; nothing runs until Run.
func NewController(client kubernetes.Interface, opts ControllerOptions) (*Controller, error) {
	if opts.NodeName == "" {
		return nil, errors.New("node name is empty")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Routes == nil {
		return nil, errors.New("no route table")
	}
	if opts.CNIConfDir == "" {
		return nil, errors.New("CNI config directory is empty")
	}
	if opts.ResyncPeriod <= 0 {
		opts.ResyncPeriod = DefaultResyncPeriod
	}

	factory := informers.NewSharedInformerFactory(client, 0)
	nodeInformer := factory.Core().V1().Nodes()
	c := &Controller{
		nodeName:      opts.NodeName,
		cfg:           opts.Config,
		routes:        opts.Routes,
		cniConfigPath: filepath.Join(opts.CNIConfDir, CNIConfigFileName),
		resyncPeriod:  opts.ResyncPeriod,
		informers:     factory,
		nodes:         nodeInformer.Lister(),
		nodesSynced:   nodeInformer.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			// Capped at the resync period: a failing sync is retried at
			// least that often anyway.
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, opts.ResyncPeriod),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kubenext-netd"},
		),
	}
	enqueue := func() { c.queue.Add(syncKey) }
	_, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { enqueue() },
		UpdateFunc: func(any, any) { enqueue() },
		DeleteFunc: func(any) { enqueue() },
	})
	if err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	return c, nil
}

// Run installs the blackhole routes, then keeps the node in its desired
// state until ctx is cancelled. It returns an error only if the blackholes
// cannot be installed or the node list never syncs: without them the daemon
// must not hand out pod addresses at all.
func (c *Controller) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	ctx, cancel := context.WithCancel(ctx)
	// Deferred in this order so that informers are told to stop before
	// Shutdown waits for them.
	defer c.informers.Shutdown()
	defer cancel()
	defer c.queue.ShutDown()

	if err := EnsureBlackholes(ctx, c.routes, c.cfg); err != nil {
		return err
	}

	c.informers.StartWithContext(ctx)
	// Syncing from a partial node list would delete the routes to every
	// node not yet listed.
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.nodesSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("node informer did not sync")
	}

	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	// Also queues the first sync immediately.
	go wait.UntilWithContext(ctx, func(context.Context) { c.queue.Add(syncKey) }, c.resyncPeriod)

	logger.Info("Started", "node", c.nodeName, "podRange", c.cfg.PodCIDR, "serviceRange", c.cfg.ServiceCIDR, "cniConfig", c.cniConfigPath)
	for c.processNext(ctx) {
	}
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)

	if err := c.sync(ctx); err != nil {
		klog.FromContext(ctx).Error(err, "Sync failed; will retry")
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// EnsureBlackholes installs whichever blackhole routes for cfg are missing.
// The daemon calls it before anything else it does, and again on every sync
// so that a blackhole deleted by hand comes back.
func EnsureBlackholes(ctx context.Context, routes RouteTable, cfg Config) error {
	current, err := routes.List()
	if err != nil {
		return err
	}
	return addMissingBlackholes(ctx, routes, current, cfg)
}

func addMissingBlackholes(ctx context.Context, routes RouteTable, current []Route, cfg Config) error {
	for _, r := range Missing(current, BlackholeRoutes(cfg)) {
		if err := routes.Replace(r); err != nil {
			return fmt.Errorf("installing blackhole route: %w", err)
		}
		klog.FromContext(ctx).Info("Installed route", "route", r)
	}
	return nil
}

// sync is one step of the reconcile loop: blackholes, then routes to the
// other nodes, then this node's CNI config. The config comes last because
// writing it is what lets pods start on this node.
func (c *Controller) sync(ctx context.Context) error {
	logger := klog.FromContext(ctx)

	current, err := c.routes.List()
	if err != nil {
		return err
	}
	// A missing blackhole stops the sync before the CNI config is written.
	if err := addMissingBlackholes(ctx, c.routes, current, c.cfg); err != nil {
		return err
	}

	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	infos, err := nodeInfos(nodes)
	if err != nil {
		return err
	}
	state, err := DesiredState(c.nodeName, infos, c.cfg)
	if err != nil {
		return err
	}

	// A failed route is retried but does not hold up the others or the CNI
	// config: until it is in place its traffic hits the blackhole.
	var errs []error
	add, remove := Diff(c.cfg.PodCIDR, current, state.NodeRoutes)
	for _, r := range add {
		if err := c.routes.Replace(r); err != nil {
			errs = append(errs, err)
			continue
		}
		logger.Info("Installed route", "route", r)
	}
	for _, r := range remove {
		if err := c.routes.Delete(r); err != nil {
			errs = append(errs, err)
			continue
		}
		logger.Info("Removed route", "route", r)
	}

	if err := c.writeCNIConfig(ctx, state.CNIConfig); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeCNIConfig leaves an existing config in place while this node has no
// podCIDR (a Node deleted and registering again): removing it would turn the
// node NotReady, and the podCIDR it gets next rewrites it anyway.
func (c *Controller) writeCNIConfig(ctx context.Context, conf []byte) error {
	logger := klog.FromContext(ctx)
	if conf == nil {
		if !c.waitingForPodCIDR {
			logger.Info("Waiting for this node's podCIDR before writing the CNI config", "node", c.nodeName)
			c.waitingForPodCIDR = true
		}
		return nil
	}
	c.waitingForPodCIDR = false
	changed, err := WriteFileIfChanged(c.cniConfigPath, conf, 0o644)
	if err != nil {
		return fmt.Errorf("writing CNI config: %w", err)
	}
	if changed {
		logger.Info("Wrote CNI config", "path", c.cniConfigPath)
	}
	return nil
}

func nodeInfos(nodes []*v1.Node) ([]NodeInfo, error) {
	infos := make([]NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		info, err := NodeInfoFromNode(n)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}
