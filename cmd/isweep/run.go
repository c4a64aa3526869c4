package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/internal/temporalclient"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
	"github.com/isweep/isweep/workflows"
)

// sweepFlags are the flags shared by run and submit.
type sweepFlags struct {
	failFast    bool
	maxInFlight int
	heartbeat   time.Duration
	verify      bool
	reuse       numericsList
}

func (f *sweepFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.failFast, "fail-fast", false, "end the sweep at the first failed point or chunk (default: record failures and go on)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", workflows.DefaultMaxInFlight, "most chunks in flight at once")
	fs.DurationVar(&f.heartbeat, "heartbeat-timeout", 0, "how long a silent chunk is given before it is retried elsewhere (default 30s; 10s for run)")
	fs.BoolVar(&f.verify, "verify", false, "read and hash every stored part before trusting it; what does not check out is moved to quarantine/ and computed again (default: markers and sizes are checked)")
	f.reuse.register(fs)
}

func (f *sweepFlags) options() workflows.Options {
	return workflows.Options{FailFast: f.failFast, MaxInFlight: f.maxInFlight, HeartbeatTimeout: f.heartbeat, Verify: f.verify, ReuseNumerics: f.reuse}
}

// numericsList is the value of -reuse-numerics: numerics versions, comma
// separated.
type numericsList []int

func (l *numericsList) register(fs *flag.FlagSet) {
	fs.Var(l, "reuse-numerics", fmt.Sprintf("comma-separated numerics versions (older integrators) whose stored points the sweep may reuse when it is first planned, where no point of this version (%d) exists (default: none, they are computed again; the points table's numerics column tells them apart)", dynamics.NumericsVersion))
}

func (l *numericsList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *numericsList) Set(s string) error {
	*l = nil
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 || v > dynamics.NumericsVersion {
			return fmt.Errorf("%q is not a numerics version: give versions from 1 to %d, comma separated, like 1", part, dynamics.NumericsVersion)
		}
		if !slices.Contains(*l, v) {
			*l = append(*l, v)
		}
	}
	return nil
}

// otherNumericsLines describes the points of other numerics versions a
// plan found stored: reused, or computed again.
func otherNumericsLines(counts []activities.NumericsCount, reuse []int) []string {
	var lines []string
	asked := slices.Clone(reuse)
	for _, c := range counts {
		if c.Reused {
			asked = append(asked, c.Numerics)
		}
	}
	for _, c := range counts {
		switch {
		case !c.Reused && slices.Contains(asked, c.Numerics):
			lines = append(lines, fmt.Sprintf("%d points stored by numerics version %d computed again (this is version %d, which computes them otherwise; it reuses only %s)", c.Points, c.Numerics, dynamics.NumericsVersion, dynamics.SameResultsText))
			continue
		case c.Reused:
			lines = append(lines, fmt.Sprintf("%d points stored by numerics version %d reused (-reuse-numerics; this is version %d, which computes them the same: %s)", c.Points, c.Numerics, dynamics.NumericsVersion, dynamics.SameResultsText))
		default:
			lines = append(lines, fmt.Sprintf("%d points stored by numerics version %d computed again (this is version %d; -reuse-numerics %d would reuse those of them it computes the same: %s)", c.Points, c.Numerics, dynamics.NumericsVersion, c.Numerics, dynamics.SameResultsText))
		}
	}
	return lines
}

// temporalFlags are the flags of every command that talks to a server.
type temporalFlags struct {
	address    string
	namespace  string
	taskQueue  string
	profile    string
	configFile string
}

func (f *temporalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.address, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS, else 127.0.0.1:7233)")
	fs.StringVar(&f.namespace, "namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, else default)")
	fs.StringVar(&f.taskQueue, "task-queue", worker.DefaultTaskQueue, "task queue of the workers")
	fs.StringVar(&f.profile, "profile", "", "profile of the Temporal configuration file (default $TEMPORAL_PROFILE, else default)")
	fs.StringVar(&f.configFile, "config-file", "", "Temporal configuration file, TOML (default $TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml if it exists)")
}

// settings are the client settings the flags give.
func (f *temporalFlags) settings() temporalclient.Settings {
	return temporalclient.Settings{ConfigFile: f.configFile, Profile: f.profile, Address: f.address, Namespace: f.namespace}
}

