// Command sweep measures isweep's orchestration efficiency: it runs sweeps
// of a given size and point kind through the isweep command and reports the
// wall time, the summed per-point compute time, the orchestration
// efficiency (compute / (wall × cores)), the points per second, the peak
// memory of the Temporal server and of the worker, the largest workflow
// history, and the Parquet bytes written.
//
// Two layouts are measured:
//
//   - separate: `isweep server` and `isweep worker` as two processes, the
//     sweep submitted and awaited from this program with internal/control;
//     the wall time runs from the submit to the workflow's result. The
//     peak memory of each process is VmHWM from /proc/PID/status, read just
//     before the process is stopped; the largest history is read from the
//     server (every run of the sweep's workflow, continue-as-new included).
//   - run: the one-process `isweep run -quiet -no-report` (embedded server
//     and worker); the wall time is the whole process, server start
//     included, and its peak memory the child's maximum resident set.
//
// The ideal is measured in the same run: before the sweeps of each size,
// and again after them, this program integrates the same points (or, above
// 200,000 points, an evenly strided sample of 100,000, scaled up) with
// internal/dynamics in a bare loop on one goroutine per core: no
// orchestration, no storage; a short loop is repeated and the fastest
// counts, and the faster of before and after is the ideal. How much slower
// the other was is reported as the drift: on a shared host the machine's
// speed moves, and an efficiency is only as good as that. The efficiency is
// that bare compute over wall × cores. The per-point wall_seconds column of
// the stored points table is summed too (which also checks that every point
// of the grid is stored exactly once), but its sum is not the ideal: a
// point's wall time includes the time its goroutine waited while other
// work of the worker (encoding, storing, gRPC) held the core, so it grows
// with exactly the overhead being measured.
//
// Usage:
//
//	go build -o /tmp/isweep ./cmd/isweep
//	go run ./bench/sweep -isweep /tmp/isweep -kinds flow2,online4 -sizes 1000,10000,100000 -out results.jsonl
//
// Each finished sweep appends one JSON object (a Measurement) to -out and
// prints one line on stderr.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/workflows"
)

// pointKind is a family of points a sweep is made of: the fixed parameters
// and the axes; the seed axis grows with the sweep's size.
type pointKind struct {
	name string
	// fixed is the spec's fixed block (YAML flow style).
	fixed string
	// scales is the init_scale axis; perSeed the points per seed value
	// (algorithms × scales).
	scales  string
	perSeed int
}

var kinds = map[string]pointKind{
	// flow2 is the cheap point: the mean dynamics, n = 2 (about 0.07 ms).
	"flow2": {
		name:    "flow2",
		fixed:   "{mode: flow, n: 2, input_spectrum: {min: 0.5, max: 2, spacing: log}, input_basis: random, tol: 0.01}",
		scales:  "{logspace: [0, 2, 50]}",
		perSeed: 100,
	},
	// flow2rec2 is flow2 recording two trajectory samples a point (the
	// start and the end) instead of ~46: how much of a cheap point's
	// overhead is its trajectory's storage.
	"flow2rec2": {
		name:    "flow2rec2",
		fixed:   "{mode: flow, n: 2, record: 2, input_spectrum: {min: 0.5, max: 2, spacing: log}, input_basis: random, tol: 0.01}",
		scales:  "{logspace: [0, 2, 50]}",
		perSeed: 100,
	},
	// online4 is the costlier point: 2000 online steps, n = 4 (about 0.7 ms).
	"online4": {
		name:    "online4",
		fixed:   "{mode: online, n: 4, eta: 0.01, horizon: 2000, record: 20, input_spectrum: {min: 0.5, max: 2, spacing: log}, input_basis: random, tol: 0.01}",
		scales:  "{logspace: [0, 1, 5]}",
		perSeed: 10,
	},
	// online16 is a point of a few milliseconds: 5000 online steps, n = 16
	// (about 5 ms), nearer the cost of the trials of Ray Tune's published
	// 10,000-trial benchmark (1 s each) than the two above.
	"online16": {
		name:    "online16",
		fixed:   "{mode: online, n: 16, eta: 0.01, horizon: 5000, record: 20, input_spectrum: {min: 0.5, max: 2, spacing: log}, input_basis: random, tol: 0.01}",
		scales:  "{logspace: [0, 1, 5]}",
		perSeed: 10,
	},
}

