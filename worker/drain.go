package worker

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// HandedBackErrorType is the type of the retryable error an activity
// returns when its worker stops before it ended (see Drainer.HandBack):
// Temporal retries it on another worker.
const HandedBackErrorType = "WorkerStopping"

// Drainer lets a worker stop without losing work: an activity interceptor
// that knows which activities run and since when the worker has had none
// (for an exit when idle), and that hands the running ones back to
// Temporal when the worker must stop before they end.
//
// Stopping a worker is then: stop polling (the SDK worker's Stop, with a
// stop timeout longer than the grace period), let the running activities
// finish for a grace period, then call HandBack: each one still running
// has its context cancelled and returns a retryable error of type
// HandedBackErrorType, which the SDK reports as soon as it has stopped
// polling, so that Temporal retries the activity on another worker
// without waiting for a heartbeat timeout. The activities are idempotent
// (deterministic keys), so a chunk handed back midway is computed again
// elsewhere, every point once.
type Drainer struct {
	mu         sync.Mutex
	running    int
	idleSince  time.Time
	finished   int
	handedBack int
	handBack   chan struct{}
	once       sync.Once
}

// NewDrainer returns a Drainer whose idle time starts now.
func NewDrainer() *Drainer {
	return &Drainer{idleSince: time.Now(), handBack: make(chan struct{})}
}

// Interceptor returns the worker interceptor that tracks the activities.
// Pass it in Options.Interceptors.
func (d *Drainer) Interceptor() interceptor.WorkerInterceptor {
	return &drainInterceptor{drainer: d}
}

// Running returns the number of activities running now.
func (d *Drainer) Running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running
}

// Counts returns the activities that ended normally and those handed back
// since the Drainer was made.
func (d *Drainer) Counts() (finished, handedBack int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.finished, d.handedBack
}

// IdleFor returns how long the worker has run no activity, as of now: 0
// while one runs.
func (d *Drainer) IdleFor(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running > 0 {
		return 0
	}
	return now.Sub(d.idleSince)
}

// HandBack cancels the activities running now, and any that starts later,
// so that each returns a retryable HandedBackErrorType error. It is safe
// to call more than once.
func (d *Drainer) HandBack() {
	d.once.Do(func() { close(d.handBack) })
}

func (d *Drainer) handingBack() bool {
	select {
	case <-d.handBack:
		return true
	default:
		return false
	}
}

func (d *Drainer) start() {
	d.mu.Lock()
	d.running++
	d.mu.Unlock()
}

func (d *Drainer) end(handedBack bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running--
	if handedBack {
		d.handedBack++
	} else {
		d.finished++
	}
	if d.running == 0 {
		d.idleSince = time.Now()
	}
}

type drainInterceptor struct {
	interceptor.WorkerInterceptorBase
	drainer *Drainer
}

func (i *drainInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &drainActivityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, drainer: i.drainer}
}

type drainActivityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	drainer *Drainer
}

func handedBackError() error {
	return temporal.NewApplicationError("the worker is stopping: handed back to run on another worker", HandedBackErrorType)
}

// handBackWait bounds how long a handed-back activity waits for its SDK
// worker to begin stopping (see awaitWorkerStop).
const handBackWait = 10 * time.Second

// awaitWorkerStop returns once the SDK worker running the activity of ctx
// has begun to stop, or after handBackWait. The SDK stops polling before
// it says so: an activity handed back returns only then, so that the
// slot it frees does not fetch another task, which would be handed back
// too (an attempt of that chunk spent, and a second of backoff).
func awaitWorkerStop(ctx context.Context) {
	select {
	case <-activity.GetWorkerStopChannel(ctx):
	case <-time.After(handBackWait):
	}
}

func (a *drainActivityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	d := a.drainer
	d.start()
	if d.handingBack() {
		// Polled just before the worker stopped: another worker runs it.
		awaitWorkerStop(ctx)
		d.end(true)
		return nil, handedBackError()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.handBack:
			cancel()
		case <-ctx.Done():
		}
	}()
	result, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil && d.handingBack() {
		awaitWorkerStop(ctx)
		d.end(true)
		return nil, handedBackError()
	}
	d.end(false)
	return result, err
}
