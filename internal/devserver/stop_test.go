package devserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// trickleWorkflow keeps width short activities in flight until n have
// completed, each given ten minutes of heartbeat timeout: a task a worker
// drops stays started that long.
func trickleWorkflow(ctx workflow.Context, n, width int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    10 * time.Minute,
	})
	sel := workflow.NewSelector(ctx)
	var failure error
	started, done := 0, 0
	for done < n && failure == nil {
		for ; started < n && started-done < width; started++ {
			sel.AddFuture(workflow.ExecuteActivity(ctx, "Nap"), func(f workflow.Future) {
				done++
				failure = f.Get(ctx, nil)
			})
		}
		sel.Select(ctx)
	}
	return failure
}

func napActivity(context.Context) error {
	time.Sleep(2 * time.Millisecond)
	return nil
}

// TestStoppedWorkerKeepsNoTask stops workers again and again while
// activities are dispatched to their polls. A worker's Stop that returned
// has reported every task it polled: none may stay started on a worker
// that is gone, which Temporal would retry only after the activity's
// heartbeat timeout (ten minutes here; a sweep's default is 30 s). The
// SDK hands polled tasks over on stop only when the server completes the
// polls of a worker that shuts down (frontend.enableCancelWorkerPollsOnShutdown);
// otherwise it cancels them, and a task the server dispatched meanwhile
// is dropped.
func TestStoppedWorkerKeepsNoTask(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
		// cycles bounds the workers stopped; a run that loses a task
		// stops at once.
		cycles   int
		wantLost bool
	}{
		// Before DevDynamicConfig set CancelPollsOnShutdown, this lost
		// tasks at cycle 10.
		{name: "default", cycles: 100},
		// A stock server's default: shows that the test sees the loss
		// (here at cycles 0, 0, 6, 10 and 10, and in one run not
		// within 200).
		{name: "polls cancelled by the client", settings: map[string]any{CancelPollsOnShutdown: false}, cycles: 1000, wantLost: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Options{DynamicConfig: tc.settings})
			c := dial(t, s)
			const queue = "stop-test"
			run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue}, "Trickle", 1_000_000, 40)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			lost := 0
			for cycle := 0; cycle < tc.cycles && lost == 0; cycle++ {
				identity := fmt.Sprintf("stopped-%d", cycle)
				w := worker.New(c, queue, worker.Options{
					Identity:                           identity,
					MaxConcurrentActivityTaskPollers:   16,
					MaxConcurrentActivityExecutionSize: 32,
					WorkerStopTimeout:                  time.Minute,
				})
				w.RegisterWorkflowWithOptions(trickleWorkflow, workflow.RegisterOptions{Name: "Trickle"})
				w.RegisterActivityWithOptions(napActivity, activity.RegisterOptions{Name: "Nap"})
				if err := w.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(30+rng.IntN(50)) * time.Millisecond)
				w.Stop()
				desc, err := c.DescribeWorkflowExecution(context.Background(), run.GetID(), run.GetRunID())
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range desc.GetPendingActivities() {
					if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && a.GetLastWorkerIdentity() == identity {
						lost++
						t.Logf("cycle %d: activity %s stays started on the stopped worker %s", cycle, a.GetActivityId(), identity)
					}
				}
			}
			if got := lost > 0; got != tc.wantLost {
				t.Errorf("got: %d activities left started on stopped workers; want lost: %v", lost, tc.wantLost)
			}
			if err := c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test over"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