// specText returns the spec of a sweep of size points of kind k into
// output. chunk 0 leaves the spec's chunk out (the default applies).
func specText(k pointKind, size int64, chunk int, output string) (string, error) {
	if size%int64(k.perSeed) != 0 {
		return "", fmt.Errorf("size: %d is not a multiple of %d, the points per seed of kind %s; use a multiple", size, k.perSeed, k.name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: isweep/v1\nname: sweepbench-%s-%d\noutput: %s\n", k.name, size, output)
	if chunk > 0 {
		fmt.Fprintf(&b, "chunk: %d\n", chunk)
	}
	fmt.Fprintf(&b, "grid:\n  algorithm: [direct, interneuron]\n  init_scale: %s\n  seed: {range: [0, %d, 1]}\n", k.scales, size/int64(k.perSeed))
	fmt.Fprintf(&b, "fixed: %s\n", k.fixed)
	return b.String(), nil
}

// Measurement is one measured sweep.
type Measurement struct {
	Layout string `json:"layout"` // "separate" or "run"
	Kind   string `json:"kind"`
	Points int64  `json:"points"`
	// ChunkSize and Chunks as planned by the sweep.
	ChunkSize int64 `json:"chunk_size"`
	Chunks    int64 `json:"chunks"`
	Cores     int   `json:"cores"`

	WallSeconds float64 `json:"wall_seconds"`
	// BareComputeSeconds is the summed per-point time of the bare loop
	// (scaled up from BareSampled points when sampled): the faster of the
	// loops run before the sweeps of a size and after them
	// (BareBeforeSeconds, BareAfterSeconds). BareDrift is how much slower
	// the slower of the two was (0.03: 3 %): the machine's own drift over
	// the measurement, which bounds how far Efficiency can be trusted.
	// Efficiency is BareComputeSeconds / (WallSeconds × Cores).
	BareComputeSeconds float64 `json:"bare_compute_seconds"`
	BareBeforeSeconds  float64 `json:"bare_before_seconds"`
	BareAfterSeconds   float64 `json:"bare_after_seconds"`
	BareDrift          float64 `json:"bare_drift"`
	BareSampled        int64   `json:"bare_sampled"`
	Efficiency         float64 `json:"efficiency"`
	// ComputeSeconds sums wall_seconds over the stored points table and
	// StoredEfficiency is ComputeSeconds / (WallSeconds × Cores);
	// ReportedComputeSeconds is the workflow's own sum (separate only).
	ComputeSeconds         float64 `json:"compute_seconds"`
	StoredEfficiency       float64 `json:"stored_efficiency"`
	ReportedComputeSeconds float64 `json:"reported_compute_seconds,omitempty"`
	PointsPerSecond        float64 `json:"points_per_second"`
	StoredPoints           int64   `json:"stored_points"`

	// Peak resident memory in bytes: server and worker (separate), or the
	// one process (run).
	ServerPeakBytes  int64 `json:"server_peak_bytes,omitempty"`
	WorkerPeakBytes  int64 `json:"worker_peak_bytes,omitempty"`
	ProcessPeakBytes int64 `json:"process_peak_bytes,omitempty"`
	// CPU seconds (user + system) of each process over the sweep.
	ServerCPUSeconds  float64 `json:"server_cpu_seconds,omitempty"`
	WorkerCPUSeconds  float64 `json:"worker_cpu_seconds,omitempty"`
	ProcessCPUSeconds float64 `json:"process_cpu_seconds,omitempty"`

	// Runs is the number of workflow runs (continue-as-new), MaxHistory
	// the most events of any of them (separate only).
	Runs       int `json:"runs,omitempty"`
	MaxHistory int `json:"max_history_events,omitempty"`

	ParquetBytes int64  `json:"parquet_bytes"`
	ParquetFiles int64  `json:"parquet_files"`
	LoadStart    string `json:"load_start"`
	LoadEnd      string `json:"load_end"`
	Date         string `json:"date"`
}

func main() {
	bin := flag.String("isweep", "", "the isweep command (required; go build -o PATH ./cmd/isweep)")
	kindList := flag.String("kinds", "flow2", "point kinds, comma-separated: flow2 (0.07 ms a point), flow2rec2 (flow2 with two trajectory samples a point), online4 (0.7 ms), online16 (5 ms)")
	sizeList := flag.String("sizes", "1000,10000", "sweep sizes in points, comma-separated")
	layoutList := flag.String("layouts", "separate,run", "layouts, comma-separated: separate (server and worker processes), run (one isweep run process)")
	chunk := flag.Int("chunk", 0, "points per chunk written into the spec (default 0: the spec leaves chunk out)")
	work := flag.String("work", "", "scratch folder for databases and outputs (default: a new temporary folder, removed at the end)")
	keep := flag.Bool("keep", false, "keep each sweep's output and database")
	out := flag.String("out", "", "append one JSON object per sweep to this file (default: stdout)")
	timeout := flag.Duration("timeout", 2*time.Hour, "longest time one sweep may take")
	flag.StringVar(&profileDir, "profile", "", "folder to write CPU profiles of each sweep's worker and server to, as worker-KIND-SIZE.prof and server-KIND-SIZE.prof (separate layout; default none)")
	flag.BoolVar(&timeline, "timeline", false, "print the workflow's events (separate layout) with their times from the submit, to see where the wall time goes")
	flag.Parse()
	if *bin == "" {
		fail("-isweep: the path of the isweep command is required; build it with go build -o /tmp/isweep ./cmd/isweep")
	}
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			fail("-profile: %v", err)
		}
	}
	if *work == "" {
		dir, err := os.MkdirTemp("", "isweep-sweepbench-")
		if err != nil {
			fail("%v", err)
		}
		*work = dir
		if !*keep {
			defer os.RemoveAll(dir)
		}
	}
	var sink io.Writer = os.Stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fail("-out: %v", err)
		}
		defer f.Close()
		sink = f
	}
	var sizes []int64
	for _, s := range strings.Split(*sizeList, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n <= 0 {
			fail("-sizes: %q is not a positive number of points; use for example 1000,10000", s)
		}
		sizes = append(sizes, n)
	}
	for _, kn := range strings.Split(*kindList, ",") {
		k, ok := kinds[strings.TrimSpace(kn)]
		if !ok {
			fail("-kinds: %q is unknown; use flow2, flow2rec2, online4 or online16", kn)
		}
		for _, size := range sizes {
			before, sampled, err := bareCompute(context.Background(), k, size)
			if err != nil {
				fail("%s %d: bare compute: %v", k.name, size, err)
			}
			var measured []Measurement
			for _, layout := range strings.Split(*layoutList, ",") {
				dir := filepath.Join(*work, fmt.Sprintf("%s-%d-%s", k.name, size, layout))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					fail("%v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				var m Measurement
				switch layout {
				case "separate":
					m, err = measureSeparate(ctx, *bin, dir, k, size, *chunk)
				case "run":
					m, err = measureRun(ctx, *bin, dir, k, size, *chunk)
				default:
					err = fmt.Errorf("-layouts: %q is unknown; use separate or run", layout)
				}
				cancel()
				if err != nil {
					fail("%s %d %s: %v", k.name, size, layout, err)
				}
				if !*keep {
					os.RemoveAll(dir)
				}
				measured = append(measured, m)
			}
			// The loop again after the sweeps: a machine whose speed drifts
			// (a shared host) shows it as a difference between the two.
			after, _, err := bareCompute(context.Background(), k, size)
			if err != nil {
				fail("%s %d: bare compute: %v", k.name, size, err)
			}
			bare := min(before, after)
			for _, m := range measured {
				m.BareComputeSeconds, m.BareBeforeSeconds, m.BareAfterSeconds, m.BareSampled = bare, before, after, sampled
				m.BareDrift = max(before, after)/bare - 1
				m.Efficiency = bare / (m.WallSeconds * float64(m.Cores))
				body, _ := json.Marshal(m)
				fmt.Fprintln(sink, string(body))
				fmt.Fprintf(os.Stderr, "sweepbench: %-8s %-7s %8d points chunk %5d: wall %8.2fs bare compute %8.2fs (drift %.1f%%) efficiency %.3f (stored %8.2fs: %.3f) %8.0f points/s server %s %.2fs worker %s %.2fs process %s %.2fs history %d (%d runs) load %s -> %s\n",
					m.Layout, k.name, size, m.ChunkSize, m.WallSeconds, m.BareComputeSeconds, 100*m.BareDrift, m.Efficiency, m.ComputeSeconds, m.StoredEfficiency, m.PointsPerSecond,
					mib(m.ServerPeakBytes), m.ServerCPUSeconds, mib(m.WorkerPeakBytes), m.WorkerCPUSeconds, mib(m.ProcessPeakBytes), m.ProcessCPUSeconds, m.MaxHistory, m.Runs, m.LoadStart, m.LoadEnd)
			}
		}
	}
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sweepbench: "+format+"\n", args...)
	os.Exit(1)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// bareSample is the most points bareCompute integrates; above twice as
// many it takes an evenly strided sample.
const bareSample = 100_000

// bareCompute integrates the points of a sweep of size points of kind k
// with internal/dynamics in a bare loop, one goroutine per core, and
// returns the summed per-point time in seconds (scaled up to the whole
// sweep when sampled) and the number of points integrated.
func bareCompute(ctx context.Context, k pointKind, size int64) (seconds float64, sampled int64, err error) {
	text, err := specText(k, size, 0, "bare-output")
	if err != nil {
		return 0, 0, err
	}
	spec, err := schemas.Parse([]byte(text), "bare.yaml")
	if err != nil {
		return 0, 0, err
	}
	grid, err := spec.Grid()
	if err != nil {
		return 0, 0, err
	}
	stride := int64(1)
	if size > 2*bareSample {
		stride = size / bareSample
	}
	sampled = (size + stride - 1) / stride
	// The loop runs with a large heap, as a worker does, so that garbage
	// collection does not slow it more than it slows a worker's points.
	defer debug.SetGCPercent(debug.SetGCPercent(2000))
	// Short loops are repeated (up to 200,000 points in all, at most 5
	// times, and not again once they have taken bareRepeatWall) and the
	// fastest counts: the ideal is what the machine can do.
	reps := int(max(1, min(5, 2*bareSample/sampled)))
	best := math.Inf(1)
	loopStart := time.Now()
	for r := range reps {
		if r > 0 && time.Since(loopStart) > bareRepeatWall {
			break
		}
		var ru0 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		wall0 := time.Now()
		s, err := bareLoop(ctx, grid, sampled, stride)
		if err != nil {
			return 0, 0, err
		}
		var ru1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()).Seconds()
		fmt.Fprintf(os.Stderr, "sweepbench: bare loop %d/%d: %d points, timed %.3fs, process CPU %.3fs, wall %.3fs\n", r+1, reps, sampled, s, cpu, time.Since(wall0).Seconds())
		best = min(best, s)
	}
	return best * float64(size) / float64(sampled), sampled, nil
}

