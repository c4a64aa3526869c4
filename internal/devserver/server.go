package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// The SQLite connection settings. In WAL mode with synchronous=NORMAL a
// commit appends to the log without an fsync; it is still durable when the
// process is killed (only a power loss or OS crash can drop the last
// commits). Measured here with 100 activities in flight, the default
// rollback journal with synchronous=FULL ran about 36 activities/s, WAL
// about 130 to 150, the same as an in-memory database. More than one
// connection gained nothing measurable.
const (
	sqliteJournalMode = "wal"
	sqliteSynchronous = "normal"
	sqliteMaxConns    = 1
)

// DevDynamicConfig returns the dynamic configuration Start applies before
// Options.DynamicConfig: a fresh map each call.
//
// The server's defaults suit a cluster that protects a shared database; on
// one machine they only throttle a sweep's thousands of short activities per
// second. The request and persistence rate limits are raised far above what
// SQLite can serve (the database is the bottleneck, not a limiter), and task
// queues get one partition, since partitions only spread load across
// matching hosts and there is one.
//
// The history task queues (transfer, timer, visibility, outbound, archival)
// may poll the database at most 20 times a second per shard by default. A
// cluster has hundreds of shards; this server has one, so every new task of
// a workflow that runs one activity at a time waited for the next 50 ms
// slot. Measured here: 100 sequential activities took 4.1 to 5.0 s at the
// default and 0.6 s with the limit raised.
//
// It also holds ClusterDynamicConfig, which isweep needs for correctness.
func DevDynamicConfig() map[string]any {
	const unlimited = 1_000_000
	const pollsPerSecond = 10_000
	settings := map[string]any{
		"history.transferProcessorMaxPollRPS":            pollsPerSecond,
		"history.timerProcessorMaxPollRPS":               pollsPerSecond,
		"history.visibilityProcessorMaxPollRPS":          pollsPerSecond,
		"history.outboundProcessorMaxPollRPS":            pollsPerSecond,
		"history.archivalProcessorMaxPollRPS":            pollsPerSecond,
		"frontend.rps":                                   unlimited,
		"frontend.namespaceRPS":                          unlimited,
		"frontend.namespaceRPS.visibility":               10_000,
		"frontend.persistenceMaxQPS":                     unlimited,
		"frontend.persistenceNamespaceMaxQPS":            unlimited,
		"history.rps":                                    unlimited,
		"history.persistenceMaxQPS":                      unlimited,
		"history.persistenceNamespaceMaxQPS":             unlimited,
		"matching.rps":                                   unlimited,
		"matching.persistenceMaxQPS":                     unlimited,
		"matching.persistenceNamespaceMaxQPS":            unlimited,
		"worker.persistenceMaxQPS":                       unlimited,
		"matching.numTaskqueueReadPartitions":            1,
		"matching.numTaskqueueWritePartitions":           1,
		"system.forceSearchAttributesCacheRefreshOnRead": true,
	}
	maps.Copy(settings, ClusterDynamicConfig())
	return settings
}

// CancelPollsOnShutdown is the dynamic configuration key that lets a
// worker stop without dropping a task: the server ends the polls of a
// worker that shuts down, and the SDK (seeing the namespace capability
// WorkerPollCompleteOnShutdown) runs or hands back whatever they already
// received. Off, the default of a stock server, the SDK cancels its polls
// as it stops, and a task the server dispatched to one meanwhile stays
// started on a worker that is gone until the activity's heartbeat timeout
// (TestStoppedWorkerKeepsNoTask).
const CancelPollsOnShutdown = "frontend.enableCancelWorkerPollsOnShutdown"

// ClusterDynamicConfig returns the dynamic configuration isweep needs from
// any Temporal server it runs on, not only this one: a fresh map each
// call. DevDynamicConfig includes it; deploy/ sets it for a self-hosted
// server, and a test holds deploy/'s files to it.
func ClusterDynamicConfig() map[string]any {
	return map[string]any{CancelPollsOnShutdown: true}
}

// Server is a running embedded Temporal server. Its methods are safe for
// concurrent use.
type Server struct {
	opts      Options
	frontend  string
	temporal  temporal.Server
	lock      *dbLock
	stopOnce  sync.Once
	stopError error
	// logGate carries the log lines to Options.LogOutput until Stop; nil
	// when the lines are discarded.
	logGate *logGate
}

