package worker

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkTimerBuckets are the histogram buckets of the SDK's timers, in
// seconds: 1 ms to about 4.4 minutes.
var sdkTimerBuckets = prometheus.ExponentialBuckets(0.001, 4, 10)

// SDKMetrics keeps the Temporal SDK's own metrics (schedule-to-start
// latencies, task slots, poll and request counts…) for Prometheus: give
// Handler() as the client's MetricsHandler before dialling, and register
// the SDKMetrics, a prometheus.Collector, where /metrics is served (a
// Monitor's Registry). The SDK's names are kept; counters get the suffix
// _total, timers become histograms of seconds with the suffix _seconds,
// gauges are as they are. Its tags become labels; a metric seen with
// different tag sets gets the union of their labels, empty where unset.
type SDKMetrics struct {
	mu     sync.Mutex
	series map[string]*sdkSeries
}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

type sdkSeries struct {
	kind    sdkKind
	name    string
	labels  map[string]string
	value   float64  // counter or gauge
	count   uint64   // timer
	sum     float64  // timer, seconds
	buckets []uint64 // timer, per bucket (not cumulative)
}

// NewSDKMetrics returns an empty SDKMetrics.
func NewSDKMetrics() *SDKMetrics {
	return &SDKMetrics{series: map[string]*sdkSeries{}}
}

// Handler returns the SDK metrics handler that records into m.
func (m *SDKMetrics) Handler() client.MetricsHandler {
	return sdkHandler{m: m}
}

// get returns the series of name and tags, made on first use.
func (m *SDKMetrics) get(kind sdkKind, name string, tags map[string]string) *sdkSeries {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		b.WriteString("\xff" + k + "=" + tags[k])
	}
	key := b.String()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.series[key]
	if !ok {
		s = &sdkSeries{kind: kind, name: name, labels: tags}
		if kind == sdkTimer {
			s.buckets = make([]uint64, len(sdkTimerBuckets))
		}
		m.series[key] = s
	}
	return s
}

// Describe sends nothing: the SDK's metrics are known as they come, so
// SDKMetrics is an unchecked collector.
func (m *SDKMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect sends the current value of every series.
func (m *SDKMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The labels of a metric name are the union of its series' tags.
	labelNames := map[string][]string{}
	for _, s := range m.series {
		for k := range s.labels {
			if !slices.Contains(labelNames[s.name], k) {
				labelNames[s.name] = append(labelNames[s.name], k)
			}
		}
	}
	for _, names := range labelNames {
		slices.Sort(names)
	}
	for _, s := range m.series {
		names := labelNames[s.name]
		values := make([]string, len(names))
		for i, k := range names {
			values[i] = s.labels[k]
		}
		switch s.kind {
		case sdkCounter:
			desc := prometheus.NewDesc(s.name+"_total", "Temporal SDK counter "+s.name+".", names, nil)
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, s.value, values...)
		case sdkGauge:
			desc := prometheus.NewDesc(s.name, "Temporal SDK gauge "+s.name+".", names, nil)
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
		case sdkTimer:
			desc := prometheus.NewDesc(s.name+"_seconds", "Temporal SDK timer "+s.name+", in seconds.", names, nil)
			cumulative := make(map[float64]uint64, len(sdkTimerBuckets))
			var n uint64
			for i, upper := range sdkTimerBuckets {
				n += s.buckets[i]
				cumulative[upper] = n
			}
			ch <- prometheus.MustNewConstHistogram(desc, s.count, s.sum, cumulative, values...)
		}
	}
}

type sdkHandler struct {
	m    *SDKMetrics
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	return sdkCounterOf{h.m, h.m.get(sdkCounter, name, h.tags)}
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	return sdkGaugeOf{h.m, h.m.get(sdkGauge, name, h.tags)}
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	return sdkTimerOf{h.m, h.m.get(sdkTimer, name, h.tags)}
}

type sdkCounterOf struct {
	m *SDKMetrics
	s *sdkSeries
}

func (c sdkCounterOf) Inc(d int64) {
	c.m.mu.Lock()
	c.s.value += float64(d)
	c.m.mu.Unlock()
}

type sdkGaugeOf struct {
	m *SDKMetrics
	s *sdkSeries
}

func (g sdkGaugeOf) Update(v float64) {
	g.m.mu.Lock()
	g.s.value = v
	g.m.mu.Unlock()
}

type sdkTimerOf struct {
	m *SDKMetrics
	s *sdkSeries
}

func (t sdkTimerOf) Record(d time.Duration) {
	sec := d.Seconds()
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	t.s.count++
	t.s.sum += sec
	for i, upper := range sdkTimerBuckets {
		if sec <= upper {
			t.s.buckets[i]++
			break
		}
	}
}