// bareRepeatWall is the wall time after which the bare loop is not
// repeated: a 10,000-point sweep of costly points is measured once or twice.
const bareRepeatWall = 20 * time.Second

// bareLoop integrates points 0, stride, 2·stride, … (sampled of them) on
// one goroutine per core and returns their summed time in seconds.
func bareLoop(ctx context.Context, grid *schemas.Grid, sampled, stride int64) (float64, error) {
	var next atomic.Int64
	lim := grid.Limits().Dynamics() // as the worker runs the points
	sums := make([]float64, runtime.NumCPU())
	errs := make([]error, len(sums))
	var wg sync.WaitGroup
	for w := range sums {
		wg.Go(func() {
			for {
				j := next.Add(1) - 1
				if j >= sampled {
					return
				}
				pt := grid.Point(j * stride)
				start := time.Now()
				if _, err := dynamics.RunWithLimits(ctx, pt.Params, lim); err != nil {
					errs[w] = fmt.Errorf("point %d: %w", j*stride, err)
					return
				}
				sums[w] += time.Since(start).Seconds()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	var seconds float64
	for _, s := range sums {
		seconds += s
	}
	return seconds, nil
}

// writeSpec writes the spec of a sweep into dir and parses it back.
func writeSpec(dir string, k pointKind, size int64, chunk int) (string, *schemas.Spec, error) {
	text, err := specText(k, size, chunk, filepath.Join(dir, "output"))
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", nil, err
	}
	spec, err := schemas.ParseFile(path)
	if err != nil {
		return "", nil, err
	}
	if err := spec.Validate(); err != nil {
		return "", nil, err
	}
	return path, spec, nil
}

// child is a started isweep process.
type child struct {
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

// startChild starts bin with args, logging to logPath, and waits until a
// line of its output contains ready.
func startChild(ctx context.Context, bin, logPath, ready string, args ...string) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1), log: logFile}
	readyCh := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if !seen && strings.Contains(sc.Text(), ready) {
				seen = true
				close(readyCh)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		c.done <- err
	}()
	select {
	case <-readyCh:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("%s exited before it was ready (%v); see %s", filepath.Base(bin), err, logPath)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	case <-time.After(3 * time.Minute):
		c.stop()
		return nil, fmt.Errorf("%s not ready after 3 minutes; see %s", filepath.Base(bin), logPath)
	}
}

// stop interrupts the child and waits for it.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.log.Close()
}

