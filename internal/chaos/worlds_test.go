package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/workflows"
)

// checkOutputText fails on what no command may print, whatever happened:
// a Go panic or a goroutine dump.
func (h *harness) checkOutputText(label, out string) {
	for _, bad := range []string{"panic:", "goroutine "} {
		if strings.Contains(out, bad) {
			h.violation("%s printed %q:\n%s", label, bad, tail(out, 60))
		}
	}
	if strings.Contains(out, "write error:") {
		// TestStrayWriteErrorAfterRun: a known bug, counted, not failed.
		h.count("stray-write-error")
	}
}

// ---- embedded: isweep run, folder outputs ----

// embeddedWorld runs sweeps with `isweep run` (embedded server and worker
// in one process) into folder outputs. Two state folders let a second
// sweep run at the same time as the first, into the same output, as two
// users on one machine would.
type embeddedWorld struct {
	h       *harness
	states  [2]string
	outputs []*output
	// dormant holds, per state folder, the sweeps whose run there was
	// killed: their workflow waits in that server's database, and resumes
	// in whatever process next runs a server on it.
	dormant [2]map[string]*sweepRec
}

func newEmbeddedWorld(h *harness) *embeddedWorld {
	return &embeddedWorld{h: h, states: [2]string{h.subdir("embedded", "state0"), h.subdir("embedded", "state1")},
		dormant: [2]map[string]*sweepRec{{}, {}}}
}

// running is an isweep run process of a sweep.
type running struct {
	sw    *sweepRec
	p     *proctest.Proc
	state int
	// dup marks a second run of a sweep, in the other state folder, while
	// the first runs: its workflow plans while the first one's markers
	// are stored already, so the marker count cannot time a kill.
	dup bool
}

func (w *embeddedWorld) startRun(sw *sweepRec, state int, verify bool) *running {
	args := []string{"run", "-state", w.states[state], "-quiet", "-no-report", "-heartbeat-timeout", heartbeat}
	if verify {
		args = append(args, "-verify")
	}
	args = append(args, sw.path)
	label := fmt.Sprintf("run %s (state%d)", sw.def.Name, state)
	return &running{sw: sw, p: w.h.start(label, nil, "", args...), state: state}
}

// killable reports whether killing r cannot strand a PlanSweep or
// FinalizeSweep activity (a run killed in one waits 10 minutes before it
// is tried again: TestKilledWhilePlanningStallsTheNextRun): r is not a
// duplicate, and its server hosts no other sweep's dormant workflow,
// which could be planning or finalizing now; r's own sweep is then timed
// by its markers (waitWindow).
func (w *embeddedWorld) killable(r *running) bool {
	if r.dup {
		w.h.logf("no kill: %s is a second run of its sweep", r.p.Name())
		return false
	}
	for id, sw := range w.dormant[r.state] {
		if id != r.sw.id {
			w.h.logf("no kill: the server of %s also resumes the workflow of %s", r.p.Name(), sw.def.Name)
			return false
		}
	}
	return true
}

