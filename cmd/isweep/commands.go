package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
)

// version is the code version recorded with every point.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

func cmdVersion(context.Context, []string) error {
	fmt.Println("isweep", version(), runtime.Version())
	return nil
}

func parseFlags(fs *flag.FlagSet, args []string, nargs int, usage string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: isweep %s\n\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: exitOK, err: errors.New("")}
		}
		return &exitError{code: exitBadInput, err: errors.New("")}
	}
	if nargs >= 0 && fs.NArg() != nargs {
		fs.Usage()
		return fail(exitBadInput, "expected %d argument(s), got %d", nargs, fs.NArg())
	}
	return nil
}

func cmdPlan(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	sample := fs.Int("sample", 8, "points to integrate for the cost estimate (0: none)")
	budget := fs.Duration("sample-time", 5*time.Second, "most time spent integrating sample points")
	cores := fs.Int("cores", runtime.NumCPU(), "cores the estimate assumes")
	var reuse numericsList
	reuse.register(fs)
	if err := parseFlags(fs, args, 1, "plan [flags] SPEC"); err != nil {
		return err
	}
	if err := firstError(
		checkInt("sample", *sample, 0, -1, "points integrated for the cost estimate; 0 for none"),
		checkDuration("sample-time", *budget, time.Millisecond, 24*time.Hour, false, "most time spent integrating sample points"),
		checkInt("cores", *cores, 1, -1, "cores the estimate assumes"),
	); err != nil {
		return err
	}
	spec, err := loadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	grid, err := spec.Grid()
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	fmt.Printf("sweep:   %s (%s)\n", spec.SweepID(), spec.Name)
	if err := printPlanPreview(ctx, os.Stdout, spec, grid, reuse); err != nil {
		return err
	}
	fmt.Printf("output:  %s\n", spec.Output)
	if *sample <= 0 || grid.Len() == 0 {
		return nil
	}
	// Integrate a few points spread over the grid, within a time budget,
	// with the limits of the spec (those its points were validated with).
	// The integrations look at the context at short intervals, so a signal
	// (ctx) or the end of the budget (sctx) stops a sample promptly.
	sctx, cancel := context.WithTimeout(ctx, *budget)
	defer cancel()
	lim := grid.Limits().Dynamics()
	rng := rand.New(rand.NewPCG(1, 2))
	var total time.Duration
	n := 0
	for ; n < *sample; n++ {
		i := rng.Int64N(grid.Len())
		pt := grid.Point(i)
		start := time.Now()
		_, err := dynamics.RunWithLimits(sctx, pt.Params, lim)
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted while timing sample points; nothing was run")}
		}
		if sctx.Err() != nil {
			break
		}
		if err != nil {
			// The spec validated: a point it holds must run.
			return fail(exitFailed, "sample point %d (%s): %v", i, grid.Describe(i), err)
		}
		total += time.Since(start)
	}
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted, err: errors.New("stopped while integrating sample points; the plan above stands, without its cost")}
	}
	if n == 0 {
		fmt.Printf("cost:    more than %s for one point (no sample finished in time)\n", *budget)
		return nil
	}
	perPoint := total / time.Duration(n)
	coreSeconds := perPoint.Seconds() * float64(grid.Len())
	fmt.Printf("cost:    ~%s per point (mean of %d sampled), ~%.0f core-seconds; ~%s on %d cores\n",
		perPoint.Round(time.Microsecond), n, coreSeconds,
		(time.Duration(coreSeconds / float64(*cores) * float64(time.Second))).Round(time.Second), *cores)
	return nil
}

// maxPreviewPoints is the largest grid whose points plan identifies
// (about a second per million on 2 cores): repeated entries, and the
// points earlier sweeps in the output already hold.
const maxPreviewPoints = 10_000_000

