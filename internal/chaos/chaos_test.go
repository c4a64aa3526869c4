// Package chaos is a seeded, time-bounded chaos test of isweep against real
// processes: `isweep run` (embedded server, folder output) and `isweep
// server` + `isweep worker` processes (S3 output on a real versitygw
// server). Each round runs a small sweep, and often an extension of it into
// the same output, while it SIGKILLs runs, workers and the server, stops
// S3, and damages stored chunks; then it runs every sweep to completion,
// repairs what `isweep verify` reports with -verify as a user would, and
// checks the invariants of an output (see checkOutput). It prints its seed
// and every action; a failure replays with the same decisions:
//
//	ISWEEP_CHAOS_SEED=1234 go test -run TestChaos -v ./internal/chaos
//
// Settings (environment):
//
//	ISWEEP_CHAOS_SEED      seed of the decisions (default: from the clock)
//	ISWEEP_CHAOS_DURATION  rounds start until this much time has passed (default 150s; at least two rounds)
//	ISWEEP_CHAOS_LAYOUT    embedded, cluster or both (default both, alternating at random)
//	ISWEEP_CHAOS_KEEP      a folder to keep the outputs, state and logs in (default: a temporary folder, removed)
//
// The test is skipped with -short.
package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/proctest"
)

// isweepBin is the isweep command, built once for the package.
var isweepBin string

func TestMain(m *testing.M) { os.Exit(proctest.RunWithBinary(m, "isweep-chaos-", &isweepBin)) }

// defaultDuration is how long rounds keep starting by default: about
// 2–4 minutes for the whole test on 2 cores, with the build.
const defaultDuration = 150 * time.Second

// Hang guards: generous bounds on things that take seconds; a process
// still running past one is a failure (never a timing assertion).
const (
	sweepGuard   = 4 * time.Minute // one isweep run or submit -watch
	commandGuard = 2 * time.Minute // submit, verify
	windowGuard  = 90 * time.Second
)

// heartbeat is the -heartbeat-timeout of every run and submit: a chunk
// orphaned by a kill is retried after it.
const heartbeat = "4s"

type config struct {
	seed     uint64
	duration time.Duration
	layouts  []string
	keep     string
}

func loadConfig(t *testing.T) config {
	c := config{seed: uint64(time.Now().UnixNano()), duration: defaultDuration, layouts: []string{"embedded", "cluster"}}
	if v := os.Getenv("ISWEEP_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ISWEEP_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		c.seed = s
	}
	if v := os.Getenv("ISWEEP_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			t.Fatalf("ISWEEP_CHAOS_DURATION=%q: want a duration like 150s or 30m", v)
		}
		c.duration = d
	}
	switch v := os.Getenv("ISWEEP_CHAOS_LAYOUT"); v {
	case "", "both":
	case "embedded", "cluster":
		c.layouts = []string{v}
	default:
		t.Fatalf("ISWEEP_CHAOS_LAYOUT=%q: want embedded, cluster or both", v)
	}
	c.keep = os.Getenv("ISWEEP_CHAOS_KEEP")
	return c
}