// dial connects to the server named by the flags and the environment.
func (f *temporalFlags) dial(ctx context.Context, logger sdklog.Logger) (client.Client, error) {
	opts, res, err := temporalclient.Load(f.settings(), logger)
	if err != nil {
		return nil, fail(exitBadInput, "%v", err)
	}
	if err := checkTemporalAddress(opts.HostPort, res.AddressSource); err != nil {
		return nil, fail(exitBadInput, "%v", err)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, dialError(opts.HostPort, opts.Namespace, err)
	}
	serverAddress = opts.HostPort
	return c, nil
}

// loadSpec reads and validates a spec file and makes a folder output
// absolute, so that the worker writes where the user expects. A check of
// the points that takes long shows its progress and stops with ctx. The
// spec's errors name the file themselves.
func loadSpec(ctx context.Context, path string) (*schemas.Spec, error) {
	spec, err := schemas.ParseFile(path)
	if err != nil {
		return nil, fail(exitBadInput, "%v", err)
	}
	if err := validateSpec(ctx, spec, path); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(spec.Output, "s3://") && !filepath.IsAbs(spec.Output) {
		abs, err := filepath.Abs(spec.Output)
		if err != nil {
			return nil, fail(exitBadInput, "%s: output %q: %v", path, spec.Output, err)
		}
		spec.Output = abs
	}
	return spec, nil
}

// checkStore opens the spec's output before any work starts, so that a
// missing credential or an unreachable S3 endpoint is one clear line.
func checkStore(ctx context.Context, spec *schemas.Spec) (store.Store, error) {
	st, err := store.Open(ctx, spec.Output, clientStoreOptions())
	if err != nil {
		return nil, fail(exitStorage, "output %s: %v", spec.Output, err)
	}
	return st, nil
}

// clientStoreOptions are the store options of commands that read or check
// an output: credentials and endpoint from AWS_*, a private S3 authority
// from AWS_CA_BUNDLE, as for the worker.
func clientStoreOptions() store.Options {
	return store.Options{CAFile: os.Getenv("AWS_CA_BUNDLE")}
}

// quietLogger logs to w at level and above.
func quietLogger(w io.Writer, level slog.Level) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}

func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var sf sweepFlags
	sf.register(fs)
	var tf temporalFlags
	tf.register(fs)
	state := fs.String("state", ".isweep", "folder for the embedded server's database and logs")
	workers := fs.Int("concurrency", runtime.GOMAXPROCS(0), "points integrated at once by the in-process worker")
	noReport := fs.Bool("no-report", false, "do not write the report at the end")
	quiet := fs.Bool("quiet", false, "no progress display")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: isweep run [flags] SPEC\n\nRuns a sweep to the end. With no Temporal address given (flag or TEMPORAL_ADDRESS) it starts\nan embedded Temporal server (SQLite in -state) and a worker in this process; Ctrl-C stops\ncleanly and the same command later resumes. With an address it submits and watches.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &exitError{code: exitBadInput, err: errors.New("")}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fail(exitBadInput, "run takes one SPEC file")
	}
	if err := firstError(sf.check(), tf.check(), checkInt("concurrency", *workers, 1, -1, "points integrated at once")); err != nil {
		return err
	}
	spec, err := loadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if tf.address == "" && os.Getenv("TEMPORAL_ADDRESS") == "" {
		if err := checkOutputOutsideState(spec.Output, *state); err != nil {
			return err
		}
	}
	if _, err := checkStore(ctx, spec); err != nil {
		return err
	}
	if tf.address != "" || os.Getenv("TEMPORAL_ADDRESS") != "" {
		c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelWarn))
		if err != nil {
			return err
		}
		defer c.Close()
		return submitAndWatch(ctx, c, spec, tf.taskQueue, sf.options(), !*quiet, !*noReport)
	}

	if err := os.MkdirAll(*state, 0o755); err != nil {
		return fail(exitBadInput, "state folder %s: %v", *state, pathReason(err))
	}
	logFile, err := os.OpenFile(filepath.Join(*state, "isweep.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(exitBadInput, "state folder %s: isweep.log: %v", *state, pathReason(err))
	}
	defer logFile.Close()
	logger := quietLogger(logFile, slog.LevelInfo)

	srv, err := devserver.Start(ctx, devserver.Options{
		DBPath:    filepath.Join(*state, "temporal.db"),
		LogOutput: logFile,
		// A run needs none of the server's own background workflows, and
		// without them the server stops in milliseconds instead of one second.
		WithoutWorkerService: true,
	})
	if err != nil {
		return serverError(err, map[string]string{"DBPath": "-state " + *state + ": the database %s"})
	}
	defer srv.Stop()
	c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: logger})
	if err != nil {
		return fail(exitUnreachable, "connect to the embedded Temporal server: %v", err)
	}
	defer c.Close()
	w, err := worker.New(c, worker.Options{TaskQueue: tf.taskQueue, Concurrency: *workers, CodeVersion: version()})
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	// Sweeps interrupted in an earlier run with this state are still
	// running, and this run's worker takes their chunks too: say so.
	if others, err := control.OtherRunning(ctx, c, spec.SweepID(), tf.taskQueue); err == nil {
		for _, o := range others {
			fmt.Fprintf(os.Stderr, "isweep: also running: sweep %s (%s) -> %s, interrupted in an earlier run with the state %s; this run's worker takes its chunks too while it runs\n",
				strings.TrimPrefix(o.WorkflowID, workflows.WorkflowID("")), o.Name, o.Output, *state)
		}
	}
	opts := sf.options()
	if opts.HeartbeatTimeout == 0 {
		// One machine: a chunk orphaned by a killed run is retried soon
		// after the next start.
		opts.HeartbeatTimeout = 10 * time.Second
	}
	return submitAndWatch(ctx, c, spec, tf.taskQueue, opts, !*quiet, !*noReport)
}