// printPlanPreview prints the points and chunks the sweep would compute in
// its output: distinct points, those earlier sweeps there already hold,
// and the chunks of the rest. It reads the output without creating it.
func printPlanPreview(ctx context.Context, w io.Writer, spec *schemas.Spec, grid *schemas.Grid, reuse []int) error {
	if grid.Len() > maxPreviewPoints {
		fmt.Fprintf(w, "points:  %d grid entries (repeated entries and points stored by earlier sweeps are found when it runs: above %d entries plan does not look)\n", grid.Len(), maxPreviewPoints)
		fmt.Fprintf(w, "chunks:  %d of up to %d points\n", grid.Chunks(), grid.ChunkSize())
		return nil
	}
	var st store.Store
	note := ""
	if exists, err := outputExists(spec.Output); err != nil || exists {
		if st, err = store.Open(ctx, spec.Output, clientStoreOptions()); err != nil {
			st, note = nil, fmt.Sprintf(": cannot read the output to look for points stored before (%v)", err)
		}
	}
	pv, err := activities.PreviewPlan(ctx, st, spec, reuse)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
		}
		if store.IsPermanent(err) {
			return fail(exitStorage, "output %s: %v", spec.Output, err)
		}
		return fail(exitFailed, "plan: %v", err)
	}
	points := fmt.Sprintf("%d", pv.Points)
	if pv.GridPoints > pv.Points {
		points += fmt.Sprintf(" (%d grid entries: %d repeat another entry's point)", pv.GridPoints, pv.GridPoints-pv.Points)
	}
	fmt.Fprintf(w, "points:  %s\n", points)
	for _, line := range pv.Near {
		fmt.Fprintf(w, "note:    %s\n", line)
	}
	if note != "" {
		fmt.Fprintf(w, "reuse:   unknown%s\n", note)
	}
	if pv.Stored {
		resumes := "; a run resumes it"
		if pv.Refused != "" {
			resumes = ""
		}
		fmt.Fprintf(w, "stored:  planned in this output before (numerics version %d): %d of its %d chunks done%s\n", pv.Numerics, pv.OwnChunksDone, pv.OwnChunks, resumes)
		if len(reuse) > 0 {
			fmt.Fprintf(w, "note:    -reuse-numerics applies when a sweep is first planned: this one was planned before, and reuses what its plan says\n")
		}
	}
	if pv.Reused > 0 {
		fmt.Fprintf(w, "reused:  %d points stored by earlier sweeps in the output (%s), not computed again\n", pv.Reused, strings.Join(pv.ReusedFrom, ", "))
	}
	for _, line := range otherNumericsLines(pv.OtherNumerics, reuse) {
		fmt.Fprintf(w, "numerics: %s\n", line)
	}
	fmt.Fprintf(w, "chunks:  %d of up to %d points (%d points to compute)\n", pv.OwnChunks-pv.OwnChunksDone, pv.ChunkSize, pv.ToCompute)
	if pv.Refused != "" {
		return fail(exitBadInput, "%s", pv.Refused)
	}
	return nil
}