// harness runs the rounds and records what happens.
type harness struct {
	t     *testing.T
	cfg   config
	dir   string
	began time.Time
	round int

	emb *embeddedWorld
	clu *clusterWorld

	violations int
	stats      map[string]int
	// collect, when set, receives the violations instead of the test
	// failing (the checker's own test).
	collect *[]string
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos rounds against real processes: skipped with -short")
	}
	requirePython(t)
	cfg := loadConfig(t)
	fmt.Fprintf(os.Stderr, "chaos: seed %d, rounds start for %s (replay: ISWEEP_CHAOS_SEED=%d go test -run TestChaos -v ./internal/chaos)\n", cfg.seed, cfg.duration, cfg.seed)
	t.Logf("chaos: seed %d, duration %s, layouts %v", cfg.seed, cfg.duration, cfg.layouts)
	dir := t.TempDir()
	if cfg.keep != "" {
		dir = cfg.keep
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, cfg: cfg, dir: dir, began: time.Now(), stats: map[string]int{}}
	t.Cleanup(func() {
		t.Logf("chaos: %d rounds in %s; actions: %s", h.round, time.Since(h.began).Round(time.Second), h.statLine())
		msg := fmt.Sprintf("chaos: seed %d: %d rounds, %d violations; actions: %s", cfg.seed, h.round, h.violations, h.statLine())
		if t.Failed() {
			msg += fmt.Sprintf("\nchaos: FAILED; replay with ISWEEP_CHAOS_SEED=%d ISWEEP_CHAOS_DURATION=%s go test -run TestChaos -v ./internal/chaos", cfg.seed, cfg.duration)
		}
		fmt.Fprintln(os.Stderr, msg)
	})
	h.emb = newEmbeddedWorld(h)
	for h.round = 1; h.round <= 2 || time.Since(h.began) < cfg.duration; h.round++ {
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(h.round)))
		layout := cfg.layouts[rng.IntN(len(cfg.layouts))]
		if len(cfg.layouts) == 2 && h.round <= 2 {
			layout = cfg.layouts[h.round-1] // both layouts, whatever the duration
		}
		h.stats["round:"+layout]++
		switch layout {
		case "embedded":
			h.emb.round(rng)
		default:
			if h.clu == nil {
				h.clu = newClusterWorld(h)
			}
			h.clu.round(rng)
		}
		if h.violations > 0 || t.Failed() {
			t.Fatalf("chaos: round %d: %d violations (seed %d)", h.round, h.violations, cfg.seed)
		}
	}
	h.round--
}

// logf logs one action or observation with the round and the time.
func (h *harness) logf(format string, args ...any) {
	h.t.Helper()
	h.t.Logf("[r%02d %6.1fs] %s", h.round, time.Since(h.began).Seconds(), fmt.Sprintf(format, args...))
}

// violation records a broken invariant; the round ends the test.
func (h *harness) violation(format string, args ...any) {
	h.t.Helper()
	h.violations++
	if h.collect != nil {
		*h.collect = append(*h.collect, fmt.Sprintf(format, args...))
		return
	}
	h.t.Errorf("[r%02d %6.1fs] VIOLATION (seed %d): %s", h.round, time.Since(h.began).Seconds(), h.cfg.seed, fmt.Sprintf(format, args...))
}

func (h *harness) count(action string) { h.stats[action]++ }

func (h *harness) statLine() string {
	keys := make([]string, 0, len(h.stats))
	for k := range h.stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, h.stats[k])
	}
	return strings.Join(parts, " ")
}

// start starts the isweep binary (see proctest.Start) and logs it.
func (h *harness) start(label string, env []string, ready string, args ...string) *proctest.Proc {
	h.t.Helper()
	h.logf("start %s: isweep %s", label, strings.Join(args, " "))
	return proctest.Start(h.t, isweepBin, label, env, ready, args...)
}

// wait waits for p to exit within guard and returns its exit code; a
// process still running after guard is a hang, which ends the test.
func (h *harness) wait(p *proctest.Proc, guard time.Duration, why string) int {
	h.t.Helper()
	select {
	case <-p.Done():
	case <-time.After(guard):
		h.violation("hang: %s (%s) still running after %s; output:\n%s", p.Name(), why, guard, tail(p.Output(), 60))
		p.Kill()
		h.t.FailNow()
	}
	return p.Wait(time.Minute)
}

// runCommand starts a command, waits for it within guard and returns its
// exit code and output.
func (h *harness) runCommand(label string, guard time.Duration, args ...string) (int, string) {
	h.t.Helper()
	p := h.start(label, nil, "", args...)
	code := h.wait(p, guard, label)
	h.logf("%s: exit %d", label, code)
	return code, p.Output()
}

// sleep pauses the harness (the processes go on).
func (h *harness) sleep(rng *rand.Rand, most time.Duration) {
	d := time.Duration(rng.Int64N(int64(most)))
	h.logf("pause %s", d.Round(time.Millisecond))
	time.Sleep(d)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// ctx is the context of the harness's own store reads.
func ctx() context.Context { return context.Background() }

// subdir makes a folder under the harness's folder.
func (h *harness) subdir(parts ...string) string {
	d := filepath.Join(append([]string{h.dir}, parts...)...)
	if err := os.MkdirAll(d, 0o755); err != nil {
		h.t.Fatal(err)
	}
	return d
}