func (w *embeddedWorld) round(rng *rand.Rand) {
	h := w.h
	o, a, b := h.chooseSweeps(rng, &w.outputs, func(n int) *output {
		return h.newOutput(rng, "embedded", n, h.subdir("embedded", fmt.Sprintf("out%d", n)), true)
	})
	a = o.add(a)
	if b != nil {
		b = o.add(b)
	}
	quarantineBefore := h.quarantined(o)
	var damages []*damage
	killed := map[*proctest.Proc]bool{}
	procs := []*running{w.startRun(a, 0, false)}
	bStarted := b == nil
	live := func() []*running {
		var out []*running
		for _, r := range procs {
			select {
			case <-r.p.Done():
			default:
				out = append(out, r)
			}
		}
		return out
	}
	for range 1 + rng.IntN(4) {
		switch r := rng.Float64(); {
		case r < 0.4:
			l := live()
			if len(l) == 0 {
				h.logf("kill run: nothing running")
				continue
			}
			target := l[rng.IntN(len(l))]
			if !w.killable(target) || !h.waitWindow(o, target.sw, target.p.Done()) {
				continue
			}
			target.p.Kill()
			killed[target.p] = true
			w.dormant[target.state][target.sw.id] = target.sw
			h.count("kill-run")
			h.logf("SIGKILL %s", target.p.Name())
			if rng.Float64() < 0.6 {
				h.sleep(rng, 2*time.Second)
				procs = append(procs, w.startRun(target.sw, target.state, false))
			}
		case r < 0.5:
			// The same sweep run by a second server into the same output
			// (another user, another machine): two workflows, one plan.
			l := live()
			if len(l) == 0 {
				h.logf("duplicate run: nothing running")
				continue
			}
			target := l[rng.IntN(len(l))]
			other := 1 - target.state
			busy := false
			for _, x := range l {
				busy = busy || x.state == other
			}
			if busy {
				h.logf("duplicate run: state%d is busy", other)
				continue
			}
			h.count("duplicate-run")
			dup := w.startRun(target.sw, other, false)
			dup.dup = true
			procs = append(procs, dup)
		case r < 0.65 && !bStarted:
			// In a state folder no server holds (one server per database:
			// a second one is refused), beside the first if it runs.
			var busy [2]bool
			for _, l := range live() {
				busy[l.state] = true
			}
			state := slices.Index(busy[:], false)
			if state < 0 {
				h.logf("extend: both state folders are busy; B runs after")
				continue
			}
			h.count("extend-while-running")
			procs = append(procs, w.startRun(b, state, false))
			bStarted = true
		case r < 0.82:
			if d := h.corrupt(rng, o); d != nil {
				damages = append(damages, d)
			}
		default:
			h.sleep(rng, 1500*time.Millisecond)
		}
	}
	// The processes left running end on their own.
	for _, r := range procs {
		if killed[r.p] {
			continue
		}
		code := h.wait(r.p, sweepGuard, "a run of the round")
		delete(w.dormant[r.state], r.sw.id) // its workflow ended
		h.logf("%s: exit %d: %s", r.p.Name(), code, lastLine(r.p.Output()))
		h.checkOutputText(r.p.Name(), r.p.Output())
		if len(damages) > 0 {
			// Damage found at finalize leaves the sweep incomplete (1).
			h.checkExit(r.p.Name(), code, r.p.Output(), 1)
		} else {
			h.checkExit(r.p.Name(), code, r.p.Output())
		}
	}
	// Every sweep of the round to completion, as a user would run it
	// again: first where a killed run left its workflow, then in state0.
	for state := range w.dormant {
		for _, sw := range w.dormant[state] {
			w.complete(sw, state, false, len(damages) > 0)
		}
	}
	for _, sw := range []*sweepRec{a, b} {
		if sw != nil {
			w.complete(sw, 0, false, len(damages) > 0)
		}
	}
	h.verifyAndRepair(o, damages, quarantineBefore, func(sw *sweepRec) { w.complete(sw, 0, true, true) })
	h.checkOutput(o)
}

// complete runs the sweep with isweep run in a state folder until it
// exits 0 (at most four times). Exit 1 (incomplete) is expected only
// after damage.
func (w *embeddedWorld) complete(sw *sweepRec, state int, verify, damaged bool) {
	h := w.h
	for attempt := 1; attempt <= 4; attempt++ {
		r := w.startRun(sw, state, verify)
		code := h.wait(r.p, sweepGuard, "run to completion")
		delete(w.dormant[state], sw.id)
		out := r.p.Output()
		h.logf("%s: exit %d: %s", r.p.Name(), code, lastLine(out))
		h.checkOutputText(r.p.Name(), out)
		if code == 0 {
			if !strings.Contains(out, ": complete") {
				h.violation("%s exits 0 without saying the sweep is complete:\n%s", r.p.Name(), tail(out, 20))
			}
			return
		}
		if code != 1 || !damaged {
			h.violation("%s: exit %d, want 0 (no damage explains it):\n%s", r.p.Name(), code, tail(out, 40))
		}
	}
	h.violation("sweep %s did not complete in four runs", sw.def.Name)
}

// ---- cluster: isweep server + isweep worker processes, S3 outputs ----

