package devserver_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/internal/devserver"
)

func shout(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }

func shoutWorkflow(ctx workflow.Context, s string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, "Shout", s).Get(ctx, &out)
	return out, err
}

// Example runs a workflow on a server that keeps its state in a SQLite file:
// starting again on the same file would find the finished run.
func Example() {
	dir, err := os.MkdirTemp("", "devserver-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	server, err := devserver.Start(ctx, devserver.Options{DBPath: filepath.Join(dir, "temporal.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer server.Stop()

	c, err := server.Dial(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "example", worker.Options{})
	w.RegisterWorkflowWithOptions(shoutWorkflow, workflow.RegisterOptions{Name: "Shout"})
	w.RegisterActivityWithOptions(shout, activity.RegisterOptions{Name: "Shout"})
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "shout", TaskQueue: "example"}, "Shout", "sweep")
	if err != nil {
		log.Fatal(err)
	}
	var result string
	if err := run.Get(ctx, &result); err != nil {
		log.Fatal(err)
	}
	fmt.Println(server.Namespace(), result)
	// Output: default SWEEP
}