// outputExists reports whether a folder output exists; S3 outputs are
// reported as existing (they are read, never created, by plan).
func outputExists(output string) (bool, error) {
	if strings.HasPrefix(output, "s3://") {
		return true, nil
	}
	_, err := os.Stat(output)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// startCPUProfile starts writing a CPU profile to path, if path is not
// empty; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fail(exitBadInput, "-cpuprofile %s: %v; give a writable file path", path, pathReason(err))
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fail(exitFailed, "-cpuprofile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func cmdServer(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	db := fs.String("db", filepath.Join(".isweep", "temporal.db"), "SQLite file of the server (created if missing)")
	ip := fs.String("ip", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 7233, "frontend gRPC port")
	namespace := fs.String("namespace", "default", "namespace to register")
	logLevel := fs.String("log-level", "warn", "server log level: debug, info, warn, error")
	uiPort := fs.Int("ui-port", 8233, "port of the Temporal Web UI (0: a free port, -1: no UI)")
	logPath := fs.String("log", "", "file for the server's log lines (default: server.log beside -db; - for stderr)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the server to this file, from start to stop (default none)")
	if err := parseFlags(fs, args, 0, "server [flags]"); err != nil {
		return err
	}
	if err := firstError(
		checkInt("port", *port, 0, 65535, "the frontend's port; 0 for a free one"),
		checkInt("ui-port", *uiPort, -1, 65535, "the Web UI's port; 0 for a free one, -1 for no UI"),
		checkLogLevel(*logLevel),
	); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if err := os.MkdirAll(filepath.Dir(*db), 0o755); err != nil {
		return fail(exitBadInput, "-db %s: cannot create its folder: %v", *db, pathReason(err))
	}
	logOut := io.Writer(os.Stderr)
	if *logPath != "-" {
		if *logPath == "" {
			*logPath = filepath.Join(filepath.Dir(*db), "server.log")
		}
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fail(exitBadInput, "-log %s: %v", *logPath, pathReason(err))
		}
		defer f.Close()
		logOut = f
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		DBPath: *db, IP: *ip, FrontendPort: *port, Namespace: *namespace,
		LogLevel: *logLevel, LogOutput: logOut,
	})
	if err != nil {
		return serverError(err, map[string]string{"DBPath": "-db %s", "IP": "-ip %s", "FrontendPort": "-port %s", "Namespace": "-namespace %s", "LogLevel": "-log-level %s"})
	}
	defer func() {
		if serr := srv.Stop(); serr != nil && err == nil {
			err = fail(exitFailed, "stop the server: %v", serr)
		}
	}()
	fmt.Printf("isweep server: Temporal frontend on %s, namespace %s, database %s\n", srv.FrontendAddress(), srv.Namespace(), *db)
	if *uiPort >= 0 {
		// The UI is a convenience: without it the server still serves.
		ui, err := devserver.StartUI(ctx, devserver.UIOptions{Frontend: srv.FrontendAddress(), IP: *ip, Port: *uiPort, Namespace: srv.Namespace()})
		if err != nil {
			fmt.Fprintf(os.Stderr, "isweep server: no Web UI: %v\n", err)
		} else {
			defer ui.Stop()
			fmt.Printf("isweep server: Temporal Web UI on http://%s\n", ui.Address())
		}
	}
	if ip := net.ParseIP(*ip); ip != nil && ip.IsUnspecified() {
		// Listening on every address: this machine's own address is
		// not known here, and 127.0.0.1 only serves workers on it.
		_, port, _ := net.SplitHostPort(srv.FrontendAddress())
		fmt.Printf("isweep server: set TEMPORAL_ADDRESS=%s on this machine, or THIS-MACHINE'S-ADDRESS:%s on the others, for workers and submits; Ctrl-C stops\n", srv.FrontendAddress(), port)
	} else {
		fmt.Printf("isweep server: set TEMPORAL_ADDRESS=%s for workers and submits; Ctrl-C stops\n", srv.FrontendAddress())
	}
	<-ctx.Done()
	// The UI (deferred) stops first, then the server; the log file is
	// closed last, once the server writes no more to it.
	return nil
}

func cmdWorker(ctx context.Context, args []string) error {
	// The signals are heard here as well as by ctx, to name them and to
	// hear a second one while the worker stops.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var cfg workerConfig
	cfg.register(fs)
	if err := parseFlags(fs, args, 0, "worker [flags]\n\nPolls a Temporal server for sweep work. Settings come from the flags, then Temporal's\nenvironment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS…),\nthen a profile of Temporal's configuration file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE),\nISWEEP_TASK_QUEUE, ISWEEP_CONCURRENCY, ISWEEP_METRICS_ADDR; S3 from AWS_* variables or a\ncredentials file. -check validates them all without connecting.\n\n"+workerExitCodes+"\n\nFlags:"); err != nil {
		return err
	}
	opts, res, err := cfg.validate(cfg.check)
	if err != nil {
		if u, ok := err.(interface{ Unwrap() []error }); ok && len(u.Unwrap()) > 1 {
			return fail(exitBadInput, "invalid configuration:\n%v", err)
		}
		return fail(exitBadInput, "%v", err)
	}
	if cfg.check {
		cfg.printConfig(os.Stdout, opts, res)
		fmt.Println("configuration ok")
		return nil
	}
	for _, err := range unknownEnv() {
		fmt.Fprintf(os.Stderr, "isweep worker: warning: %v\n", err)
	}
	stopProfile, err := startCPUProfile(cfg.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	opts.Logger = quietLogger(os.Stderr, slog.LevelWarn)
	sdkMetrics := worker.NewSDKMetrics()
	opts.MetricsHandler = sdkMetrics.Handler()
	c, err := connectWorker(ctx, opts, cfg.connectTimeout, os.Stderr)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "isweep worker: stopped before it connected")
			return nil
		}
		return err
	}
	defer c.Close()
	monitor := worker.NewMonitor(c)
	monitor.Registry().MustRegister(sdkMetrics)
	drainer := worker.NewDrainer()
	fatal := make(chan error, 1)
	w, err := worker.New(c, worker.Options{
		TaskQueue:    cfg.tf.taskQueue,
		Concurrency:  cfg.concurrency,
		CodeVersion:  version(),
		Store:        store.Options{CAFile: cfg.s3CAFile},
		Interceptors: []interceptor.WorkerInterceptor{monitor.Interceptor(), drainer.Interceptor()},
		StopTimeout:  cfg.grace + handBackTime,
		OnFatalError: func(err error) {
			select {
			case fatal <- err:
			default:
			}
		},
	})
	if err != nil {
		return err
	}
	if cfg.metricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return fail(exitBadInput, "-metrics-addr %s: %v; choose a free port or leave it empty", cfg.metricsAddr, err)
		}
		srv := &http.Server{Handler: monitor.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(os.Stderr, "isweep worker: health and metrics on http://%s (/healthz, /readyz, /metrics)\n", ln.Addr())
	}
	if err := w.Start(); err != nil {
		if isNamespaceNotFound(err) {
			return namespaceMissing(opts.HostPort, opts.Namespace)
		}
		return fail(exitUnreachable, "start polling task queue %s: %v", cfg.tf.taskQueue, err)
	}
	monitor.SetPolling(true)
	fmt.Fprintf(os.Stderr, "isweep worker: polling task queue %s with %d cores\n", cfg.tf.taskQueue, cfg.concurrency)
	quitIdle := make(chan struct{})
	defer close(quitIdle)
	var why string
	select {
	case sig := <-signals:
		why = signalName(sig)
	case <-ctx.Done():
		// A signal that came before this command listened.
		why = "stop signal"
	case <-idleFor(drainer, cfg.idleExit, quitIdle):
		why = fmt.Sprintf("no work for %s (-idle-exit)", shortDuration(cfg.idleExit))
	case err := <-fatal:
		monitor.SetPolling(false)
		drainer.HandBack()
		w.Stop()
		if isNamespaceNotFound(err) {
			return namespaceMissing(opts.HostPort, opts.Namespace)
		}
		return fail(exitFailed, "stopped polling: %v", err)
	}
	monitor.SetPolling(false)
	stopWorker(w, drainer, cfg.grace, why, signals, os.Stderr)
	return nil
}