// procStatus reads VmHWM (peak resident memory, bytes) of a process and its
// CPU seconds (user + system).
func procStatus(pid int) (peak int64, cpu float64, err error) {
	body, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				peak = kb << 10
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return peak, 0, err
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) > 12 {
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cpu = (ut + st) / 100 // USER_HZ is 100 on Linux
	}
	return peak, cpu, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// timeline and profileDir are the -timeline and -profile flags.
var (
	timeline   bool
	profileDir string
)

// measureSeparate runs one sweep on an `isweep server` and an `isweep
// worker` process.
func measureSeparate(ctx context.Context, bin, dir string, k pointKind, size int64, chunk int) (Measurement, error) {
	m := Measurement{Layout: "separate", Kind: k.name, Points: size, Cores: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339)}
	_, spec, err := writeSpec(dir, k, size, chunk)
	if err != nil {
		return m, err
	}
	port, err := freePort()
	if err != nil {
		return m, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serverArgs := []string{"server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port)}
	if profileDir != "" {
		serverArgs = append(serverArgs, "-cpuprofile", filepath.Join(profileDir, fmt.Sprintf("server-%s-%d.prof", k.name, size)))
	}
	server, err := startChild(ctx, bin, filepath.Join(dir, "server.log"), "Temporal frontend on", serverArgs...)
	if err != nil {
		return m, err
	}
	defer server.stop()
	workerArgs := []string{"worker", "-address", addr}
	if profileDir != "" {
		workerArgs = append(workerArgs, "-cpuprofile", filepath.Join(profileDir, fmt.Sprintf("worker-%s-%d.prof", k.name, size)))
	}
	worker, err := startChild(ctx, bin, filepath.Join(dir, "worker.log"), "polling task queue", workerArgs...)
	if err != nil {
		return m, err
	}
	defer worker.stop()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quietLogger{}})
	if err != nil {
		return m, err
	}
	defer c.Close()

	_, serverCPU0, _ := procStatus(server.cmd.Process.Pid)
	_, workerCPU0, _ := procStatus(worker.cmd.Process.Pid)
	m.LoadStart = loadAvg()
	start := time.Now()
	sub, err := control.Submit(ctx, c, spec, "isweep", workflows.Options{})
	if err != nil {
		return m, err
	}
	res, err := control.Wait(ctx, c, sub.SweepID, time.Hour, nil)
	m.WallSeconds = time.Since(start).Seconds()
	m.LoadEnd = loadAvg()
	if err != nil {
		return m, err
	}
	if res.Final.Status != "complete" {
		return m, fmt.Errorf("sweep %s is %s (failed chunks %v)", sub.SweepID, res.Final.Status, res.FailedChunks)
	}
	var serverCPU1, workerCPU1 float64
	m.ServerPeakBytes, serverCPU1, _ = procStatus(server.cmd.Process.Pid)
	m.WorkerPeakBytes, workerCPU1, _ = procStatus(worker.cmd.Process.Pid)
	m.ServerCPUSeconds, m.WorkerCPUSeconds = serverCPU1-serverCPU0, workerCPU1-workerCPU0
	m.ChunkSize, m.Chunks = res.Plan.ChunkSize, res.Plan.Chunks
	m.ReportedComputeSeconds = res.Counts.ComputeSeconds
	if timeline {
		if err := printTimeline(ctx, c, sub.WorkflowID, start); err != nil {
			return m, err
		}
	}
	if m.Runs, m.MaxHistory, err = histories(ctx, c, sub.WorkflowID); err != nil {
		return m, err
	}
	if err := readOutput(&m, spec.Output); err != nil {
		return m, err
	}
	return m, nil
}

