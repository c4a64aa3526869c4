package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/isweep/isweep/internal/proctest"
	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/workflows"
)

// clusterSpec has online points of some tenths of a second each, so that a
// kill lands in the middle of a chunk: 48 points in 12 chunks.
const clusterSpec = `apiVersion: isweep/v1
name: cluster-test
output: %s
chunk: 4
grid:
  algorithm: [direct, interneuron]
  seed: {range: [0, 24, 1]}
fixed:
  mode: online
  n: 16
  eta: 0.002
  init_scale: 2
  horizon: 60000
  record: 50
  input_spectrum: {min: 0.5, max: 2}
`

// workerMetrics scrapes a worker's /metrics and returns the isweep_*
// counters and gauges as "name{labels}" → value.
func workerMetrics(t *testing.T, p *proc) map[string]float64 {
	t.Helper()
	status, body := httpGet(t, metricsURL(t, p)+"/metrics")
	if status != 200 {
		t.Fatalf("%s: GET /metrics: got: %d, want: 200", p.Name(), status)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: /metrics is not Prometheus text: %v", p.Name(), err)
	}
	values := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "isweep_") {
			continue
		}
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf("{%s=%s}", l.GetName(), l.GetValue())
			}
			switch {
			case m.Counter != nil:
				values[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				values[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				values[key+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return values
}

func pointsCounted(m map[string]float64) float64 {
	total := 0.0
	for _, s := range []string{"converged", "not_converged", "diverged", "failed"} {
		total += m["isweep_points_total{status="+s+"}"]
	}
	return total
}

// TestClusterSweepOnS3 runs the deployment on one machine: an `isweep
// server` process, three `isweep worker` processes and an S3 server; it
// submits a sweep with `isweep submit`, SIGKILLs a worker in the middle of
// a chunk, adds a fourth, and checks that every point is stored exactly
// once, that the workers' health and metrics endpoints tell the truth, and
// that the S3 credentials appear nowhere: not in the workflow histories,
// the processes' output, or any stored object.
func TestClusterSweepOnS3(t *testing.T) {
	s3 := s3test.Start(t)
	for _, kv := range s3.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	dir := t.TempDir()
	port := proctest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	db := filepath.Join(dir, "temporal.db")
	server := startServerProc(t, db, port)
	c := proctest.Dial(t, addr)
	spec, specPath := writeSpec(t, dir, fmt.Sprintf(clusterSpec, s3.Location("cluster/run1")))

	workers := map[string]*proc{}
	for _, name := range []string{"worker-1", "worker-2", "worker-3"} {
		workers[name] = startWorkerProc(t, name, addr, s3.Env())
		waitReady(t, workers[name])
	}

	submit := startProc(t, "submit", s3.Env(), "", "submit", "-address", addr, "-heartbeat-timeout", "5s", specPath)
	if code := submit.Wait(2 * time.Minute); code != 0 {
		t.Fatalf("isweep submit: got: exit %d, want: 0\n%s", code, submit.Output())
	}
	if got := strings.TrimSpace(submit.Output()); !strings.Contains(got, spec.SweepID()) {
		t.Fatalf("isweep submit printed %q, want: the sweep id %s", got, spec.SweepID())
	}

	// Kill worker-2 while its metrics say it is inside a chunk.
	victim := workers["worker-2"]
	deadline := time.Now().Add(3 * time.Minute)
	for workerMetrics(t, victim)["isweep_chunks_in_flight"] < 1 {
		if time.Now().After(deadline) {
			t.Fatal("worker-2 never had a chunk in flight")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := proctest.WaitFor(t, c, spec.SweepID(), "a sweep in progress", func(p workflows.Progress) bool { return p.ChunksTotal > 0 })
	victim.Kill()
	delete(workers, "worker-2")
	t.Logf("killed worker-2 mid-chunk with %d of %d chunks done, %d in flight", p.ChunksDone, p.ChunksTotal, p.ChunksInFlight)
	workers["worker-4"] = startWorkerProc(t, "worker-4", addr, s3.Env())
	waitReady(t, workers["worker-4"])

	res := proctest.WaitResult(t, c, spec.SweepID())
	if res.Final.Status != "complete" {
		t.Fatalf("got: status %q, want: complete", res.Final.Status)
	}
	rows := proctest.CheckExactlyOnce(t, spec)

	t.Run("health and metrics", func(t *testing.T) {
		var counted float64
		for name, w := range workers {
			if status, body := httpGet(t, metricsURL(t, w)+"/healthz"); status != 200 {
				t.Errorf("%s: GET /healthz: got: %d %q, want: 200", name, status, body)
			}
			if status, body := httpGet(t, metricsURL(t, w)+"/readyz"); status != 200 {
				t.Errorf("%s: GET /readyz: got: %d %q, want: 200", name, status, body)
			}
			m := workerMetrics(t, w)
			if got := m["isweep_chunks_in_flight"]; got != 0 {
				t.Errorf("%s: isweep_chunks_in_flight: got: %v after the sweep, want: 0", name, got)
			}
			computed := m["isweep_chunks_total{outcome=computed}"]
			if got, want := m["isweep_chunk_duration_seconds{outcome=computed}_count"], computed; got != want {
				t.Errorf("%s: chunk latency observations: got: %v, want: %v (one per computed chunk)", name, got, want)
			}
			counted += pointsCounted(m)
			t.Logf("%s: %v chunks computed, %v points", name, computed, pointsCounted(m))
		}
		if w1 := workerMetrics(t, workers["worker-1"]); pointsCounted(w1) == 0 {
			t.Errorf("worker-1 (up for the whole sweep): got: no points counted, want: some")
		}
		// The surviving workers computed every point but those of chunks
		// worker-2 finished before it died; a chunk is counted by at most
		// one surviving worker unless it was retried.
		if counted > float64(len(rows)) || counted == 0 {
			t.Errorf("points counted by the surviving workers: got: %v, want: between 1 and %d", counted, len(rows))
		}
	})

	t.Run("no credentials anywhere", func(t *testing.T) {
		secrets := []string{s3.SecretKey, s3.AccessKey}
		control := spec.SweepID() // present everywhere the scans look: proves they read something
		needles := append(secrets, control)

		found := finds{}
		runs := scanHistories(t, c, needles, found)
		if runs == 0 || len(found[control]) == 0 {
			t.Fatalf("history scan: got: %d runs, sweep id found %d times; want: the sweep's runs, with its id", runs, len(found[control]))
		}
		for _, s := range secrets {
			if places := found[s]; len(places) > 0 {
				t.Errorf("a credential appears in workflow histories: %v", places)
			}
		}

		found = finds{}
		logs := map[string]string{"server": server.Output(), "submit": submit.Output(), "worker-2 (killed)": victim.Output()}
		for name, w := range workers {
			logs[name] = w.Output()
		}
		for name, log := range logs {
			if log == "" {
				t.Errorf("%s: got: an empty log, want: its output (the scan would prove nothing)", name)
			}
			found.scan(name+" log", []byte(log), needles)
		}
		for _, s := range secrets {
			if places := found[s]; len(places) > 0 {
				t.Errorf("a credential appears in process output: %v", places)
			}
		}

		found = finds{}
		root, err := store.Open(context.Background(), s3.Location(""), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		objects := scanObjects(t, root, needles, found)
		var parquetControl bool
		for _, place := range found[control] {
			parquetControl = parquetControl || strings.Contains(place, " column sweep_id")
		}
		if objects == 0 || !parquetControl {
			t.Fatalf("object scan: got: %d objects, sweep id in a decoded Parquet column: %v; want: objects, and the id found", objects, parquetControl)
		}
		for _, s := range secrets {
			if places := found[s]; len(places) > 0 {
				t.Errorf("a credential appears in stored objects: %v", places)
			}
		}

		// The server's database, as raw bytes (histories may be stored
		// compressed, so this adds to the history scan above).
		found = finds{}
		raw, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		found.scan("server database", raw, secrets)
		for _, s := range secrets {
			if places := found[s]; len(places) > 0 {
				t.Errorf("a credential appears in %v", places)
			}
		}
	})
}