// submitAndWatch submits spec, follows it to the end, prints the summary
// and, for a complete sweep, writes the report. A sweep that did not
// complete never exits 0.
func submitAndWatch(ctx context.Context, c client.Client, spec *schemas.Spec, taskQueue string, opts workflows.Options, showProgress, writeReport bool) error {
	grid, err := spec.Grid()
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	sub, err := control.Submit(ctx, c, spec, taskQueue, opts)
	if err != nil {
		var other *control.OtherOutputError
		if errors.As(err, &other) {
			return fail(exitBadInput, "%v", err)
		}
		return fail(exitUnreachable, "%v", err)
	}
	// A sweep has started once it is planned: one the plan refuses (an
	// invalid spec, other numerics, an output it cannot plan into) is
	// refused, never "started". The line comes once the progress shows
	// the plan, or with the result; an attach says so at once (the sweep
	// runs already).
	line := func(verb string, points, chunk int64) string {
		return fmt.Sprintf("isweep: %s sweep %s (%s): %d grid points in chunks of up to %d -> %s",
			verb, sub.SweepID, spec.Name, points, chunk, spec.Output)
	}
	var announce func(p *workflows.Progress) string
	if sub.Attached {
		fmt.Fprintln(os.Stderr, line("attached to running", grid.Len(), int64(grid.ChunkSize())))
	} else {
		announce = func(p *workflows.Progress) string {
			chunk := int64(grid.ChunkSize())
			if p != nil && p.ChunkSize > 0 {
				chunk = p.ChunkSize // the plan's, which stands once stored
			}
			return line("started", grid.Len(), chunk)
		}
	}
	res, err := watchAnnounced(ctx, c, sub.SweepID, showProgress, announce)
	if err != nil {
		return err
	}
	printResult(os.Stdout, res)
	if err := checkComplete(sub.SweepID, res); err != nil {
		return err
	}
	if !writeReport {
		return nil
	}
	return reportAfterRun(ctx, spec, sub.SweepID)
}

// checkComplete returns the exit error of a sweep that ended without
// completing.
func checkComplete(sweepID string, res workflows.SweepResult) error {
	why := control.ResultStatus(res)
	if why == control.SweepComplete {
		return nil
	}
	return fail(exitFailed, "sweep %s is %s; run the same command again to compute what is missing", sweepID, why)
}

// watch follows a sweep until it ends, drawing progress on stderr.
func watch(ctx context.Context, c client.Client, sweepID string, showProgress bool) (workflows.SweepResult, error) {
	return watchAnnounced(ctx, c, sweepID, showProgress, nil)
}

// watchAnnounced is watch that, when announce is not nil, writes the line
// it returns once the sweep is planned: when the progress first shows a
// phase past planning, or when the sweep ends other than by its plan's
// refusal (announce then gets no progress), whether or not the progress
// is drawn.
func watchAnnounced(ctx context.Context, c client.Client, sweepID string, showProgress bool, announce func(*workflows.Progress) string) (workflows.SweepResult, error) {
	bar := newProgressBar(os.Stderr, showProgress)
	bar.announce = announce
	res, err := control.Wait(ctx, c, sweepID, 500*time.Millisecond, bar.update)
	if bar.announce != nil && ctx.Err() == nil && (err == nil || !control.RefusedByPlan(err) && !temporal.IsCanceledError(err)) {
		bar.note(bar.announce(nil))
	}
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			return res, &exitError{code: exitInterrupted, err: fmt.Errorf("stopped; the sweep %s keeps its finished chunks: run the same command again to resume", sweepID)}
		}
		return res, sweepFailure(sweepID, err)
	}
	return res, nil
}

