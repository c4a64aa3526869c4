package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/workflows"
)

// slurmSpec has 40 chunks of 15 online points, about 150 core-seconds
// (0.25 s a point on this machine): more than a worker computes before its
// one-minute time limit with room to spare, so that chunks are left for
// the array after it (with 90 core-seconds the sweep could end while SLURM
// started the array).
const slurmSpec = `apiVersion: isweep/v1
name: slurm
output: %s
chunk: 15
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 300, 1]}
fixed: {mode: online, n: 16, init_scale: 3, eta: 0.001, horizon: 320000, tol: 0.000000001, record: 10}
`

// slurmCluster is a single-node SLURM (munged, slurmctld, slurmd) on this
// machine, in a folder of its own, stopped when the test ends.
type slurmCluster struct {
	dir string
	env []string // SLURM_CONF, for sbatch, scancel, scontrol
}

// startSlurm starts a SLURM cluster of one node with 4 CPUs, or skips the
// test saying why it cannot.
func startSlurm(t *testing.T) *slurmCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SLURM test: needs root to run slurmd and munged (CI runs as root)")
	}
	for _, bin := range []string{"munged", "slurmctld", "slurmd", "sbatch"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("SLURM test: %s not installed; apt-get install -y slurm-wlm munge (scripts/test does as root)", bin)
		}
	}
	host, err := exec.Command("hostname", "-s").Output()
	if err != nil {
		t.Skipf("SLURM test: hostname -s: %v", err)
	}
	node := strings.TrimSpace(string(host))
	dir, err := os.MkdirTemp("", "isweep-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"state", "spool", "munge"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 1024)
	for i := range key {
		key[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(filepath.Join(dir, "munge", "munge.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "munge", "munge.socket")
	conf := filepath.Join(dir, "slurm.conf")
	ctldPort, slurmdPort := proctest.FreePort(t), proctest.FreePort(t)
	writeFile(t, dir, "slurm.conf", fmt.Sprintf(`ClusterName=isweep
SlurmctldHost=%[1]s
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
AuthType=auth/munge
AuthInfo=socket=%[5]s
CredType=cred/munge
StateSaveLocation=%[2]s/state
SlurmdSpoolDir=%[2]s/spool
SlurmctldPidFile=%[2]s/slurmctld.pid
SlurmdPidFile=%[2]s/slurmd.pid
SlurmctldLogFile=%[2]s/slurmctld.log
SlurmdLogFile=%[2]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=10
MinJobAge=600
MpiDefault=none
NodeName=%[1]s CPUs=4 State=UNKNOWN
PartitionName=main Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP
`, node, dir, ctldPort, slurmdPort, socket))
	daemon := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "SLURM_CONF="+conf)
		log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Skipf("SLURM test: cannot start %s: %v", name, err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			log.Close()
		})
	}
	daemon("munged", "--foreground", "--force", "--key-file="+filepath.Join(dir, "munge", "munge.key"), "--socket="+socket,
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"), "--log-file="+filepath.Join(dir, "munged.log"), "--seed-file="+filepath.Join(dir, "munge", "seed"))
	waitFile(t, socket)
	daemon("slurmctld", "-D", "-i", "-f", conf)
	daemon("slurmd", "-D", "-f", conf)
	s := &slurmCluster{dir: dir, env: []string{"SLURM_CONF=" + conf}}
	deadline := time.Now().Add(time.Minute)
	for {
		out, _ := s.run(t, "sinfo", "-h", "-o", "%T")
		if strings.TrimSpace(out) == "idle" {
			return s
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "slurmctld.log"))
			t.Skipf("SLURM test: the node is not idle after a minute (sinfo: %q); slurmctld.log:\n%s", out, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Skipf("SLURM test: %s never appeared", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a SLURM command with the cluster's configuration and env.
func (s *slurmCluster) run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sbatch submits the worker script with extra options and env and
// returns the job id.
func (s *slurmCluster) sbatch(t *testing.T, env []string, opts ...string) string {
	t.Helper()
	script := filepath.Join(repoRoot(t), "deploy", "slurm", "isweep-workers.sbatch")
	cmd := exec.Command("sbatch", append(append([]string{"--parsable"}, opts...), script)...)
	cmd.Dir = s.dir
	cmd.Env = append(append(os.Environ(), s.env...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sbatch %v: %v\n%s", opts, err, out)
	}
	return strings.TrimSpace(string(out))
}

var jobStateRE = regexp.MustCompile(`JobState=(\S+)`)

// state returns the state of job (such as 12 or 12_1).
func (s *slurmCluster) state(t *testing.T, job string) string {
	t.Helper()
	out, err := s.run(t, "scontrol", "show", "job", job)
	if err != nil {
		t.Fatalf("scontrol show job %s: %v\n%s", job, err, out)
	}
	m := jobStateRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("scontrol show job %s: no state:\n%s", job, out)
	}
	return m[1]
}

// waitState waits until job is in one of states.
func (s *slurmCluster) waitState(t *testing.T, job string, timeout time.Duration, states ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := s.state(t, job)
		for _, want := range states {
			if st == want {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: state %s after %s, want: %v\n%s", job, st, timeout, states, s.logs())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// logs returns the workers' logs, for failure messages.
func (s *slurmCluster) logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.dir, "isweep-worker-*.log"))
	for _, f := range files {
		body, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), body)
	}
	return b.String()
}

// jobLogPath is where the sbatch script writes the log of array task (or
// step) task of job.
func (s *slurmCluster) jobLogPath(job, task string) string {
	return filepath.Join(s.dir, fmt.Sprintf("isweep-worker-%s_%s.log", job, task))
}

// jobLog returns the log of job (array job and task, or a job alone).
func (s *slurmCluster) jobLog(t *testing.T, job, task string) string {
	t.Helper()
	body, err := os.ReadFile(s.jobLogPath(job, task))
	if err != nil {
		t.Fatalf("log of job %s_%s: %v\n%s", job, task, err, s.logs())
	}
	return string(body)
}

// waitJobLog waits until the log of array task (or step) task of job holds
// text, or fails the test after timeout.
func (s *slurmCluster) waitJobLog(t *testing.T, job, task, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		body, _ := os.ReadFile(s.jobLogPath(job, task))
		if strings.Contains(string(body), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of job %s_%s: no %q after %v; it holds:\n%s\n%s", job, task, text, timeout, body, s.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlurmWorkerArray runs a sweep on workers started by a real
// single-node SLURM from deploy/slurm/isweep-workers.sbatch: a first
// worker runs until its one-minute time limit (SLURM's SIGTERM, the
// drain), then an array of two: one is cancelled with scancel while it
// computes, the other finishes the sweep and leaves by -idle-exit,
// releasing its allocation. Every point is stored exactly once.
func TestSlurmWorkerArray(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a SLURM cluster: skipped with -short")
	}
	s := startSlurm(t)
	dir := t.TempDir()
	port := proctest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	server := startIsweep(t, dir, nil, "server", "-db", filepath.Join(dir, "temporal.db"), "-port", strconv.Itoa(port), "-ui-port", "-1")
	waitOutput(t, server, "Temporal frontend on")
	env := []string{"TEMPORAL_ADDRESS=" + addr}
	specFile := writeFile(t, dir, "slurm.yaml", fmt.Sprintf(slurmSpec, filepath.Join(dir, "out")))
	if code, out := runIsweepEnv(t, dir, env, time.Minute, "submit", specFile); code != 0 {
		t.Fatalf("submit: exit %d:\n%s", code, out)
	}
	sweepID := sweepIDOf(t, dir, specFile)
	c := proctest.Dial(t, addr)
	jobEnv := append([]string{"ISWEEP=" + binary, "ISWEEP_GRACE=3s", "ISWEEP_IDLE_EXIT=10s"}, env...)

	// A worker alone until its time limit: no early SIGTERM (SIGCONT, which
	// does nothing, replaces the script's), SLURM's own at the limit.
	limited := s.sbatch(t, jobEnv, "--cpus-per-task=1", "--time=1", "--signal=B:CONT@1")
	s.waitState(t, limited, time.Minute, "RUNNING")
	proctest.WaitFor(t, c, sweepID, "a chunk in flight", func(p workflows.Progress) bool { return p.ChunksInFlight > 0 })
	s.waitState(t, limited, 3*time.Minute, "TIMEOUT")
	if p, err := control.Progress(t.Context(), c, sweepID); err == nil && p.ChunksTotal-p.ChunksDone < 6 {
		t.Fatalf("the first worker left %d of %d chunks before its time limit: too few for the array; make slurmSpec larger", p.ChunksTotal-p.ChunksDone, p.ChunksTotal)
	}

	// An array of two: one cancelled mid-sweep, one to the end.
	array := s.sbatch(t, jobEnv, "--cpus-per-task=1", "--array=0-1")
	s.waitState(t, array+"_0", time.Minute, "RUNNING")
	s.waitState(t, array+"_1", time.Minute, "RUNNING")
	// Chunks in flight are those the workflow has scheduled, started or
	// not: the worker to cancel must be polling, or it would be cancelled
	// before it could drain (seen once: its log held only SLURM's line).
	s.waitJobLog(t, array, "1", "polling task queue", time.Minute)
	proctest.WaitFor(t, c, sweepID, "two chunks in flight", func(p workflows.Progress) bool { return p.ChunksInFlight >= 2 })
	if out, err := s.run(t, "scancel", array+"_1"); err != nil {
		t.Fatalf("scancel: %v\n%s", err, out)
	}
	s.waitState(t, array+"_1", time.Minute, "CANCELLED")

	proctest.WaitResult(t, c, sweepID)
	spec, err := schemas.ParseFile(filepath.Join(dir, specFile))
	if err != nil {
		t.Fatal(err)
	}
	proctest.CheckExactlyOnce(t, spec)
	// -idle-exit releases the last allocation.
	s.waitState(t, array+"_0", 2*time.Minute, "COMPLETED")

	if log := s.jobLog(t, limited, "4294967294"); !strings.Contains(log, "SIGTERM: polling stopped") || !strings.Contains(log, "isweep worker: stopped:") {
		t.Errorf("the worker at its time limit: got:\n%s\nwant: it drained on SIGTERM", log)
	}
	if log := s.jobLog(t, array, "1"); !strings.Contains(log, "SIGTERM: polling stopped") {
		t.Errorf("the cancelled worker: got:\n%s\nwant: it drained on SIGTERM", log)
	}
	if log := s.jobLog(t, array, "0"); !strings.Contains(log, "(-idle-exit)") {
		t.Errorf("the last worker: got:\n%s\nwant: it left by -idle-exit", log)
	}
}