// measureRun runs one sweep with the one-process `isweep run`.
func measureRun(ctx context.Context, bin, dir string, k pointKind, size int64, chunk int) (Measurement, error) {
	m := Measurement{Layout: "run", Kind: k.name, Points: size, Cores: runtime.NumCPU(), Date: time.Now().UTC().Format(time.RFC3339)}
	path, spec, err := writeSpec(dir, k, size, chunk)
	if err != nil {
		return m, err
	}
	cmd := exec.CommandContext(ctx, bin, "run", "-quiet", "-no-report", "-state", filepath.Join(dir, "state"), path)
	logFile, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		return m, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	m.LoadStart = loadAvg()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return m, fmt.Errorf("isweep run: %v; see %s", err, logFile.Name())
	}
	m.WallSeconds = time.Since(start).Seconds()
	m.LoadEnd = loadAvg()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.ProcessPeakBytes = ru.Maxrss << 10 // kilobytes on Linux
	}
	m.ProcessCPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	grid, err := spec.Grid()
	if err != nil {
		return m, err
	}
	m.ChunkSize, m.Chunks = int64(grid.ChunkSize()), grid.Chunks()
	if plan, err := readPlan(spec); err == nil {
		m.ChunkSize, m.Chunks = plan.ChunkSize, (plan.Planned+plan.ChunkSize-1)/plan.ChunkSize
	}
	if err := readOutput(&m, spec.Output); err != nil {
		return m, err
	}
	return m, nil
}

