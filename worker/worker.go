// Package worker builds isweep workers: a Temporal worker with the sweep
// workflow and the sweep activities wired to an object store, a Monitor
// (health and metrics) and a Drainer (stopping without losing work). The
// Temporal client options are internal/temporalclient's.
package worker

import (
	"context"
	"runtime"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/workflows"
)

// DefaultTaskQueue is the task queue isweep uses unless told otherwise.
const DefaultTaskQueue = "isweep"

// Options configure a worker. Zero values mean the defaults.
type Options struct {
	// TaskQueue is the queue polled. Default "isweep".
	TaskQueue string
	// Concurrency bounds the points integrated at once. Default: the
	// machine's cores (runtime.GOMAXPROCS).
	Concurrency int
	// Store configures the object stores the activities open (S3 endpoint,
	// region, TLS); credentials always come from the environment.
	Store store.Options
	// CodeVersion is recorded with every point. Default "dev".
	CodeVersion string
	// Interceptors wrap the worker's workflows and activities, earlier ones
	// outermost (a Monitor's Interceptor, for instance). Default none.
	Interceptors []interceptor.WorkerInterceptor
	// StopTimeout is how long the worker's Stop waits for the activities
	// running to end before it cancels them (see Drainer for a stop that
	// hands them back). Default 0: they are cancelled at once.
	StopTimeout time.Duration
	// OnFatalError is called when the worker stops polling because of an
	// error it cannot recover from (the namespace was deleted, the
	// credentials were revoked). Default nil: the error is only logged;
	// Run returns it.
	OnFatalError func(error)
}

// New returns a worker that runs sweeps on c. Call Run or Start on it.
func New(c client.Client, opts Options) (sdkworker.Worker, error) {
	if opts.TaskQueue == "" {
		opts.TaskQueue = DefaultTaskQueue
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	storeOpts := opts.Store
	acts, err := activities.New(activities.Config{
		OpenStore: func(ctx context.Context, location string) (store.Store, error) {
			return store.Open(ctx, location, storeOpts)
		},
		CPU:         opts.Concurrency,
		CodeVersion: opts.CodeVersion,
	})
	if err != nil {
		return nil, err
	}
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		// Two chunks per core keep the cores busy while a chunk stores its
		// parts; the activities' own CPU bound keeps compute at one point
		// per core.
		MaxConcurrentActivityExecutionSize: 2 * opts.Concurrency,
		// A chunk heartbeats every few seconds (activities.HeartbeatEvery)
		// and every beat reaches the server: a pause or cancel reaches the
		// chunks running here within seconds, not the SDK's default of
		// up to 0.8 heartbeat timeouts. They are few: two per core.
		MaxHeartbeatThrottleInterval: activities.HeartbeatEvery,
		Interceptors:                 opts.Interceptors,
		OnFatalError:                 opts.OnFatalError,
		WorkerStopTimeout:            opts.StopTimeout,
	})
	Register(w, acts)
	return w, nil
}

// Register registers the sweep workflow and acts on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.SweepWorkflow, workflow.RegisterOptions{Name: workflows.SweepWorkflowName})
	w.RegisterActivity(acts)
}
