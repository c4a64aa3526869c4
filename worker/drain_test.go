package worker_test

import (
	"context"
	"io"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/worker"
)

// blockersWorkflow starts n activities that run until they are cancelled.
func blockersWorkflow(ctx workflow.Context, n int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    10 * time.Minute,
	})
	futures := make([]workflow.Future, n)
	for i := range futures {
		futures[i] = workflow.ExecuteActivity(ctx, "Block")
	}
	for _, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func blockActivity(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestHandBackTakesNoNewTask stops workers the way `isweep worker` does
// with -grace 0 (HandBack at once, beside the SDK worker's Stop) while
// both their activity slots hold a chunk and more tasks wait in the
// queue. Each worker must hand back exactly the two it held: a slot freed
// by a hand-back before the SDK stopped polling would fetch another task,
// handed back at once, an attempt of that chunk spent for nothing.
func TestHandBackTakesNoNewTask(t *testing.T) {
	srv, err := devserver.Start(context.Background(), devserver.Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := srv.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const queue = "hand-back-test"
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue}, "Blockers", 2000)
	if err != nil {
		t.Fatal(err)
	}
	defer c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "test over")

	for cycle := range 40 {
		d := worker.NewDrainer()
		w := sdkworker.New(c, queue, sdkworker.Options{
			MaxConcurrentActivityExecutionSize: 2,
			Interceptors:                       []interceptor.WorkerInterceptor{d.Interceptor()},
			WorkerStopTimeout:                  time.Minute,
		})
		w.RegisterWorkflowWithOptions(blockersWorkflow, workflow.RegisterOptions{Name: "Blockers"})
		w.RegisterActivityWithOptions(blockActivity, activity.RegisterOptions{Name: "Block"})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for d.Running() < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: the worker never held two activities", cycle)
			}
			time.Sleep(5 * time.Millisecond)
		}
		handBack := time.AfterFunc(0, d.HandBack)
		w.Stop()
		handBack.Stop()
		if finished, back := d.Counts(); finished != 0 || back != 2 {
			t.Fatalf("cycle %d: got: %d activities finished, %d handed back; want: 0 finished, the 2 held handed back", cycle, finished, back)
		}
	}
}
