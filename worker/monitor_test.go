package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
	"github.com/isweep/isweep/worker"
)

// monitorSpec has converged points (long horizon) and not-converged ones
// (a horizon too short to converge): 2 × 2 × 3 = 12 points in 3 chunks.
const monitorSpec = `apiVersion: isweep/v1
name: monitor-test
output: %s
chunk: 5
grid:
  algorithm: [direct, interneuron]
  horizon: [0.01, 10000]
  init_scale: [1, 3, 10]
fixed:
  mode: flow
  n: 2
  input_spectrum: {min: 0.5, max: 2}
`

// metricValues gathers the registry and returns every sample as
// "name{label=value,…}" → value (counters, gauges, histogram counts).
func metricValues(t *testing.T, m *worker.Monitor) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "isweep_") {
			continue
		}
		for _, metric := range f.GetMetric() {
			key := f.GetName() + labelText(metric)
			switch {
			case metric.Counter != nil:
				values[key] = metric.Counter.GetValue()
			case metric.Gauge != nil:
				values[key] = metric.Gauge.GetValue()
			case metric.Histogram != nil:
				values[key+"_count"] = float64(metric.Histogram.GetSampleCount())
			}
		}
	}
	return values
}

func labelText(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestMonitorCountsChunksAndPoints runs the real activities of a small
// sweep through the monitor's interceptor (in the SDK's activity test
// environment) and checks the metrics against the chunk results.
func TestMonitorCountsChunksAndPoints(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	spec, err := schemas.Parse([]byte(fmt.Sprintf(monitorSpec, out)), "spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	acts, err := activities.New(activities.Config{
		OpenStore: func(ctx context.Context, location string) (store.Store, error) {
			return store.Open(ctx, location, store.Options{})
		},
		CPU: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	monitor := worker.NewMonitor(nil)
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(nopLogger{})
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{monitor.Interceptor()}})
	env.RegisterActivity(acts)

	val, err := env.ExecuteActivity(acts.PlanSweep, activities.PlanInput{Spec: spec.Canonical()})
	if err != nil {
		t.Fatal(err)
	}
	var plan activities.Plan
	if err := val.Get(&plan); err != nil {
		t.Fatal(err)
	}
	if plan.Chunks != 3 {
		t.Fatalf("got: %d chunks, want: 3", plan.Chunks)
	}
	var want activities.ChunkResult
	for c := range plan.Chunks {
		val, err := env.ExecuteActivity(acts.RunChunk, activities.ChunkRef{Output: out, SweepID: plan.SweepID, Chunk: c})
		if err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
		var r activities.ChunkResult
		if err := val.Get(&r); err != nil {
			t.Fatal(err)
		}
		want.Converged += r.Converged
		want.NotConverged += r.NotConverged
		want.Diverged += r.Diverged
		want.Failed += r.Failed
	}
	if want.Converged == 0 || want.NotConverged == 0 {
		t.Fatalf("got: %d converged and %d not converged points, want: some of each (the spec is meant to make both)", want.Converged, want.NotConverged)
	}
	// Chunk 0 again: found complete, no points counted twice.
	if _, err := env.ExecuteActivity(acts.RunChunk, activities.ChunkRef{Output: out, SweepID: plan.SweepID, Chunk: 0}); err != nil {
		t.Fatal(err)
	}
	// A chunk outside the sweep: a failed attempt.
	if _, err := env.ExecuteActivity(acts.RunChunk, activities.ChunkRef{Output: out, SweepID: plan.SweepID, Chunk: 99}); err == nil {
		t.Fatal("got: chunk 99 of a 3-chunk sweep ran, want: an error")
	}

	got := metricValues(t, monitor)
	for _, c := range []struct {
		key  string
		want float64
	}{
		{"isweep_points_total{status=converged}", float64(want.Converged)},
		{"isweep_points_total{status=not_converged}", float64(want.NotConverged)},
		{"isweep_points_total{status=diverged}", float64(want.Diverged)},
		{"isweep_points_total{status=failed}", float64(want.Failed)},
		{"isweep_chunks_total{outcome=computed}", 3},
		{"isweep_chunks_total{outcome=already_done}", 1},
		{"isweep_chunks_total{outcome=error}", 1},
		{"isweep_chunk_attempt_failures_total", 1},
		{"isweep_chunks_in_flight", 0},
		{"isweep_chunk_duration_seconds{outcome=computed}_count", 3},
		{"isweep_chunk_duration_seconds{outcome=already_done}_count", 1},
		{"isweep_chunk_duration_seconds{outcome=error}_count", 1},
		{"isweep_activities_total{activity=PlanSweep,outcome=ok}", 1},
		{"isweep_activities_total{activity=RunChunk,outcome=ok}", 4},
		{"isweep_activities_total{activity=RunChunk,outcome=error}", 1},
	} {
		if v, ok := got[c.key]; !ok || v != c.want {
			t.Errorf("%s: got: %v (present %v), want: %v", c.key, v, ok, c.want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestMonitorHandler(t *testing.T) {
	// A client of a server that is not there: its health check fails.
	unreachable, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	tests := []struct {
		name       string
		client     client.Client
		polling    bool
		path       string
		wantStatus int
		wantBody   string
	}{
		{"alive while starting", nil, false, "/healthz", 200, "ok"},
		{"not ready before polling", nil, false, "/readyz", 503, "not polling"},
		{"ready when polling", nil, true, "/readyz", 200, "ready"},
		{"not ready when the server is unreachable", unreachable, true, "/readyz", 503, "health check"},
		{"alive when the server is unreachable", unreachable, true, "/healthz", 200, "ok"},
		{"metrics", nil, true, "/metrics", 200, "isweep_chunks_in_flight 0"},
		{"unknown path", nil, true, "/secrets", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := worker.NewMonitor(tt.client)
			m.SetPolling(tt.polling)
			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			status, body := get(t, srv.URL+tt.path)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s: got: %d %q, want: %d and a body containing %q", tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestMonitorMetricsParse(t *testing.T) {
	m := worker.NewMonitor(nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/metrics")
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("got: /metrics not in the Prometheus text format: %v", err)
	}
	for _, name := range []string{"isweep_points_total", "isweep_chunks_total", "isweep_chunk_attempt_failures_total", "isweep_chunk_duration_seconds", "isweep_chunks_in_flight", "go_goroutines"} {
		if _, ok := families[name]; !ok {
			t.Errorf("got: no %s in /metrics, want: it", name)
		}
	}
	if n := len(families["isweep_points_total"].GetMetric()); n != 4 {
		t.Errorf("got: %d isweep_points_total series before any chunk, want: 4 (one per status, at zero)", n)
	}
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