// readPlan reads the stored plan of a sweep (its chunk size may differ from
// the spec's when the spec leaves chunk out).
func readPlan(spec *schemas.Spec) (struct {
	ChunkSize int64 `json:"chunk_size"`
	Planned   int64 `json:"planned"`
}, error) {
	var p struct {
		ChunkSize int64 `json:"chunk_size"`
		Planned   int64 `json:"planned"`
	}
	body, err := os.ReadFile(filepath.Join(spec.Output, "sweeps", spec.SweepID(), "plan.json"))
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(body, &p)
}

// readOutput reads every points part back, sums wall_seconds, checks that
// each point of the grid is stored once, and counts the Parquet bytes.
func readOutput(m *Measurement, output string) error {
	seen := make(map[string]struct{}, m.Points)
	alloc := memory.NewGoAllocator()
	err := filepath.WalkDir(output, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m.ParquetBytes += info.Size()
		m.ParquetFiles++
		rel, _ := filepath.Rel(output, path)
		if !strings.HasPrefix(filepath.ToSlash(rel), "points/") {
			return nil
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rows, err := results.DecodePoints(body, alloc)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range rows {
			if _, dup := seen[r.PointID]; dup {
				return fmt.Errorf("point %s is stored twice", r.PointID)
			}
			seen[r.PointID] = struct{}{}
			m.ComputeSeconds += r.WallSeconds
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.StoredPoints = int64(len(seen))
	if m.StoredPoints != m.Points {
		return fmt.Errorf("the points table holds %d points, want %d", m.StoredPoints, m.Points)
	}
	m.StoredEfficiency = m.ComputeSeconds / (m.WallSeconds * float64(m.Cores))
	m.PointsPerSecond = float64(m.Points) / m.WallSeconds
	return nil
}

// histories returns the number of runs of a workflow and the most events
// in any one of them.
func histories(ctx context.Context, c client.Client, workflowID string) (runs, most int, err error) {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf("WorkflowId = '%s'", workflowID),
			NextPageToken: token,
		})
		if err != nil {
			return 0, 0, err
		}
		for _, ex := range resp.GetExecutions() {
			runs++
			n := 0
			it := c.GetWorkflowHistory(ctx, workflowID, ex.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				if _, err := it.Next(); err != nil {
					return 0, 0, err
				}
				n++
			}
			most = max(most, n)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if runs == 0 {
		return 0, 0, errors.New("no run of workflow " + workflowID + " is listed")
	}
	return runs, most, nil
}

// printTimeline prints the events of the latest run of a workflow with
// their times from start, on stderr. Activity events carry the activity's
// type and, for RunChunk, its position among the chunks.
func printTimeline(ctx context.Context, c client.Client, workflowID string, start time.Time) error {
	types := map[int64]string{}
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		what := ev.GetEventType().String()
		switch {
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			types[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			what += " " + types[ev.GetEventId()]
		case ev.GetActivityTaskStartedEventAttributes() != nil:
			what += " " + types[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			what += " " + types[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]
		}
		fmt.Fprintf(os.Stderr, "timeline: %8.1f ms  %4d %s\n", ev.GetEventTime().AsTime().Sub(start).Seconds()*1000, ev.GetEventId(), what)
	}
	return nil
}

// quietLogger drops the Temporal client's log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