// clusterWorld runs an `isweep server` process and two `isweep worker`
// processes against a versitygw S3 server; sweeps are submitted with
// `isweep submit`.
type clusterWorld struct {
	h       *harness
	s3      *s3test.Server
	db      string
	port    int
	addr    string
	server  *proctest.Proc
	workers []*proctest.Proc
	killed  map[*proctest.Proc]bool
	started int
	outputs []*output
	client  client.Client
	// cancelled reports a cancel in this round: a watch may attach to the
	// cancelled workflow before it closes, and exit 1 saying so.
	cancelled bool
}

func newClusterWorld(h *harness) *clusterWorld {
	w := &clusterWorld{h: h, killed: map[*proctest.Proc]bool{}}
	h.logf("start S3 (versitygw)")
	w.s3 = s3test.Start(h.t)
	for _, kv := range w.s3.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.t.Setenv(k, v)
	}
	w.db = filepath.Join(h.subdir("cluster"), "temporal.db")
	w.port = fixedPort(h)
	w.addr = fmt.Sprintf("127.0.0.1:%d", w.port)
	w.workers = make([]*proctest.Proc, 2)
	w.ensureUp()
	w.client = proctest.Dial(h.t, w.addr)
	return w
}

// safeWindow waits until killing a worker or the server cannot strand a
// PlanSweep or FinalizeSweep activity (TestKilledWhilePlanningStallsTheNextRun):
// the target sweep runs, and every running workflow on the server is
// past planning with at least two chunks to go. It asks the server; a
// marker count cannot tell a sweep cancelled and submitted again, whose
// new run plans while the old one's markers are stored.
func (w *clusterWorld) safeWindow(target *sweepRec, submitted []*sweepRec) bool {
	h := w.h
	deadline := time.Now().Add(windowGuard)
	why := ""
	for time.Now().Before(deadline) {
		ok, reason, over := w.safeNow(target, submitted)
		if ok {
			h.logf("kill window: %s", reason)
			return true
		}
		if over {
			h.logf("no kill window: %s", reason)
			return false
		}
		why = reason
		time.Sleep(50 * time.Millisecond)
	}
	h.logf("no kill window within %s: %s", windowGuard, why)
	return false
}

// safeNow reports whether now is a safe moment to kill (see safeWindow),
// and over when the target sweep's workflow is no longer running. It
// looks at the workflows the server lists as running and at the round's
// submitted sweeps (the list lags a start).
func (w *clusterWorld) safeNow(target *sweepRec, submitted []*sweepRec) (ok bool, reason string, over bool) {
	c, cancel := context.WithTimeout(ctx(), 5*time.Second)
	defer cancel()
	sweeps, err := control.List(c, w.client, 0)
	if err != nil {
		return false, fmt.Sprintf("list: %v", err), false
	}
	ids := map[string]bool{}
	for _, s := range sweeps {
		if s.State == "running" {
			ids[s.WorkflowID] = true
		}
	}
	for _, sw := range submitted {
		ids[workflows.WorkflowID(sw.id)] = true
	}
	targetRuns := false
	for id := range ids {
		d, err := control.Describe(c, w.client, id)
		if err != nil {
			return false, fmt.Sprintf("describe %s: %v", id, err), false
		}
		if d.State != "running" {
			continue
		}
		p, err := control.Progress(c, w.client, id)
		if err != nil {
			return false, fmt.Sprintf("progress of %s: %v", id, err), false
		}
		if p.Phase != "running" && p.Phase != "paused" {
			return false, fmt.Sprintf("%s is %s", id, p.Phase), false
		}
		if p.ChunksTotal-p.ChunksDone < 2 {
			return false, fmt.Sprintf("%s has %d of %d chunks done", id, p.ChunksDone, p.ChunksTotal), false
		}
		if id == workflows.WorkflowID(target.id) {
			targetRuns = true
			reason = fmt.Sprintf("%s has %d of %d chunks done", target.def.Name, p.ChunksDone, p.ChunksTotal)
		}
	}
	if !targetRuns {
		return false, target.def.Name + " is not running", true
	}
	return true, reason, false
}

