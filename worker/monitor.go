package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
)

// chunkActivity is the registered name of the activity that computes a
// chunk (activities.Activities.RunChunk).
const chunkActivity = "RunChunk"

// DefaultReadyTimeout is how long a readiness check waits for the Temporal
// server's health answer.
const DefaultReadyTimeout = 3 * time.Second

// Monitor watches a worker: an activity interceptor that counts chunks and
// points into Prometheus metrics, and an HTTP handler serving /healthz,
// /readyz and /metrics.
//
// The metrics, all prefixed isweep_:
//
//	isweep_points_total{status}            points computed, by status (results.Statuses)
//	isweep_chunks_total{outcome}           chunk attempts ended: computed, already_done, error
//	isweep_chunk_attempt_failures_total    chunk attempts that returned an error (Temporal retries them)
//	isweep_chunk_duration_seconds{outcome} wall time of chunk attempts
//	isweep_chunks_in_flight                chunk attempts running now
//	isweep_activities_total{activity,outcome} every activity attempt (plan, list, chunk, finalize)
//
// plus the Go runtime and process collectors. Points per second is
// rate(isweep_points_total[1m]).
type Monitor struct {
	client       client.Client
	registry     *prometheus.Registry
	readyTimeout time.Duration
	polling      atomic.Bool

	points        *prometheus.CounterVec
	chunks        *prometheus.CounterVec
	chunkFailures prometheus.Counter
	chunkDuration *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	activities    *prometheus.CounterVec
}

// NewMonitor returns a Monitor whose readiness asks c's server for its
// health. c may be nil (readiness then only needs SetPolling(true)). The
// metrics are registered on a registry of the Monitor's own, with the Go
// runtime and process collectors.
func NewMonitor(c client.Client) *Monitor {
	m := &Monitor{
		client:       c,
		registry:     prometheus.NewRegistry(),
		readyTimeout: DefaultReadyTimeout,
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isweep_points_total",
			Help: fmt.Sprintf("Points computed by this worker, by status %v.", results.Statuses),
		}, []string{"status"}),
		chunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isweep_chunks_total",
			Help: "Chunk attempts ended, by outcome: computed, already_done (found complete in the store), error.",
		}, []string{"outcome"}),
		chunkFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "isweep_chunk_attempt_failures_total",
			Help: "Chunk attempts that returned an error; Temporal retries them.",
		}),
		chunkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "isweep_chunk_duration_seconds",
			Help: "Wall time of chunk attempts, by outcome.",
			// 50 ms … ~14 min: a chunk of fast flow points to a chunk of
			// long online runs.
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 15),
		}, []string{"outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "isweep_chunks_in_flight",
			Help: "Chunk attempts running on this worker now.",
		}),
		activities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "isweep_activities_total",
			Help: "Activity attempts ended on this worker, by activity and outcome (ok, error).",
		}, []string{"activity", "outcome"}),
	}
	for _, s := range results.Statuses {
		m.points.WithLabelValues(string(s))
	}
	for _, o := range []string{"computed", "already_done", "error"} {
		m.chunks.WithLabelValues(o)
		m.chunkDuration.WithLabelValues(o)
	}
	m.registry.MustRegister(m.points, m.chunks, m.chunkFailures, m.chunkDuration, m.inFlight, m.activities,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry holding the Monitor's metrics, to add more
// collectors or to gather them in tests.
func (m *Monitor) Registry() *prometheus.Registry { return m.registry }

// SetPolling records whether the worker is polling its task queue: true
// after the Temporal worker started, false once it stops or fails.
func (m *Monitor) SetPolling(polling bool) { m.polling.Store(polling) }

// Ready returns nil when the worker is polling and its Temporal server
// answers a health check, or an error saying which is not the case.
func (m *Monitor) Ready(ctx context.Context) error {
	if !m.polling.Load() {
		return errors.New("the worker is not polling its task queue (starting, stopping or failed)")
	}
	if m.client == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.readyTimeout)
	defer cancel()
	if _, err := m.client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("the Temporal server does not answer its health check: %w", err)
	}
	return nil
}

// Handler serves:
//
//	/healthz  200 while the process runs (liveness)
//	/readyz   200 when Ready returns nil, else 503 with the reason (readiness)
//	/metrics  the Prometheus metrics, text exposition format
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := m.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))
	return mux
}

// Interceptor returns the worker interceptor that feeds the metrics. Pass
// it in Options.Interceptors.
func (m *Monitor) Interceptor() interceptor.WorkerInterceptor {
	return &monitorInterceptor{monitor: m}
}

type monitorInterceptor struct {
	interceptor.WorkerInterceptorBase
	monitor *Monitor
}

func (i *monitorInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &monitorActivityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, monitor: i.monitor}
}

type monitorActivityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	monitor *Monitor
}

func (a *monitorActivityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	name := activity.GetInfo(ctx).ActivityType.Name
	if name != chunkActivity {
		result, err := a.Next.ExecuteActivity(ctx, in)
		a.monitor.activities.WithLabelValues(name, outcomeOf(err)).Inc()
		return result, err
	}
	m := a.monitor
	m.inFlight.Inc()
	start := time.Now()
	result, err := a.Next.ExecuteActivity(ctx, in)
	elapsed := time.Since(start).Seconds()
	m.inFlight.Dec()
	m.activities.WithLabelValues(name, outcomeOf(err)).Inc()
	outcome := "error"
	if err != nil {
		m.chunkFailures.Inc()
	} else if cr, ok := chunkResultOf(result); !ok {
		// A result of another shape still counts as a computed chunk; its
		// points cannot be counted.
		outcome = "computed"
	} else if cr.AlreadyDone {
		outcome = "already_done"
	} else {
		outcome = "computed"
		for _, s := range results.Statuses {
			m.points.WithLabelValues(string(s)).Add(float64(cr.Of(s)))
		}
	}
	m.chunks.WithLabelValues(outcome).Inc()
	m.chunkDuration.WithLabelValues(outcome).Observe(elapsed)
	return result, err
}

func outcomeOf(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// chunkResultOf reads an activities.ChunkResult out of RunChunk's result:
// the value itself, a pointer to it, or (should an interceptor have
// encoded it) its JSON.
func chunkResultOf(result any) (activities.ChunkResult, bool) {
	switch r := result.(type) {
	case activities.ChunkResult:
		return r, true
	case *activities.ChunkResult:
		if r != nil {
			return *r, true
		}
		return activities.ChunkResult{}, false
	case nil:
		return activities.ChunkResult{}, false
	}
	text, err := json.Marshal(result)
	if err != nil {
		return activities.ChunkResult{}, false
	}
	var cr activities.ChunkResult
	if err := json.Unmarshal(text, &cr); err != nil {
		return activities.ChunkResult{}, false
	}
	return cr, true
}
