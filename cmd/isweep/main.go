// Command isweep runs parameter sweeps of the whitening networks.
//
//	isweep run SPEC        run a sweep here: embedded Temporal server, worker, local results
//	isweep plan SPEC       validate a spec and print its size, without running anything
//	isweep report SWEEP    tables, fits and figures from a sweep's Parquet
//	isweep verify SWEEP    check a sweep's stored files: hashes, rows, every point once
//	isweep server          the embedded Temporal server on its own
//	isweep worker          a worker for a Temporal server
//	isweep submit SPEC     submit a sweep to a Temporal server (and watch it with -watch)
//	isweep status SWEEP    one line of progress
//	isweep watch SWEEP     follow a sweep until it ends
//	isweep list            the sweeps a server knows
//	isweep pause|resume|cancel SWEEP
//
// Exit codes: 0 done; 1 the sweep failed or is incomplete; 2 bad input (usage,
// spec); 3 the Temporal server is unreachable; 4 storage or credentials;
// 5 the Temporal namespace does not exist; 130 interrupted (run the same command again to resume).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	sdkworker "go.temporal.io/sdk/worker"
)

// Exit codes a script can rely on.
const (
	exitOK          = 0
	exitFailed      = 1
	exitBadInput    = 2
	exitUnreachable = 3
	exitStorage     = 4
	exitNoNamespace = 5
	exitInterrupted = 130
)

// exitError carries an exit code and one clear line for the user.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "run a sweep here (embedded Temporal server, in-process worker, local results)", cmdRun},
		{"plan", "validate a spec and print its sweep id, points, chunks and estimated cost", cmdPlan},
		{"report", "print the best convergence times and the fitted laws; write PNG figures", cmdReport},
		{"verify", "check a sweep's stored files against its markers and manifest (hashes, rows, every point once)", cmdVerify},
		{"server", "run the embedded Temporal server on its own", cmdServer},
		{"worker", "run a worker for a Temporal server", cmdWorker},
		{"submit", "submit a sweep to a Temporal server", cmdSubmit},
		{"status", "print the progress of a sweep", cmdStatus},
		{"watch", "follow a sweep until it ends", cmdWatch},
		{"list", "list the sweeps a Temporal server knows", cmdList},
		{"pause", "stop scheduling new chunks of a sweep", cmdPause},
		{"resume", "resume a paused sweep", cmdResume},
		{"cancel", "cancel a sweep (its stored results stay; submit again to resume)", cmdCancel},
		{"version", "print the version", cmdVersion},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "isweep: parameter sweeps of whitening networks on Temporal\n\nUsage: isweep COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'isweep COMMAND -h' for the flags of a command.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// Temporal's workers (ours and the embedded server's own) identify the
	// binary in the workflow tasks they complete; by default the SDK hashes
	// the whole executable for that, about 0.4 CPU-seconds at every start.
	// The build's revision names the binary as well.
	sdkworker.SetBinaryChecksum("isweep-" + version())
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return exitBadInput
		}
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		return exitCode(ctx, os.Stderr, c.name, c.run(ctx, args[1:]))
	}
	fmt.Fprintf(os.Stderr, "isweep: unknown command %q; run 'isweep help' for the list\n", args[0])
	return exitBadInput
}

// interruptedMessage is what a command stopped by a signal says, whatever
// it was doing.
const interruptedMessage = "interrupted; what is stored stays: run the same command again to resume"

// exitCode writes the error of command name (if any) to w, in one line,
// and returns its exit code. ctx is the context the signals cancel: an
// error returned once it is cancelled is the command stopping because of
// the signal, whatever phase it was in and whatever code the phase gives
// its own failures (a cancelled database open, server start, submit or
// report): exit 130, saying how to resume, not blaming the cancelled
// step.
func exitCode(ctx context.Context, w io.Writer, name string, err error) int {
	if err == nil {
		return exitOK
	}
	code, msg := exitFailed, err
	var ee *exitError
	if errors.As(err, &ee) {
		code, msg = ee.code, ee.err
	}
	if ctx.Err() != nil && code != exitInterrupted {
		code, msg = exitInterrupted, errors.New(interruptedMessage)
	}
	if msg != nil && msg.Error() != "" {
		fmt.Fprintf(w, "isweep %s: %v\n", name, msg)
	}
	return code
}