func alive(p *proctest.Proc) bool {
	if p == nil {
		return false
	}
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// ensureUp starts the server and the workers that are not running. A
// process that exited without being killed is a violation.
func (w *clusterWorld) ensureUp() {
	h := w.h
	if !alive(w.server) {
		if w.server != nil && !w.killed[w.server] {
			h.violation("the isweep server exited by itself:\n%s", tail(w.server.Output(), 40))
		}
		w.startServer()
	}
	for i, p := range w.workers {
		if alive(p) {
			continue
		}
		if p != nil && !w.killed[p] {
			h.violation("%s exited by itself:\n%s", p.Name(), tail(p.Output(), 40))
		}
		w.started++
		w.workers[i] = h.start(fmt.Sprintf("worker-%d", w.started), nil, "polling task queue", "worker", "-address", w.addr, "-concurrency", "1")
	}
}

// startServer starts `isweep server` on the world's database and port and
// waits for it to serve. A start that fails is logged with the server's
// log and tried again (five times at most, then it is a violation).
func (w *clusterWorld) startServer() {
	h := w.h
	for attempt := 1; attempt <= 5; attempt++ {
		p := h.start("server", nil, "", "server", "-db", w.db, "-port", strconv.Itoa(w.port), "-ui-port", "-1")
		deadline := time.Now().Add(proctest.ReadyTimeout)
		for !strings.Contains(p.Output(), "Temporal frontend on") && alive(p) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if strings.Contains(p.Output(), "Temporal frontend on") {
			w.server = p
			return
		}
		if alive(p) {
			h.violation("isweep server not serving after %s:\n%s", proctest.ReadyTimeout, tail(p.Output(), 20))
			h.t.FailNow()
		}
		code := p.Wait(time.Minute)
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(w.db), "server.log"))
		h.count("server-start-failed")
		h.logf("isweep server exited (%d) before serving, attempt %d; output:\n%s\nserver.log:\n%s", code, attempt, tail(p.Output(), 20), tail(string(log), 10))
		time.Sleep(time.Second)
	}
	h.violation("isweep server did not start in five attempts")
	h.t.FailNow()
}

// fixedPort returns a free port below the kernel's ephemeral range: the
// server restarts on the same port, and a port from that range may be
// taken meanwhile as the local port of some outgoing connection.
func fixedPort(h *harness) int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	for range 100 {
		port := 10000 + rand.IntN(max(low-10000, 1000))
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	return proctest.FreePort(h.t)
}

// submit submits a sweep (without waiting for it).
func (w *clusterWorld) submit(sw *sweepRec) {
	h := w.h
	for attempt := 1; attempt <= 3; attempt++ {
		code, out := h.runCommand("submit "+sw.def.Name, commandGuard, "submit", "-address", w.addr, "-heartbeat-timeout", heartbeat, sw.path)
		h.checkOutputText("submit", out)
		if code == 0 {
			if !strings.Contains(out, sw.id) {
				h.violation("isweep submit %s exits 0 without printing sweep id %s:\n%s", sw.path, sw.id, out)
			}
			return
		}
		h.violation("isweep submit %s: exit %d with the server and S3 up:\n%s", sw.path, code, out)
		w.ensureUp()
	}
}

