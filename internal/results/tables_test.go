package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/parquetwriter"
)

func trajectorySamples(rng *rand.Rand, count int) []dynamics.Sample {
	samples := make([]dynamics.Sample, count)
	for i := range samples {
		samples[i] = dynamics.Sample{T: float64(i) * 0.5, Step: int64(i * 50), Error: rng.Float64(), EigMin: rng.Float64(), EigMax: 1 + rng.Float64()}
	}
	return samples
}

func TestTrajectoryRows(t *testing.T) {
	params := dynamics.Params{Algorithm: dynamics.Interneuron, N: 8}
	samples := []dynamics.Sample{{T: 0, Step: 0, Error: 9, EigMin: 1, EigMax: 2}, {T: 0.5, Step: 3, Error: 0.5, EigMin: 1.5, EigMax: 1.7}}
	got := trajectoryRows("sw", "pt", params, samples)
	want := []TrajectoryRow{
		{SweepID: "sw", PointID: "pt", Algorithm: dynamics.Interneuron, N: 8, Sample: 0, T: 0, Step: 0, Error: 9, EigMin: 1, EigMax: 2},
		{SweepID: "sw", PointID: "pt", Algorithm: dynamics.Interneuron, N: 8, Sample: 1, T: 0.5, Step: 3, Error: 0.5, EigMin: 1.5, EigMax: 1.7},
	}
	if d := diffRows(got, want); d != "" {
		t.Error(d)
	}
}

func TestTrajectoriesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	params := dynamics.Params{Algorithm: dynamics.Direct, N: 32}
	var long []TrajectoryRow
	for p := range 80 {
		long = append(long, trajectoryRows("sweep-ü", "p"+string(rune('A'+p%26)), params, trajectorySamples(rng, 1000))...)
	}
	tests := []struct {
		name string
		rows []TrajectoryRow
	}{
		{"empty", nil},
		{"one point", trajectoryRows("s", "p", dynamics.Params{Algorithm: dynamics.Interneuron, N: 2}, []dynamics.Sample{{T: math.Inf(1), Step: -1, Error: math.NaN()}})},
		{"two row groups", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			body, err := encodeTrajectoryRows(tt.rows)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeTrajectories(body, mem)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffRows(got, tt.rows); d != "" {
				t.Errorf("decoded rows differ:\n%s", d)
			}
		})
	}
}

func TestEncodePointSamplesRejectsBadPartition(t *testing.T) {
	_, _, err := EncodePointSamples("sw", Partition{Algorithm: "../x", N: 2}, []PointSamples{{PointID: "p", Samples: make([]dynamics.Sample, 1)}})
	if err == nil || !strings.Contains(err.Error(), `"../x"`) {
		t.Errorf("got: %v want: an error naming the algorithm \"../x\"", err)
	}
}

func ptr[T any](v T) *T { return &v }

// summaryPoint is a point of a hand-made Summarize case.
func summaryPoint(algo dynamics.Algorithm, n int, scale, eta float64, status Status, convTime *float64) PointRow {
	return PointRow{
		Params: dynamics.Params{Algorithm: algo, Mode: dynamics.Flow, N: n, InitScale: scale, Eta: eta},
		Result: dynamics.Result{ConvTime: convTime, Diverged: status == StatusDiverged},
		Status: status,
	}
}

