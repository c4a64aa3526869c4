package devserver

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// maxActivitiesPerWorkflow keeps each benchmark workflow's history far below
// the server's event limits (about three events per activity).
const maxActivitiesPerWorkflow = 1000

// fanOutWorkflow runs n "Noop" activities with at most inFlight pending at a
// time and returns the sum of their results, 0+1+…+(n-1).
func fanOutWorkflow(ctx workflow.Context, n, inFlight int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var pending []workflow.Future
	sum := 0
	collect := func() error {
		var v int
		if err := pending[0].Get(ctx, &v); err != nil {
			return err
		}
		pending = pending[1:]
		sum += v
		return nil
	}
	for i := range n {
		if len(pending) == inFlight {
			if err := collect(); err != nil {
				return 0, err
			}
		}
		pending = append(pending, workflow.ExecuteActivity(ctx, "Noop", i))
	}
	for len(pending) > 0 {
		if err := collect(); err != nil {
			return 0, err
		}
	}
	return sum, nil
}

func noopActivity(_ context.Context, i int) (int, error) { return i, nil }

// BenchmarkTrivialActivities measures activities per second through the
// embedded server on a SQLite file, with one worker in the same process.
// Each op is one activity; in-flight is how many one workflow keeps pending.
func BenchmarkTrivialActivities(b *testing.B) {
	s, err := Start(context.Background(), Options{DBPath: filepath.Join(b.TempDir(), "temporal.db"), LogOutput: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Stop()
	c, err := s.Dial(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench", worker.Options{})
	w.RegisterWorkflowWithOptions(fanOutWorkflow, workflow.RegisterOptions{Name: "FanOut"})
	w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: "Noop"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	run := func(b *testing.B, n, inFlight int) {
		b.Helper()
		ctx := context.Background()
		for done := 0; done < n; {
			batch := min(n-done, maxActivitiesPerWorkflow)
			we, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench"}, "FanOut", batch, inFlight)
			if err != nil {
				b.Fatal(err)
			}
			var sum int
			if err := we.Get(ctx, &sum); err != nil {
				b.Fatal(err)
			}
			if want := batch * (batch - 1) / 2; sum != want {
				b.Fatalf("sum of %d activity results: got: %d want: %d", batch, sum, want)
			}
			done += batch
		}
	}
	// Warm the task queue and the worker's caches once.
	run(b, 10, 10)

	for _, inFlight := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("in-flight=%d", inFlight), func(b *testing.B) {
			start := time.Now()
			run(b, b.N, inFlight)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "activities/s")
		})
	}
}

// BenchmarkStart measures Start until the frontend answers, and Stop, on a
// new file, on a file that already has the schema, in memory, and on an
// existing file without the worker service.
func BenchmarkStart(b *testing.B) {
	for _, mode := range []string{"new-file", "existing-file", "memory", "existing-file-without-worker-service"} {
		b.Run("db="+mode, func(b *testing.B) {
			dir := b.TempDir()
			var startTotal, stopTotal time.Duration
			for i := range b.N {
				opts := Options{LogOutput: io.Discard}
				switch mode {
				case "new-file":
					opts.DBPath = filepath.Join(dir, fmt.Sprintf("t%d.db", i))
				case "existing-file":
					opts.DBPath = filepath.Join(dir, "t.db")
				case "existing-file-without-worker-service":
					opts.DBPath = filepath.Join(dir, "t.db")
					opts.WithoutWorkerService = true
				}
				t0 := time.Now()
				s, err := Start(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := s.Stop(); err != nil {
					b.Fatal(err)
				}
				startTotal += t1.Sub(t0)
				stopTotal += time.Since(t1)
			}
			b.ReportMetric(float64(startTotal.Milliseconds())/float64(b.N), "ms-start/op")
			b.ReportMetric(float64(stopTotal.Milliseconds())/float64(b.N), "ms-stop/op")
		})
	}
}

// BenchmarkIdleRSS starts a server in its own process on a SQLite file,
// leaves it idle, and reports its resident memory and the CPU it uses per
// second of idling (from the second to the fifth second after start).
func BenchmarkIdleRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	var rssTotal, cpuTotal float64
	for range b.N {
		child := startChild(b, childSpec{DBPath: filepath.Join(b.TempDir(), "temporal.db")})
		pid := child.cmd.Process.Pid
		time.Sleep(2 * time.Second)
		cpu0, err := cpuSeconds(pid)
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		cpu1, err := cpuSeconds(pid)
		if err != nil {
			b.Fatal(err)
		}
		rss, err := residentMiB(pid)
		if err != nil {
			b.Fatal(err)
		}
		rssTotal += rss
		cpuTotal += (cpu1 - cpu0) / 3
		child.stop(b)
	}
	b.ReportMetric(rssTotal/float64(b.N), "MiB-RSS")
	b.ReportMetric(1000*cpuTotal/float64(b.N), "idle-CPU-ms/s")
}

// cpuSeconds reads the user plus system CPU time of a process from
// /proc/<pid>/stat, assuming the usual 100 clock ticks per second.
func cpuSeconds(pid int) (float64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	// utime and stime are fields 14 and 15 of the line, 12 and 13 here.
	var ticks float64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return ticks / 100, nil
}

// residentMiB reads VmRSS of a process from /proc.
func residentMiB(pid int) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest)
			kib, err := strconv.ParseFloat(fields[0], 64)
			if err != nil {
				return 0, err
			}
			return kib / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