// sweepFailure turns the error of a failed sweep workflow into one line
// and the exit code of its cause: storage (4), an invalid spec or a sweep
// of other numerics (2), or the sweep failed (1).
func sweepFailure(sweepID string, err error) error {
	var appErr *temporal.ApplicationError
	message := fmt.Sprint(err)
	if errors.As(err, &appErr) {
		message = appErr.Message()
	}
	switch control.FailureOf(err) {
	case control.StoppedStorage:
		return fail(exitStorage, "sweep %s stopped: %s; what is stored stays: fix this and run the same command again", sweepID, message)
	case control.RefusedStorage:
		return fail(exitStorage, "sweep %s refused before any work: %s; fix this and run the same command again", sweepID, message)
	case control.RefusedSpec:
		return fail(exitBadInput, "sweep %s: invalid spec: %s", sweepID, message)
	case control.RefusedNumerics:
		return fail(exitBadInput, "%s", message)
	case control.Canceled:
		return fail(exitFailed, "sweep %s was cancelled; what is stored stays: run or submit its spec again to resume", sweepID)
	}
	if appErr != nil {
		return fail(exitFailed, "sweep %s failed: %s", sweepID, message)
	}
	return fail(exitFailed, "sweep %s: %v", sweepID, err)
}

func printResult(w io.Writer, res workflows.SweepResult) {
	c := res.Counts
	p := res.Plan
	fmt.Fprintf(w, "sweep %s (%s): %s\n", p.SweepID, p.Name, control.ResultStatus(res))
	points := fmt.Sprintf("%d", p.Points)
	if p.GridPoints > p.Points {
		points = fmt.Sprintf("%d (%d grid entries: repeated values and parameters a point ignores are one point)", p.Points, p.GridPoints)
	}
	// A submission is one workflow execution: it goes on across restarts
	// of isweep run with the same state (the hostile tester read "computed
	// now" as "by this command" and found 130 of 400 stored before it).
	fmt.Fprintf(w, "  points: %s; %d computed by this submission of the sweep (across restarts), %d found stored by earlier submissions, %d reused from earlier sweeps\n",
		points, c.Points-c.NotMembers, c.AlreadyDone, c.Reused)
	if c.NotMembers > 0 {
		fmt.Fprintf(w, "  also computed: %d points of earlier sweeps, in their chunks this sweep completed\n", c.NotMembers)
	}
	if res.Final.Status == results.SweepComplete && p.Reused > c.Reused {
		// The manifest's reused counts the sweep's points in earlier
		// sweeps' chunks, whoever computed them: say why it is larger.
		fmt.Fprintf(w, "  in earlier sweeps' chunks: %d of this sweep's points (the manifest's reused), %d of them computed by this submission into chunks those sweeps left unfinished\n", p.Reused, p.Reused-c.Reused)
	}
	for _, line := range otherNumericsLines(p.OtherNumerics, nil) {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "  computed by this submission: %v\n", c.StatusCounts)
	for _, line := range p.Near {
		fmt.Fprintf(w, "  note: %s\n", line)
	}
	for _, line := range p.Rejected {
		fmt.Fprintf(w, "  rejected by verification and computed again: %s\n", line)
	}
	for _, key := range res.Final.Replaced {
		fmt.Fprintf(w, "  %s no longer matched the stored chunks: replaced (the old one is in quarantine/)\n", key)
	}
	if len(res.FailedChunks) > 0 {
		fmt.Fprintf(w, "  failed chunks: %v\n", res.FailedChunks)
	}
	if res.Final.ManifestKey != "" {
		fmt.Fprintf(w, "  manifest: %s/%s\n", strings.TrimSuffix(p.Output, "/"), res.Final.ManifestKey)
		fmt.Fprintf(w, "  members:  %s/%s (join on point_id, sweep_id to select this sweep's rows)\n", strings.TrimSuffix(p.Output, "/"), res.Final.MembersKey)
	}
}