func cmdSubmit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	var sf sweepFlags
	sf.register(fs)
	follow := fs.Bool("watch", false, "follow the sweep until it ends")
	if err := parseFlags(fs, args, 1, "submit [flags] SPEC"); err != nil {
		return err
	}
	if err := firstError(tf.check(), sf.check()); err != nil {
		return err
	}
	spec, err := loadSpec(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if _, err := checkStore(ctx, spec); err != nil {
		return err
	}
	c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer c.Close()
	if *follow {
		return submitAndWatch(ctx, c, spec, tf.taskQueue, sf.options(), true, false)
	}
	sub, err := control.Submit(ctx, c, spec, tf.taskQueue, sf.options())
	if err != nil {
		var other *control.OtherOutputError
		if errors.As(err, &other) {
			return fail(exitBadInput, "%v", err)
		}
		return fail(exitUnreachable, "%v", err)
	}
	if sub.Attached {
		fmt.Fprintf(os.Stderr, "isweep: sweep %s is already running; attached\n", sub.SweepID)
	}
	fmt.Println(sub.SweepID)
	return nil
}

// sweepCommand runs f on a connected client for commands taking SWEEP.
func sweepCommand(ctx context.Context, name string, args []string, f func(ctx context.Context, tf *temporalFlags, sweep string) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	if err := parseFlags(fs, args, 1, name+" [flags] SWEEP"); err != nil {
		return err
	}
	if err := tf.check(); err != nil {
		return err
	}
	return f(ctx, &tf, fs.Arg(0))
}