func TestSummarize(t *testing.T) {
	d, in := dynamics.Direct, dynamics.Interneuron
	rows := []PointRow{
		// direct, n=4, μ=10: the fastest is eta 0.05; eta 0.1 diverged.
		summaryPoint(d, 4, 10, 0.01, StatusConverged, ptr(12.5)),
		summaryPoint(d, 4, 10, 0.05, StatusConverged, ptr(11.0)),
		summaryPoint(d, 4, 10, 0.1, StatusDiverged, nil),
		// interneuron, n=4, μ=10: a tie at 2.25 goes to the smaller eta,
		// wherever it comes in the input.
		summaryPoint(in, 4, 10, 0.1, StatusConverged, ptr(2.25)),
		summaryPoint(in, 4, 10, 0.05, StatusConverged, ptr(2.25)),
		summaryPoint(in, 4, 10, 0.2, StatusConverged, ptr(2.25)),
		// direct, n=4, μ=1: nothing converged.
		summaryPoint(d, 4, 1, 0.01, StatusNotConverged, nil),
		summaryPoint(d, 4, 1, 0.05, StatusFailed, nil),
		// direct, n=2, μ=10: a conv_time on a point that is not marked
		// converged does not count.
		summaryPoint(d, 2, 10, 0.01, StatusNotConverged, ptr(0.5)),
		summaryPoint(d, 2, 10, 0.02, StatusConverged, ptr(3.0)),
	}
	want := []SummaryRow{
		{Algorithm: d, Mode: dynamics.Flow, N: 2, InitScale: 10, BestEta: ptr(0.02), BestConvTime: ptr(3.0), Points: 2, Converged: 1},
		{Algorithm: d, Mode: dynamics.Flow, N: 4, InitScale: 1, Points: 2},
		{Algorithm: d, Mode: dynamics.Flow, N: 4, InitScale: 10, BestEta: ptr(0.05), BestConvTime: ptr(11.0), Points: 3, Converged: 2, Diverged: 1},
		{Algorithm: in, Mode: dynamics.Flow, N: 4, InitScale: 10, BestEta: ptr(0.05), BestConvTime: ptr(2.25), Points: 3, Converged: 3},
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := range 20 {
		shuffled := slices.Clone(rows)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if d := diffRows(Summarize(shuffled), want); d != "" {
			t.Fatalf("shuffle %d:\n%s", trial, d)
		}
	}
	if got := Summarize(nil); len(got) != 0 {
		t.Errorf("Summarize(nil): got: %v want: no rows", got)
	}
}

func TestMergeSummariesEqualsSummarizeOfAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	rows := sweepRows(rng, "00112233aabbccdd", 0, 0, 400)
	want := Summarize(rows)
	for _, parts := range []int{1, 2, 7, 400} {
		var partial []SummaryRow
		size := (len(rows) + parts - 1) / parts
		for lo := 0; lo < len(rows); lo += size {
			partial = append(partial, Summarize(rows[lo:min(lo+size, len(rows))])...)
		}
		if d := diffRows(MergeSummaries(partial), want); d != "" {
			t.Fatalf("%d parts:\n%s", parts, d)
		}
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rows []SummaryRow
	}{
		{"empty", nil},
		{"from a sweep", Summarize(sweepRows(rand.New(rand.NewPCG(15, 16)), "sum", 0, 0, 120))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			body, err := EncodeSummary(tt.rows)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeSummary(body, mem)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffRows(got, tt.rows); d != "" {
				t.Errorf("decoded rows differ:\n%s", d)
			}
		})
	}
	withNulls := 0
	for _, r := range tests[1].rows {
		if r.BestEta == nil {
			withNulls++
		}
	}
	if withNulls == 0 || withNulls == len(tests[1].rows) {
		t.Errorf("groups with no converged point: got: %d of %d want: some, to test NULLs", withNulls, len(tests[1].rows))
	}
}

func TestSchemaVersionMismatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	md := arrow.NewMetadata([]string{MetaSchemaVersion, MetaTable}, []string{"0", TableSummary})
	enc := parquetwriter.NewLayout(arrow.NewSchema(SummarySchema.Fields(), &md), nil).Encoder()
	body := enc.Finish()
	enc.Release()
	_, err := DecodeSummary(body, mem)
	want := `the file's isweep.schema_version is "0", this code reads version "1"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got: %v want: an error containing %q", err, want)
	}
}

func TestSpectrumJSON(t *testing.T) {
	tests := []struct {
		spectrum dynamics.Spectrum
		json     string
		lo, hi   float64
	}{
		{dynamics.Spectrum{}, `{}`, 1, 1},
		{dynamics.Spectrum{Values: []float64{4, 0.25, 1}}, `[4,0.25,1]`, 0.25, 4},
		{dynamics.Spectrum{Values: []float64{1e-7, 3e21}}, `[1e-7,3e+21]`, 1e-7, 3e21},
		{dynamics.Spectrum{Min: 0.1, Max: 10, Spacing: dynamics.LogSpacing}, `{"min":0.1,"max":10,"spacing":"log"}`, 0.1, 10},
		{dynamics.Spectrum{Min: 1, Max: 2}, `{"min":1,"max":2}`, 1, 2},
		{dynamics.Spectrum{Values: []float64{2}, Spacing: dynamics.LinearSpacing}, `{"values":[2],"spacing":"linear"}`, 2, 2},
	}
	for _, tt := range tests {
		got, err := SpectrumJSON(tt.spectrum)
		if err != nil || got != tt.json {
			t.Errorf("SpectrumJSON(%+v): got: %s, %v want: %s", tt.spectrum, got, err, tt.json)
		}
		back, err := ParseSpectrumJSON(got)
		if err != nil {
			t.Errorf("ParseSpectrumJSON(%s): %v", got, err)
		} else if d := diffRows([]dynamics.Spectrum{back}, []dynamics.Spectrum{tt.spectrum}); d != "" {
			t.Errorf("ParseSpectrumJSON(%s): %s", got, d)
		}
		if lo, hi := SpectrumRange(tt.spectrum, 4); lo != tt.lo || hi != tt.hi {
			t.Errorf("SpectrumRange(%+v, 4): got: %g, %g want: %g, %g", tt.spectrum, lo, hi, tt.lo, tt.hi)
		}
	}
	// At n = 1, C is [min]: spectrum_max said max (found by the hostile
	// tester: 2 for a run on C = [0.5]).
	if lo, hi := SpectrumRange(dynamics.Spectrum{Min: 0.5, Max: 2}, 1); lo != 0.5 || hi != 0.5 {
		t.Errorf("SpectrumRange({0.5, 2}, 1): got: %g, %g want: 0.5, 0.5", lo, hi)
	}
	var cache spectrumCache
	for _, n := range []int{1, 3, 1, 3} {
		_, lo, hi, err := cache.json(dynamics.Spectrum{Min: 0.5, Max: 2}, n)
		if want := map[int]float64{1: 0.5, 3: 2}[n]; err != nil || lo != 0.5 || hi != want {
			t.Errorf("spectrumCache.json({0.5, 2}, %d): got: %g, %g, %v want: 0.5, %g", n, lo, hi, err, want)
		}
	}
	if _, err := ParseSpectrumJSON(`{"minimum":1}`); err == nil {
		t.Errorf(`ParseSpectrumJSON({"minimum":1}): got: no error want: an error for the unknown field`)
	}
}

func TestKeys(t *testing.T) {
	p := Partition{Algorithm: dynamics.Interneuron, N: 16}
	tests := []struct{ got, want string }{
		{PointsKey("a1b2", p, 7), "points/algorithm=interneuron/n=16/part-a1b2-000007.parquet"},
		{TrajectoriesKey("a1b2", p, 1234567), "trajectories/algorithm=interneuron/n=16/part-a1b2-1234567.parquet"},
		{ManifestKey("Sweep_1"), "sweeps/Sweep_1/manifest.json"},
		{SummaryKey("Sweep_1"), "sweeps/Sweep_1/summary.parquet"},
		{p.String(), "algorithm=interneuron/n=16"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got: %s want: %s", tt.got, tt.want)
		}
	}
	if back, err := ParsePartition(p.String()); err != nil || back != p {
		t.Errorf("ParsePartition(%s): got: %v, %v want: %v", p, back, err, p)
	}
	if id, c, ok := ParseMarkerKey(ChunkKey("Sweep_1", 12)); !ok || id != "Sweep_1" || c != 12 {
		t.Errorf("ParseMarkerKey(%s): got: %q, %d, %v want: Sweep_1, 12, true", ChunkKey("Sweep_1", 12), id, c, ok)
	}
	for _, bad := range []string{"", ManifestKey("a"), "sweeps/a/chunks/x.json", "plans/00000001.json"} {
		if _, _, ok := ParseMarkerKey(bad); ok {
			t.Errorf("ParseMarkerKey(%q): got: ok want: not a marker key", bad)
		}
	}
	for _, key := range []string{PointsKey("a-b", p, 7), TrajectoriesKey("a1b2", p, 1234567)} {
		table, id, c, ok := ParsePartKey(key)
		if !ok || table+"/"+p.String()+"/part-"+id+"-"+fmt.Sprintf("%06d", c)+".parquet" != key {
			t.Errorf("ParsePartKey(%s): got: %q, %q, %d, %v want: its parts back", key, table, id, c, ok)
		}
	}
	for _, bad := range []string{"", "points/part-a-000001.parquet", "points/algorithm=direct/n=2/part-a-00001.parquet", "points/algorithm=direct/n=2/part-a-000001.json",
		"points/algorithm=direct/n=2/x-a-000001.parquet", "members/algorithm=direct/n=2/part-a-000001.parquet", "points/algorithm=direct/n=2/part--000001.parquet",
		"points/algorithm=direct/n=2/part-a-+00001.parquet", "points/algorithm=direct/n=2/part-000001.parquet", "points/algorithm=direct/part-a-000001.parquet"} {
		if _, _, _, ok := ParsePartKey(bad); ok {
			t.Errorf("ParsePartKey(%q): got: ok want: not a part key", bad)
		}
	}
	if id, ok := ParsePlanKey(PlanKey("Sweep_1")); !ok || id != "Sweep_1" {
		t.Errorf("ParsePlanKey(%s): got: %q, %v want: Sweep_1, true", PlanKey("Sweep_1"), id, ok)
	}
	for _, bad := range []string{"", "sweeps/plan.json", "sweeps/a/b/plan.json", "sweeps/a/plan.json.tmp", "plans/00000001.json", "sweeps/../plan.json", ManifestKey("a")} {
		if id, ok := ParsePlanKey(bad); ok {
			t.Errorf("ParsePlanKey(%q): got: %q, true want: not a plan key", bad, id)
		}
	}
	for _, bad := range []string{"", "algorithm=direct", "algorithm=direct/n=x", "algorithm=/n=2", "n=2/algorithm=direct"} {
		if _, err := ParsePartition(bad); err == nil {
			t.Errorf("ParsePartition(%q): got: no error want: an error", bad)
		}
	}
	panics := []struct {
		name string
		call func()
	}{
		{"sweep id with a slash", func() { PointsKey("a/b", p, 0) }},
		{"empty sweep id", func() { ManifestKey("") }},
		{"dot-dot sweep id", func() { SummaryKey("..") }},
		{"negative chunk", func() { TrajectoriesKey("s", p, -1) }},
		{"upper-case algorithm", func() { PointsKey("s", Partition{Algorithm: "Direct", N: 2}, 0) }},
	}
	for _, tt := range panics {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("got: no panic want: a panic")
				}
			}()
			tt.call()
		})
	}
}

// TestPartOfSweep: a part's sweep is all of its name up to the chunk, so
// sweep "abc" does not claim the parts of sweep "abc-def".
func TestPartOfSweep(t *testing.T) {
	tests := []struct {
		name, sweep string
		want        bool
	}{
		{"part-abc-000001.parquet", "abc", true},
		{"part-abc-1234567.parquet", "abc", true},
		{"part-abc-def-000001.parquet", "abc", false},
		{"part-abc-def-000001.parquet", "abc-def", true},
		{"part-abc-00001.parquet", "abc", false},
		{"part-abc-000001.json", "abc", false},
		{"manifest.json", "abc", false},
	}
	for _, tt := range tests {
		key := TablePoints + "/algorithm=direct/n=2/" + tt.name
		_, id, _, ok := ParsePartKey(key)
		if got := ok && id == tt.sweep; got != tt.want {
			t.Errorf("ParsePartKey(%q) is of sweep %q: got: %v want: %v", key, tt.sweep, got, tt.want)
		}
	}
}

func TestManifest(t *testing.T) {
	m := Manifest{
		SweepID:    "abc123",
		Name:       "μ sweep — ünïcode",
		Spec:       json.RawMessage(`{"grid": {"eta": [0.01, 0.1]}, "n": [2, 4]}`),
		Status:     SweepComplete,
		CreatedAt:  time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 7200)),
		FinishedAt: time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC),
		Points:     40,
		Chunks:     2,
		Counts:     StatusCounts{Converged: 30, NotConverged: 5, Diverged: 4, Failed: 1},
		Parts: []Part{
			NewPart("points/algorithm=interneuron/n=2/part-abc123-000001.parquet", TablePoints, 20, []byte("b")),
			NewPart("points/algorithm=direct/n=2/part-abc123-000000.parquet", TablePoints, 20, []byte("a")),
			NewPart(SummaryKey("abc123"), TableSummary, 4, []byte("s")),
		},
	}
	first, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	reordered := m
	reordered.Parts = []Part{m.Parts[2], m.Parts[0], m.Parts[1]}
	second, err := reordered.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("encodings with parts in another order: got:\n%s\nwant:\n%s", second, first)
	}

	var fields map[string]json.RawMessage
	if err := json.Unmarshal(first, &fields); err != nil {
		t.Fatal(err)
	}
	wantFields := []string{"chunks", "counts", "created_at", "finished_at", "grid_points", "name", "numerics", "parts", "points", "schema_version", "spec", "status", "sweep_id"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, wantFields) {
		t.Errorf("JSON fields: got: %v want: %v", got, wantFields)
	}
	if got, want := string(fields["created_at"]), `"2026-05-01T10:00:00.123456789Z"`; got != want {
		t.Errorf("created_at: got: %s want: %s", got, want)
	}
	if got, want := string(fields["schema_version"]), `"1"`; got != want {
		t.Errorf("schema_version: got: %s want: %s", got, want)
	}

	back, err := DecodeManifest(first)
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.SchemaVersion = SchemaVersion
	want.CreatedAt = m.CreatedAt.UTC()
	want.Parts = []Part{m.Parts[1], m.Parts[0], m.Parts[2]}
	var spec, wantSpec any
	if err := json.Unmarshal(back.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(m.Spec, &wantSpec)
	if !reflect.DeepEqual(spec, wantSpec) {
		t.Errorf("spec: got: %s want: %s", back.Spec, m.Spec)
	}
	back.Spec, want.Spec = nil, nil
	if d := diffRows([]Manifest{*back}, []Manifest{want}); d != "" {
		t.Errorf("decoded manifest differs:\n%s", d)
	}
	if err := back.Parts[0].Check([]byte("a")); err != nil {
		t.Errorf("Part.Check of the right bytes: got: %v want: nil", err)
	}
	if err := back.Parts[0].Check([]byte("A")); err == nil {
		t.Errorf("Part.Check of other bytes: got: nil want: an error")
	}

	unfinished := m
	unfinished.FinishedAt = time.Time{}
	unfinished.Status = SweepIncomplete
	body, err := unfinished.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("finished_at")) {
		t.Errorf("manifest of an unfinished sweep: got: a finished_at field want: none")
	}
}

func TestManifestRejects(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"other version", `{"schema_version":"2","sweep_id":"a","status":"complete"}`, `manifest schema_version "2", this code reads "1"`},
		{"bad status", `{"schema_version":"1","sweep_id":"a","status":"done"}`, `manifest status "done" is not one of`},
		{"bad sweep id", `{"schema_version":"1","sweep_id":"../x","status":"complete"}`, `sweep id "../x" cannot appear in an object key`},
		{"bad table", `{"schema_version":"1","sweep_id":"a","status":"complete","parts":[{"key":"k","table":"runs"}]}`, `table "runs" is not one of`},
		{"not JSON", `{`, "decode manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeManifest([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v want: an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := (&Manifest{SweepID: "a", Status: "complete", Spec: json.RawMessage(`{bad`)}).Encode(); err == nil {
		t.Errorf("Encode with an invalid spec: got: no error want: an error")
	}
}
