package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/worker"
)

// How a worker waits for its server and stops; see the worker's help.
const (
	// defaultGrace is -grace: the activities running when a worker is
	// told to stop finish within it, else are handed back. It fits in
	// SLURM's default KillWait (30 s between SIGTERM and SIGKILL) and in
	// the Compose and Kubernetes grace periods of deploy/, with time left
	// to hand back.
	defaultGrace = 20 * time.Second
	// handBackTime is how long a worker waits, after the grace period,
	// for the activities it handed back to return and be reported.
	handBackTime = 30 * time.Second
	// defaultConnectTimeout is -connect-timeout: how long a worker waits
	// for its server and namespace before it gives up (exit 3 or 5).
	defaultConnectTimeout = time.Minute
	// firstConnectPause and maxConnectPause bound the pauses between
	// attempts to connect, which double from the first.
	firstConnectPause = time.Second
	maxConnectPause   = 30 * time.Second
)

// workerExitCodes is the part of the worker's help that lists its exit
// codes; docs/cluster.md says the same.
const workerExitCodes = `Exit codes:
  0  stopped as asked: on SIGTERM or SIGINT once the chunks running finished
     or were handed back (-grace), or after -idle-exit without work
  1  stopped polling on an error it cannot recover from (credentials revoked…)
  2  invalid configuration (flags, environment, files)
  3  the Temporal server was unreachable for -connect-timeout
  5  the namespace does not exist on the server (temporal operator namespace create)`

// namespaceMissing is the message (exit 5) of a namespace the server does
// not have.
func namespaceMissing(hostPort, namespace string) error {
	return fail(exitNoNamespace, "the Temporal server at %s has no namespace %q; create it with 'temporal operator namespace create --namespace %s' (a self-hosted Temporal server creates none, not even default; 'isweep server' does), or name another with -namespace or TEMPORAL_NAMESPACE", hostPort, namespace, namespace)
}

// isNamespaceNotFound reports whether err says the namespace does not exist.
func isNamespaceNotFound(err error) bool {
	var nf *serviceerror.NamespaceNotFound
	return errors.As(err, &nf)
}

// droppedTaskWarning says what a worker risks on a server at addr that
// cancels a stopping worker's polls instead of ending them: the SDK
// drops a task dispatched to a poll as it is cancelled, and the chunk
// waits for its heartbeat timeout.
func droppedTaskWarning(addr string) string {
	return fmt.Sprintf("isweep worker: warning: the Temporal server at %s does not end the polls of a worker that stops (dynamic config %s is off): "+
		"a chunk dispatched to this worker as it stops waits for its heartbeat timeout (30 s by default) before another worker runs it; "+
		"set %s: true on the server (docs/cluster.md)", addr, devserver.CancelPollsOnShutdown, devserver.CancelPollsOnShutdown)
}

// dialFailureIsFinal reports whether a failed dial cannot succeed by
// waiting: the TLS handshake failed, something other than a Temporal
// server answers, or the server refused the credentials. A server that
// is not up yet (refused, unresolved, silent) may come.
func dialFailureIsFinal(err error) bool {
	msg := err.Error()
	for _, s := range []string{"authentication handshake failed", "tls:", "x509:", "unexpected HTTP status code", "malformed header"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	var denied *serviceerror.PermissionDenied
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &denied) || errors.As(err, &invalid)
}

// connectWorker connects to the Temporal server of opts and checks that
// its namespace exists. While the server is unreachable or the namespace
// missing, it tries again after a pause that doubles from 1 s up to 30 s,
// saying so on logw, for up to timeout in all (0: one try). Then it fails
// with exit 3 (unreachable) or 5 (no namespace). A stop asked through ctx
// returns ctx's error.
func connectWorker(ctx context.Context, opts client.Options, timeout time.Duration, logw io.Writer) (client.Client, error) {
	deadline := time.Now().Add(timeout)
	pause := firstConnectPause
	for {
		c, err := client.DialContext(ctx, opts)
		final := err != nil && dialFailureIsFinal(err)
		if err == nil {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			var ns *workflowservice.DescribeNamespaceResponse
			ns, err = c.WorkflowService().DescribeNamespace(dctx, &workflowservice.DescribeNamespaceRequest{Namespace: opts.Namespace})
			cancel()
			switch {
			case err == nil:
				if !ns.GetNamespaceInfo().GetCapabilities().GetWorkerPollCompleteOnShutdown() {
					fmt.Fprintln(logw, droppedTaskWarning(opts.HostPort))
				}
				return c, nil
			case isNamespaceNotFound(err):
				err = namespaceMissing(opts.HostPort, opts.Namespace)
			default:
				// Another answer (a permission the worker may not need):
				// the worker's own start says what is wrong.
				return c, nil
			}
			c.Close()
		} else {
			err = dialError(opts.HostPort, opts.Namespace, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		left := time.Until(deadline)
		if final || left <= 0 {
			var ee *exitError
			if timeout > 0 && !final && errors.As(err, &ee) {
				return nil, &exitError{code: ee.code, err: fmt.Errorf("%v (tried for -connect-timeout %s)", ee.err, shortDuration(timeout))}
			}
			return nil, err
		}
		wait := min(pause, left).Round(time.Millisecond)
		fmt.Fprintf(logw, "isweep worker: waiting for the Temporal server: %v; next try in %s (-connect-timeout %s, %s left)\n",
			err, shortDuration(wait), shortDuration(timeout), shortDuration(left.Round(time.Second)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		pause = min(2*pause, maxConnectPause)
	}
}

// idleFor returns a channel closed once d's worker has run no activity for
// after, or nil (never) when after is 0. quit ends the watch.
func idleFor(d *worker.Drainer, after time.Duration, quit <-chan struct{}) <-chan struct{} {
	if after <= 0 {
		return nil
	}
	idle := make(chan struct{})
	go func() {
		for {
			wait := after - d.IdleFor(time.Now())
			if wait <= 0 {
				close(idle)
				return
			}
			// While activities run IdleFor is 0: look again after a
			// full period, or sooner once they have ended.
			select {
			case <-quit:
				return
			case <-time.After(min(wait, max(after/10, 100*time.Millisecond))):
			}
		}
	}()
	return idle
}

// stopWorker stops w polling, lets the activities running finish for
// grace, hands back those still running (or at once on another signal),
// waits for the SDK worker to report them, and says what happened.
func stopWorker(w sdkworker.Worker, d *worker.Drainer, grace time.Duration, why string, signals <-chan os.Signal, logw io.Writer) {
	finished0, back0 := d.Counts()
	fmt.Fprintf(logw, "isweep worker: %s: polling stopped; %d activities running finish within -grace %s, else are handed back to run on another worker (signal again to hand them back now)\n",
		why, d.Running(), shortDuration(grace))
	handBack := time.AfterFunc(grace, d.HandBack)
	defer handBack.Stop()
	stopped := make(chan struct{})
	go func() {
		w.Stop()
		close(stopped)
	}()
	for {
		select {
		case <-stopped:
			finished, back := d.Counts()
			fmt.Fprintf(logw, "isweep worker: stopped: %d activities finished, %d handed back\n", finished-finished0, back-back0)
			return
		case sig := <-signals:
			fmt.Fprintf(logw, "isweep worker: %s again: handing back the activities running\n", signalName(sig))
			d.HandBack()
		}
	}
}

// signalName names a stop signal as users know it.
func signalName(sig os.Signal) string {
	switch sig.String() {
	case "terminated":
		return "SIGTERM"
	case "interrupt":
		return "SIGINT"
	}
	return sig.String()
}