// Start starts a Temporal server as described by opts and returns once its
// frontend answers requests for opts.Namespace. ctx, further bounded by
// Options.StartTimeout, covers the database setup and the wait for the
// frontend; the services' own start cannot be interrupted and is bounded by
// the server (one minute). Cancelling ctx after Start returns has no
// effect: call Stop.
//
// On a new DBPath Start creates the schema; on an existing one it checks the
// schema and keeps every workflow. It fails with an error naming the field
// when a fixed port is taken or the database is held by another server.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkDynamicConfig(opts.DynamicConfig); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	// Every log line of the server and of its clients goes through the
	// gate, which Stop (or a failed start) closes.
	var gate *logGate
	if opts.LogOutput != io.Discard {
		gate = &logGate{w: opts.LogOutput}
		opts.LogOutput = gate
		defer func() {
			if err != nil {
				gate.close()
			}
		}()
	}
	s := &Server{opts: opts, logGate: gate}
	if opts.DBPath != "" {
		if s.lock, err = lockDatabase(opts.DBPath); err != nil {
			return nil, err
		}
		if _, err := prepareDatabase(ctx, opts.DBPath); err != nil {
			return nil, errors.Join(err, s.lock.release())
		}
	}
	if err := s.startTemporal(ctx); err != nil {
		return nil, errors.Join(err, s.lock.release())
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// startTemporal builds the server configuration, registers the namespace and
// starts the services.
func (s *Server) startTemporal(ctx context.Context) error {
	opts := s.opts
	var ports portReservation
	defer ports.release()

	internalIP := opts.internalIP()
	frontendPort, err := ports.reserve(opts.IP, opts.FrontendPort, "FrontendPort")
	if err != nil {
		return err
	}
	s.frontend = net.JoinHostPort(opts.dialHost(), strconv.Itoa(frontendPort))
	httpPort := 0
	if opts.FrontendHTTPPort != 0 {
		if httpPort, err = ports.reserve(opts.IP, opts.FrontendHTTPPort, "FrontendHTTPPort"); err != nil {
			return err
		}
	}
	services := map[string]config.Service{}
	// The services find each other at the addresses given here rather than
	// by gossip (Temporal's default membership, made for a cluster of
	// hosts): with gossip, each service learned of the others only some
	// 100 to 200 ms after the frontend answered, and a workflow task that
	// matching could not hand to history meanwhile waited for the history
	// service's fixed one-second retry (TestServicesKnowEachOtherFromStart).
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []struct {
		name, field, ip string
		port            int
	}{
		{"frontend", "FrontendPort", opts.IP, frontendPort},
		{"history", "HistoryPort", internalIP, opts.HistoryPort},
		{"matching", "MatchingPort", internalIP, opts.MatchingPort},
		{"worker", "WorkerPort", internalIP, opts.WorkerPort},
	} {
		grpcPort := svc.port
		if svc.name != "frontend" {
			if grpcPort, err = ports.reserve(svc.ip, svc.port, svc.field); err != nil {
				return err
			}
		}
		address := net.JoinHostPort(svc.ip, strconv.Itoa(grpcPort))
		if svc.name == "frontend" {
			address = s.frontend
		}
		// Static membership needs an address for every service; a worker
		// service left out gets a free port nobody listens on (no other
		// service calls it).
		hosts[primitives.ServiceName(svc.name)] = static.SingleLocalHost(address)
		if svc.name == "worker" && opts.WithoutWorkerService {
			continue
		}
		rpc := config.RPC{GRPCPort: grpcPort}
		if svc.ip == "127.0.0.1" && svc.name != "frontend" {
			rpc.BindOnLocalHost = true
		} else {
			rpc.BindOnIP = svc.ip
		}
		if svc.name == "frontend" {
			rpc.HTTPPort = httpPort
		}
		services[svc.name] = config.Service{RPC: rpc}
	}

	sqlConfig := s.sqlConfig()
	cfg := &config.Config{
		Persistence: config.Persistence{
			DefaultStore:     "sqlite-default",
			VisibilityStore:  "sqlite-default",
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{"sqlite-default": {SQL: sqlConfig}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        opts.ClusterName,
			CurrentClusterName:       opts.ClusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				opts.ClusterName: {
					Enabled:                true,
					InitialFailoverVersion: 1,
					RPCAddress:             s.frontend,
					// Empty: the server generates an ID on first start and
					// keeps the one stored in the database afterwards.
					ClusterID: "",
				},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{
			Archival: config.ArchivalNamespaceDefaults{
				History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
				Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
			},
		},
		PublicClient: config.PublicClient{HostPort: s.frontend},
	}

	// Register the namespace straight in the database, before the services
	// start, so that it is in their namespace cache from the first request.
	ns, err := sqliteschema.NewNamespaceConfig(opts.ClusterName, opts.Namespace, false, nil)
	if err != nil {
		return fmt.Errorf("devserver: namespace %q: %w", opts.Namespace, err)
	}
	ns.Detail.Config.Retention = timestamp.DurationPtr(opts.NamespaceRetention)
	if err := sqliteschema.CreateNamespaces(sqlConfig, ns); err != nil {
		return optionError("Namespace", opts.Namespace, err, "cannot be registered in %s: %v", s.describeDB(), err)
	}

	logger := newServerLogger(opts.LogOutput, opts.LogLevel)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return fmt.Errorf("devserver: claim mapper: %w", err)
	}
	dynamic := dynamicconfig.StaticClient{}
	for key, value := range DevDynamicConfig() {
		dynamic[dynamicconfig.MakeKey(key)] = value
	}
	for key, value := range opts.DynamicConfig {
		if value == nil {
			delete(dynamic, dynamicconfig.MakeKey(key))
			continue
		}
		dynamic[dynamicconfig.MakeKey(key)] = value
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("devserver: start abandoned: %w", err)
	}
	// Hand the reserved ports to the services: building the server already
	// opens their listeners.
	ports.release()
	server, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(slices.Sorted(maps.Keys(services))),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamic),
	)
	if err != nil {
		return fmt.Errorf("devserver: cannot build the Temporal server: %w", err)
	}
	if err := server.Start(); err != nil {
		// Stop whatever part of the services did start.
		return errors.Join(fmt.Errorf("devserver: cannot start the Temporal server on %s: %w", s.describeDB(), err), server.Stop())
	}
	s.temporal = server
	return nil
}

