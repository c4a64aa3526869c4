//go:build unix

package devserver

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// stepThenSignalWorkflow runs the "Step" activity, then waits for a "name"
// signal, and reports both.
func stepThenSignalWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Short, so that a completion lost with the killed server is retried
		// soon by the restarted one.
		StartToCloseTimeout: 3 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, BackoffCoefficient: 1},
	})
	var step string
	if err := workflow.ExecuteActivity(ctx, "Step").Get(ctx, &step); err != nil {
		return "", err
	}
	var name string
	workflow.GetSignalChannel(ctx, "name").Receive(ctx, &name)
	return step + " then " + name, nil
}

// blockingStep is the "Step" activity. Its first attempt reports that it
// runs and never finishes: like an attempt whose worker died with the
// server, it ends only when its start-to-close timeout expires. Later
// attempts return at once.
type blockingStep struct {
	attempts chan int32
}

func (s *blockingStep) Step(ctx context.Context) (string, error) {
	attempt := activity.GetInfo(ctx).Attempt
	s.attempts <- attempt
	if attempt == 1 {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return "step done", nil
}

// TestServerKilledMidWorkflowRecovers is fault test (2): the server process
// dies by SIGKILL while a workflow's activity is running; a new server
// process on the same file and port times the lost attempt out, retries it,
// delivers a signal and carries the workflow to completion.
func TestServerKilledMidWorkflowRecovers(t *testing.T) {
	spec := childSpec{DBPath: filepath.Join(t.TempDir(), "temporal.db"), FrontendPort: freePort(t)}
	first := startChild(t, spec)

	options := client.Options{HostPort: first.address, Namespace: DefaultNamespace, Logger: newClientLogger(newTestLog(t), "error")}
	c, err := client.Dial(options)
	if err != nil {
		t.Fatalf("dial child server: %v", err)
	}
	defer c.Close()
	step := &blockingStep{attempts: make(chan int32, 16)}
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(stepThenSignalWorkflow, workflow.RegisterOptions{Name: "StepThenSignal"})
	w.RegisterActivityWithOptions(step.Step, activity.RegisterOptions{Name: "Step"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "killed-mid-activity", TaskQueue: testTaskQueue}, "StepThenSignal")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	select {
	case attempt := <-step.attempts:
		if attempt != 1 {
			t.Fatalf("first Step attempt: got: %d want: 1", attempt)
		}
	case <-ctx.Done():
		t.Fatal("Step never started")
	}

	// The activity is running: kill the server under it.
	began := time.Now()
	first.kill(t)
	status, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("first server exit: got: %v want: killed by SIGKILL", first.cmd.ProcessState)
	}
	second := startChild(t, spec)
	t.Logf("second server ready %v after the kill", time.Since(began).Round(time.Millisecond))
	if second.address != first.address {
		t.Fatalf("restarted server address: got: %q want: %q", second.address, first.address)
	}
	// The file is now held by the second process: this one cannot open it.
	if s, err := Start(ctx, Options{DBPath: spec.DBPath}); err == nil {
		_ = s.Stop()
		t.Errorf("Start on a file held by another process: got: nil error want: a lock error")
	} else if !strings.Contains(err.Error(), "locked by another running Temporal server") {
		t.Errorf("Start on a file held by another process: got: %v want: a lock error", err)
	}

	if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "name", "restart"); err != nil {
		t.Fatalf("signal after restart: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow after restart: %v\nsecond server stderr:\n%s", err, second.stderr)
	}
	t.Logf("workflow completed %v after the kill", time.Since(began).Round(time.Millisecond))
	if want := "step done then restart"; got != want {
		t.Errorf("workflow result: got: %q want: %q", got, want)
	}
	close(step.attempts)
	var attempts []int32
	for a := range step.attempts {
		attempts = append(attempts, a)
	}
	if len(attempts) != 1 || attempts[0] != 2 {
		t.Errorf("Step attempts after the kill: got: %v want: [2] (the lost attempt retried once)", attempts)
	}

	w.Stop()
	c.Close()
	second.stop(t)
}