func cmdStatus(ctx context.Context, args []string) error {
	return sweepCommand(ctx, "status", args, func(ctx context.Context, tf *temporalFlags, sweep string) error {
		c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelError))
		if err != nil {
			return err
		}
		defer c.Close()
		st, err := control.Describe(ctx, c, sweep)
		if err != nil {
			return fail(exitFailed, "%v", err)
		}
		if st.State != control.StateRunning {
			// A closed sweep's result is in its history: no query, which
			// would wait for a worker to replay it.
			// Its exit code is the sweep's, as watch's is: 0 only for a
			// complete sweep.
			// The sweep's own status, in the words list uses
			// (control.SweepStatus), not its workflow's state alone: a
			// completed workflow may hold an incomplete sweep.
			res, _, err := control.Result(ctx, c, sweep)
			if err != nil {
				fmt.Printf("%s %s\n", st.WorkflowID, control.FailureStatus(st.State, err))
				return sweepFailure(sweep, err)
			}
			cn := res.Counts
			fmt.Printf("%s %s: %d points (%d computed, %d already done, %d reused); %v (workflow %s)\n",
				st.WorkflowID, control.ResultStatus(res), res.Plan.Points, cn.Points-cn.NotMembers, cn.AlreadyDone, cn.Reused, cn.StatusCounts, st.State)
			return checkComplete(sweep, res)
		}
		qctx, cancel := context.WithTimeout(ctx, control.QueryTimeout)
		p, err := control.Progress(qctx, c, sweep)
		cancel()
		if err == nil {
			fmt.Printf("%s %s %s\n", st.WorkflowID, st.State, progressLine(p))
			return nil
		}
		fmt.Printf("%s %s name=%s output=%s started=%s (no worker answered for its progress)\n", st.WorkflowID, st.State, st.Name, st.Output, st.StartTime.Format(time.RFC3339))
		if failures, err := control.PendingFailures(ctx, c, sweep); err == nil {
			if line := failureLine(failures); line != "" {
				fmt.Println(line)
			}
		}
		return nil
	})
}

func cmdWatch(ctx context.Context, args []string) error {
	return sweepCommand(ctx, "watch", args, func(ctx context.Context, tf *temporalFlags, sweep string) error {
		c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelError))
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := control.Describe(ctx, c, sweep); err != nil {
			return fail(exitFailed, "%v", err)
		}
		res, err := watch(ctx, c, sweep, true)
		if err != nil {
			return err
		}
		printResult(os.Stdout, res)
		return checkComplete(sweep, res)
	})
}

func cmdList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var tf temporalFlags
	tf.register(fs)
	limit := fs.Int("limit", 50, "most sweeps listed (0: all)")
	if err := parseFlags(fs, args, 0, "list [flags]"); err != nil {
		return err
	}
	if err := firstError(tf.check(), checkInt("limit", *limit, 0, -1, "most sweeps listed; 0 for all")); err != nil {
		return err
	}
	c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelError))
	if err != nil {
		return err
	}
	defer c.Close()
	sweeps, err := control.List(ctx, c, *limit)
	if err != nil {
		return fail(exitUnreachable, "%v", err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SWEEP\tSTATUS\tNAME\tSTARTED\tOUTPUT")
	for _, s := range sweeps {
		// What the sweep's result says (complete, incomplete: …, refused:
		// …), as status and watch say it; Temporal's "completed" alone
		// read as done for a sweep with failed chunks.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.WorkflowID, control.SweepStatus(ctx, c, s), s.Name, s.StartTime.Local().Format(time.DateTime), s.Output)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Interrupted, the rows from there on may say Temporal's state only:
	// exit 130, as every command stopped by a signal.
	return ctx.Err()
}

func signalCommand(name string, f func(ctx context.Context, tf *temporalFlags, sweep string) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		return sweepCommand(ctx, name, args, f)
	}
}

var (
	cmdPause  = signalCommand("pause", controlAction(control.Pause, "paused"))
	cmdResume = signalCommand("resume", controlAction(control.Resume, "resumed"))
	cmdCancel = signalCommand("cancel", controlAction(control.Cancel, "cancel requested for"))
)

// controlAction does act to a sweep and prints verb and the sweep once it
// succeeded; a sweep that is not running (or does not exist) is an error
// naming its state (exit 1).
func controlAction(act func(context.Context, client.Client, string) error, verb string) func(ctx context.Context, tf *temporalFlags, sweep string) error {
	return func(ctx context.Context, tf *temporalFlags, sweep string) error {
		c, err := tf.dial(ctx, quietLogger(os.Stderr, slog.LevelError))
		if err != nil {
			return err
		}
		defer c.Close()
		if err := act(ctx, c, sweep); err != nil {
			return fail(exitFailed, "%v", err)
		}
		fmt.Printf("%s %s\n", verb, sweep)
		return nil
	}
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkLogLevel refuses a -log-level the server does not know.
func checkLogLevel(level string) error {
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
		return nil
	}
	return fail(exitBadInput, "-log-level %s is not a level: give debug, info, warn or error", level)
}