// sqlConfig is the SQLite data store of the server. Every use of it, here
// and in the services, must produce the same DSN: the SQLite plugin shares
// one connection pool per DSN within the process.
func (s *Server) sqlConfig() *config.SQL {
	if s.opts.DBPath == "" {
		return &config.SQL{
			PluginName: sqliteplugin.PluginName,
			// Shared cache keeps one in-memory database across the pool's
			// connections; the random name keeps servers in one process apart.
			DatabaseName:      "isweep-devserver-" + strconv.FormatUint(rand.Uint64(), 36),
			ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		}
	}
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: s.opts.DBPath,
		MaxConns:     sqliteMaxConns,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": sqliteJournalMode,
			"synchronous":  sqliteSynchronous,
			"busy_timeout": "10000",
		},
	}
}

// describeDB names the server's database in messages that users read too.
func (s *Server) describeDB() string {
	if s.opts.DBPath == "" {
		return "an in-memory database"
	}
	return fmt.Sprintf("the database %q", s.opts.DBPath)
}

// waitReady polls the frontend until a health check and a DescribeNamespace
// of the server's namespace succeed.
func (s *Server) waitReady(ctx context.Context) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		lastErr = s.probe(ctx)
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: the frontend at %s did not answer before the start deadline: %w", s.frontend, errors.Join(ctx.Err(), lastErr))
		case <-time.After(min(2*time.Millisecond<<min(attempt, 7), 250*time.Millisecond)):
		}
	}
}

func (s *Server) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, s.ClientOptions())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
	return err
}

// FrontendAddress returns the host:port SDK clients dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// Namespace returns the namespace registered at start.
func (s *Server) Namespace() string { return s.opts.Namespace }

// ClientOptions returns SDK client options for this server: its address,
// its namespace, and a logger writing to Options.LogOutput at
// Options.LogLevel. Callers may change any field before dialing.
func (s *Server) ClientOptions() client.Options {
	return client.Options{
		HostPort:  s.frontend,
		Namespace: s.opts.Namespace,
		Logger:    newClientLogger(s.opts.LogOutput, s.opts.LogLevel),
	}
}

// Dial returns a connected SDK client for the server's namespace. The caller
// closes it, before calling Stop.
func (s *Server) Dial(ctx context.Context) (client.Client, error) {
	c, err := client.DialContext(ctx, s.ClientOptions())
	if err != nil {
		return nil, fmt.Errorf("devserver: dial %s: %w", s.frontend, err)
	}
	return c, nil
}

// Stop shuts the services down, waiting for requests in flight to drain (about
// a second, or a few milliseconds with Options.WithoutWorkerService), and
// releases the database lock. Workflows are untouched: a
// later Start on the same DBPath, in this process or another, carries on
// with them. Stop is idempotent; every call returns the result of the first.
//
// The server's SQLite plugin never closes its connections, so the process
// keeps the database file open after Stop, and an in-memory database stays
// in memory until the process exits.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var err error
		if s.temporal != nil {
			if serr := s.temporal.Stop(); serr != nil {
				err = fmt.Errorf("devserver: stop: %w", serr)
			}
		}
		s.stopError = errors.Join(err, s.lock.release())
		// Goroutines of the services (the worker service's pollers) log
		// for a while after they stop; the caller may close LogOutput now.
		s.logGate.close()
	})
	return s.stopError
}

// logGate passes writes to w until it is closed, then drops them.
type logGate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *logGate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

// close stops the writes to w; it is safe on a nil gate.
func (g *logGate) close() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