func (w *clusterWorld) round(rng *rand.Rand) {
	h := w.h
	w.ensureUp()
	o, a, b := h.chooseSweeps(rng, &w.outputs, func(n int) *output {
		return h.newOutput(rng, "cluster", n, w.s3.Location(fmt.Sprintf("chaos/o%d", n)), false)
	})
	a = o.add(a)
	if b != nil {
		b = o.add(b)
	}
	quarantineBefore := h.quarantined(o)
	var damages []*damage
	w.cancelled = false
	w.submit(a)
	submitted := []*sweepRec{a}
	bSubmitted := b == nil
	// window waits until a submitted sweep is mid-way (see safeWindow).
	window := func() bool {
		if !alive(w.workers[0]) && !alive(w.workers[1]) {
			w.ensureUp()
		}
		return w.safeWindow(submitted[rng.IntN(len(submitted))], submitted)
	}
	for range 1 + rng.IntN(4) {
		switch r := rng.Float64(); {
		case r < 0.25:
			if !window() {
				continue
			}
			i := rng.IntN(len(w.workers))
			if !alive(w.workers[i]) {
				h.logf("kill worker: %s is down already", w.workers[i].Name())
				continue
			}
			w.workers[i].Kill()
			w.killed[w.workers[i]] = true
			h.count("kill-worker")
			h.logf("SIGKILL %s", w.workers[i].Name())
			if rng.Float64() < 0.6 {
				h.sleep(rng, 3*time.Second)
				w.ensureUp()
			}
		case r < 0.4:
			if !window() {
				continue
			}
			w.server.Kill()
			w.killed[w.server] = true
			h.count("kill-server")
			h.logf("SIGKILL server")
			h.sleep(rng, 3*time.Second)
			w.ensureUp()
		case r < 0.55:
			h.count("s3-outage")
			h.logf("stop S3")
			w.s3.Stop()
			h.sleep(rng, 5*time.Second)
			if err := w.s3.Restart(); err != nil {
				h.t.Fatalf("restart S3: %v", err)
			}
			h.logf("S3 started again")
		case r < 0.65 && !bSubmitted:
			h.count("extend-while-running")
			w.submit(b)
			submitted = append(submitted, b)
			bSubmitted = true
		case r < 0.72:
			// Pause (chunks in flight are cancelled), then resume.
			sw := submitted[rng.IntN(len(submitted))]
			h.count("pause")
			code, out := h.runCommand("pause "+sw.def.Name, commandGuard, "pause", "-address", w.addr, sw.id)
			h.checkOutputText("pause", out)
			h.sleep(rng, 2*time.Second)
			code2, out2 := h.runCommand("resume "+sw.def.Name, commandGuard, "resume", "-address", w.addr, sw.id)
			h.checkOutputText("resume", out2)
			if code != code2 {
				h.logf("pause exit %d, resume exit %d: %s", code, code2, lastLine(out+out2))
			}
		case r < 0.78:
			// Cancel (what is stored stays), and often submit again at once:
			// the new run plans a sweep that has markers while the others run.
			sw := submitted[rng.IntN(len(submitted))]
			h.count("cancel")
			w.cancelled = true
			code, out := h.runCommand("cancel "+sw.def.Name, commandGuard, "cancel", "-address", w.addr, sw.id)
			h.checkOutputText("cancel", out)
			if code != 0 {
				h.logf("cancel: %s", lastLine(out))
			}
			if rng.Float64() < 0.7 {
				h.sleep(rng, time.Second)
				w.submit(sw)
			}
		case r < 0.88:
			if d := h.corrupt(rng, o); d != nil {
				damages = append(damages, d)
			}
		default:
			h.sleep(rng, 1500*time.Millisecond)
		}
	}
	w.ensureUp()
	for _, sw := range []*sweepRec{a, b} {
		if sw != nil {
			w.complete(sw, false, len(damages) > 0)
		}
	}
	h.verifyAndRepair(o, damages, quarantineBefore, func(sw *sweepRec) { w.complete(sw, true, true) })
	h.checkOutput(o)
}

// complete submits the sweep with -watch until it exits 0 (attaching to
// the running workflow, or starting one that computes what is missing).
func (w *clusterWorld) complete(sw *sweepRec, verify, damaged bool) {
	h := w.h
	for attempt := 1; attempt <= 4; attempt++ {
		args := []string{"submit", "-address", w.addr, "-watch", "-heartbeat-timeout", heartbeat}
		if verify {
			args = append(args, "-verify")
		}
		args = append(args, sw.path)
		p := h.start("watch "+sw.def.Name, nil, "", args...)
		code := h.wait(p, sweepGuard, "submit -watch to completion")
		out := p.Output()
		h.logf("%s: exit %d: %s", p.Name(), code, lastLine(out))
		h.checkOutputText(p.Name(), out)
		if code == 0 {
			if !strings.Contains(out, ": complete") {
				h.violation("%s exits 0 without saying the sweep is complete:\n%s", p.Name(), tail(out, 20))
			}
			return
		}
		if code != 1 || !(damaged || w.cancelled && strings.Contains(out, "was cancelled")) {
			h.violation("%s: exit %d, want 0 (no damage or cancel explains it):\n%s", p.Name(), code, tail(out, 40))
		}
		w.ensureUp()
	}
	h.violation("sweep %s did not complete in four submits", sw.def.Name)
}
