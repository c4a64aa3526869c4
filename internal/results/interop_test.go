package results

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/internal/store"
)

const interopSweep = "sw-interop"

// interopDataset is what writeInteropDataset stored.
type interopDataset struct {
	points       []PointRow      // rows of interopSweep, by point index
	trajectories []TrajectoryRow // trajectory rows of interopSweep
	manifest     Manifest
}

// writeInteropDataset writes a small multi-partition sweep (4 chunks, both
// algorithms, n ∈ {2, 4, 16}, every status, NULL conv_time) with its
// trajectories, summary and manifest to st, plus a second sweep sharing the
// partition folders.
func writeInteropDataset(t *testing.T, st store.Store) interopDataset {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(2026, 5))

	var data interopDataset
	var parts []Part
	const chunks, perChunk = 4, 40
	for chunk := int64(0); chunk < chunks; chunk++ {
		rows := sweepRows(rng, interopSweep, chunk, chunk*perChunk, perChunk)
		written, err := writePoints(ctx, st, interopSweep, chunk, rows)
		if err != nil {
			t.Fatalf("WritePoints chunk %d: %v", chunk, err)
		}
		parts = append(parts, written...)
		var traj []TrajectoryRow
		for _, r := range rows {
			if r.Status != StatusFailed {
				traj = append(traj, trajectoryRows(r.SweepID, r.PointID, r.Params, trajectorySamples(rng, 1+rng.IntN(4)))...)
			}
		}
		written, err = writeTrajectories(ctx, st, interopSweep, chunk, traj)
		if err != nil {
			t.Fatalf("WriteTrajectories chunk %d: %v", chunk, err)
		}
		parts = append(parts, written...)
		data.points = append(data.points, rows...)
		data.trajectories = append(data.trajectories, traj...)
	}
	summary, err := writeSummary(ctx, st, interopSweep, Summarize(data.points))
	if err != nil {
		t.Fatalf("WriteSummary: %v", err)
	}
	parts = append(parts, summary)
	data.manifest = Manifest{
		SweepID:    interopSweep,
		Name:       "interop — ünïcode",
		Spec:       json.RawMessage(`{"algorithm":["direct","interneuron"],"n":[2,4,16]}`),
		Status:     SweepComplete,
		CreatedAt:  time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		FinishedAt: time.Date(2026, 5, 1, 12, 5, 0, 0, time.UTC),
		Points:     int64(len(data.points)),
		Chunks:     chunks,
		Counts:     CountStatuses(data.points),
		Parts:      parts,
	}
	body, err := data.manifest.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, ManifestKey(interopSweep), body); err != nil {
		t.Fatal(err)
	}

	// Another sweep in the same folders, which readers must tell apart.
	other := sweepRows(rng, "sw-interop-2", 0, 0, 25)
	if _, err := writePoints(ctx, st, "sw-interop-2", 0, other); err != nil {
		t.Fatal(err)
	}
	return data
}

// checkStoreReadBack reads the sweep back through the store in Go and
// checks that rewriting a chunk is idempotent while changing it conflicts.
func checkStoreReadBack(t *testing.T, st store.Store, data interopDataset) {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	got, err := ReadPoints(ctx, st, interopSweep, mem)
	if err != nil {
		t.Fatalf("ReadPoints: %v", err)
	}
	if d := diffRows(got, data.points); d != "" {
		t.Errorf("ReadPoints differs from the rows written:\n%s", d)
	}

	chunk0 := data.points[:40]
	if _, err := writePoints(ctx, st, interopSweep, 0, chunk0); err != nil {
		t.Errorf("rewriting chunk 0 unchanged: got: %v want: no error", err)
	}
	changed := slices.Clone(chunk0)
	changed[0].Attempt++
	var conflict *store.ConflictError
	if _, err := writePoints(ctx, st, interopSweep, 0, changed); !errors.As(err, &conflict) {
		t.Errorf("rewriting chunk 0 changed: got: %v want: a *store.ConflictError", err)
	}

	body, err := st.Get(ctx, ManifestKey(interopSweep))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := DecodeManifest(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range manifest.Parts {
		body, err := st.Get(ctx, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Check(body); err != nil {
			t.Error(err)
		}
	}
}

// requirePython skips when ISWEEP_SKIP_PYTHON=1 and fails when python3 or
// its packages are missing.
func requirePython(t *testing.T) {
	t.Helper()
	if os.Getenv("ISWEEP_SKIP_PYTHON") == "1" {
		t.Skip("ISWEEP_SKIP_PYTHON=1: skipping the pandas/pyarrow/DuckDB interop test")
	}
	out, err := exec.Command("python3", "-c", "import pandas, pyarrow, duckdb").CombinedOutput()
	if err != nil {
		t.Fatalf("the interop tests need python3 with pandas, pyarrow and duckdb (%v: %s); install them with: python3 -m pip install pandas pyarrow duckdb (or set ISWEEP_SKIP_PYTHON=1 to skip)", err, bytes.TrimSpace(out))
	}
}

// runPython runs a script of testdata with args and extra environment and
// returns its standard output.
func runPython(t *testing.T, env []string, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("python3", append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 %s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// pyPoint is a points row as a Python reader printed it.
type pyPoint struct {
	SweepID       string   `json:"sweep_id"`
	PointID       string   `json:"point_id"`
	PointIndex    int64    `json:"point_index"`
	Chunk         int64    `json:"chunk"`
	Algorithm     string   `json:"algorithm"`
	N             int64    `json:"n"`
	Mode          string   `json:"mode"`
	Eta           float64  `json:"eta"`
	InitScale     float64  `json:"init_scale"`
	InputSpectrum string   `json:"input_spectrum"`
	SpectrumMin   float64  `json:"spectrum_min"`
	SpectrumMax   float64  `json:"spectrum_max"`
	ConvTime      *float64 `json:"conv_time"`
	ConvStep      *int64   `json:"conv_step"`
	Diverged      bool     `json:"diverged"`
	DivergeReason *string  `json:"diverge_reason"`
	Status        string   `json:"status"`
	Error         *string  `json:"error"`
	WorkerHost    string   `json:"worker_host"`
	Attempt       int32    `json:"attempt"`
	StartedAtUS   *int64   `json:"started_at_us"`
	FinishedAtUS  *int64   `json:"finished_at_us"`
}

func wantPyPoint(t *testing.T, r PointRow) pyPoint {
	spectrum, err := SpectrumJSON(r.Params.InputSpectrum)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := SpectrumRange(r.Params.InputSpectrum, r.Params.N)
	p := pyPoint{
		SweepID: r.SweepID, PointID: r.PointID, PointIndex: r.PointIndex, Chunk: r.Chunk,
		Algorithm: string(r.Params.Algorithm), N: int64(r.Params.N), Mode: string(r.Params.Mode),
		Eta: r.Params.Eta, InitScale: r.Params.InitScale, InputSpectrum: spectrum, SpectrumMin: lo, SpectrumMax: hi,
		ConvTime: r.Result.ConvTime, ConvStep: r.Result.ConvStep, Diverged: r.Result.Diverged,
		Status: string(r.Status), WorkerHost: r.WorkerHost, Attempt: r.Attempt,
	}
	if r.Result.Diverged {
		p.DivergeReason = &r.Result.DivergeReason
	}
	if r.Status == StatusFailed {
		p.Error = &r.Error
	}
	if !r.StartedAt.IsZero() {
		p.StartedAtUS = ptr(r.StartedAt.UnixMicro())
	}
	if !r.FinishedAt.IsZero() {
		p.FinishedAtUS = ptr(r.FinishedAt.UnixMicro())
	}
	return p
}

// pandasPoint is the subset of a points row read through pandas.
type pandasPoint struct {
	PointID   string   `json:"point_id"`
	Algorithm string   `json:"algorithm"`
	N         int64    `json:"n"`
	ConvTime  *float64 `json:"conv_time"`
	Status    string   `json:"status"`
	Error     *string  `json:"error"`
}

type pyTrajectory struct {
	PointID   string  `json:"point_id"`
	Algorithm string  `json:"algorithm"`
	N         int64   `json:"n"`
	Sample    int32   `json:"sample"`
	T         float64 `json:"t"`
	Step      int64   `json:"step"`
	Error     float64 `json:"error"`
}

type pySummary struct {
	Algorithm    string   `json:"algorithm"`
	Mode         string   `json:"mode"`
	N            int64    `json:"n"`
	InitScale    float64  `json:"init_scale"`
	BestEta      *float64 `json:"best_eta"`
	BestConvTime *float64 `json:"best_conv_time"`
	Points       int64    `json:"points"`
	Converged    int64    `json:"converged"`
	Diverged     int64    `json:"diverged"`
}

type pyReport struct {
	Readers map[string]struct {
		Types  map[string]string `json:"types"`
		Points json.RawMessage   `json:"points"`
	} `json:"readers"`
	SummaryDuckDB []pySummary `json:"summary_duckdb"`
	SummaryFile   []pySummary `json:"summary_file"`
	Trajectories  struct {
		PyArrow []pyTrajectory `json:"pyarrow"`
		DuckDB  []pyTrajectory `json:"duckdb"`
	} `json:"trajectories"`
	Manifest struct {
		Status string       `json:"status"`
		Counts StatusCounts `json:"counts"`
		Parts  []struct {
			Key      string `json:"key"`
			SHA256OK bool   `json:"sha256_ok"`
			BytesOK  bool   `json:"bytes_ok"`
			RowsOK   bool   `json:"rows_ok"`
		} `json:"parts"`
	} `json:"manifest"`
	SingleFile struct {
		Key              string            `json:"key"`
		Columns          []string          `json:"columns"`
		Rows             int64             `json:"rows"`
		Metadata         map[string]string `json:"metadata"`
		DuckDBPartitions [][]any           `json:"duckdb_partitions"`
	} `json:"single_file"`
}

// checkPythonReport compares what the Python readers saw with the dataset.
func checkPythonReport(t *testing.T, out []byte, data interopDataset, viaS3 bool) {
	t.Helper()
	var report pyReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("parse read_points.py output: %v\n%s", err, out)
	}

	wantPoints := make([]pyPoint, len(data.points))
	wantPandas := make([]pandasPoint, len(data.points))
	for i, r := range data.points {
		wantPoints[i] = wantPyPoint(t, r)
		p := wantPoints[i]
		wantPandas[i] = pandasPoint{PointID: p.PointID, Algorithm: p.Algorithm, N: p.N, ConvTime: p.ConvTime, Status: p.Status, Error: p.Error}
	}
	slices.SortFunc(wantPoints, func(a, b pyPoint) int { return cmp.Compare(a.PointID, b.PointID) })
	slices.SortFunc(wantPandas, func(a, b pandasPoint) int { return cmp.Compare(a.PointID, b.PointID) })

	for _, name := range []string{"pyarrow", "duckdb", "pandas"} {
		reader, ok := report.Readers[name]
		if !ok {
			t.Errorf("reader %s: got: no report want: one", name)
			continue
		}
		t.Logf("%s sees algorithm as %s and n as %s", name, reader.Types["algorithm"], reader.Types["n"])
		if name == "pandas" {
			var got []pandasPoint
			if err := json.Unmarshal(reader.Points, &got); err != nil {
				t.Fatalf("%s points: %v", name, err)
			}
			if d := diffRows(got, wantPandas); d != "" {
				t.Errorf("%s points differ from the rows written:\n%s", name, d)
			}
			continue
		}
		var got []pyPoint
		if err := json.Unmarshal(reader.Points, &got); err != nil {
			t.Fatalf("%s points: %v", name, err)
		}
		slices.SortFunc(got, func(a, b pyPoint) int { return cmp.Compare(a.PointID, b.PointID) })
		if d := diffRows(got, wantPoints); d != "" {
			t.Errorf("%s points differ from the rows written:\n%s", name, d)
		}
		wantAlgo, wantN := []string{"string"}, []string{"int32", "int64"}
		if name == "duckdb" {
			wantAlgo, wantN = []string{"VARCHAR"}, []string{"BIGINT", "INTEGER"}
		}
		if !slices.Contains(wantAlgo, reader.Types["algorithm"]) || !slices.Contains(wantN, reader.Types["n"]) {
			t.Errorf("%s column types: got: algorithm %s, n %s want: algorithm one of %v, n one of %v",
				name, reader.Types["algorithm"], reader.Types["n"], wantAlgo, wantN)
		}
	}

	// DuckDB's "best conv_time over eta" must match Summarize exactly.
	var wantSummary []pySummary
	for _, s := range Summarize(data.points) {
		wantSummary = append(wantSummary, pySummary{
			Algorithm: string(s.Algorithm), Mode: string(s.Mode), N: int64(s.N), InitScale: s.InitScale,
			BestEta: s.BestEta, BestConvTime: s.BestConvTime, Points: s.Points, Converged: s.Converged, Diverged: s.Diverged,
		})
	}
	if d := diffRows(report.SummaryDuckDB, wantSummary); d != "" {
		t.Errorf("DuckDB summary query differs from Summarize:\n%s", d)
	}
	if d := diffRows(report.SummaryFile, wantSummary); d != "" {
		t.Errorf("summary.parquet read by pyarrow differs from Summarize:\n%s", d)
	}
	nulls := 0
	for _, s := range wantSummary {
		if s.BestConvTime == nil {
			nulls++
		}
	}
	if nulls == 0 {
		t.Errorf("summary groups with no converged point: got: none want: some, so NULL best_conv_time is compared")
	}

	wantTraj := make([]pyTrajectory, len(data.trajectories))
	for i, r := range data.trajectories {
		wantTraj[i] = pyTrajectory{PointID: r.PointID, Algorithm: string(r.Algorithm), N: int64(r.N), Sample: r.Sample, T: r.T, Step: r.Step, Error: r.Error}
	}
	byPointSample := func(a, b pyTrajectory) int {
		return cmp.Or(cmp.Compare(a.PointID, b.PointID), cmp.Compare(a.Sample, b.Sample))
	}
	slices.SortFunc(wantTraj, byPointSample)
	for name, got := range map[string][]pyTrajectory{"pyarrow": report.Trajectories.PyArrow, "duckdb": report.Trajectories.DuckDB} {
		slices.SortFunc(got, byPointSample)
		if d := diffRows(got, wantTraj); d != "" {
			t.Errorf("%s trajectories differ from the rows written:\n%s", name, d)
		}
	}

	if got, want := len(report.Manifest.Parts), len(data.manifest.Parts); got != want {
		t.Errorf("manifest parts checked by Python: got: %d want: %d", got, want)
	}
	for _, p := range report.Manifest.Parts {
		if !p.SHA256OK || !p.BytesOK || !p.RowsOK {
			t.Errorf("manifest part %s checked by Python: got: sha256 %v, bytes %v, rows %v want: all true", p.Key, p.SHA256OK, p.BytesOK, p.RowsOK)
		}
	}
	if report.Manifest.Counts != data.manifest.Counts || report.Manifest.Status != SweepComplete {
		t.Errorf("manifest read by Python: got: %s %+v want: %s %+v", report.Manifest.Status, report.Manifest.Counts, SweepComplete, data.manifest.Counts)
	}

	single := report.SingleFile
	var wantColumns []string
	for _, f := range PointsPartSchema.Fields() {
		wantColumns = append(wantColumns, f.Name)
	}
	if !slices.Equal(single.Columns, wantColumns) {
		t.Errorf("columns of one part read alone: got: %v want: %v", single.Columns, wantColumns)
	}
	partition := strings.TrimPrefix(filepath.Dir(single.Key), "points/")
	if got := single.Metadata; got[MetaPartition] != partition || got[MetaTable] != TablePoints || got[MetaSchemaVersion] != SchemaVersion {
		t.Errorf("metadata of %s read by pyarrow: got: %v want: %s=%s, %s=%s, %s=%s", single.Key, got,
			MetaPartition, partition, MetaTable, TablePoints, MetaSchemaVersion, SchemaVersion)
	}
	if !viaS3 {
		p, err := ParsePartition(partition)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]any{{string(p.Algorithm), float64(p.N)}}
		if !slicesEqualAny(single.DuckDBPartitions, want) {
			t.Errorf("DuckDB hive partitions of %s read alone: got: %v want: %v", single.Key, single.DuckDBPartitions, want)
		}
	}
}

func slicesEqualAny(a, b [][]any) bool {
	return slices.EqualFunc(a, b, func(x, y []any) bool { return slices.Equal(x, y) })
}

func TestInteropFolder(t *testing.T) {
	requirePython(t)
	root := filepath.Join(t.TempDir(), "results")
	st, err := store.Open(context.Background(), root, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := writeInteropDataset(t, st)
	checkStoreReadBack(t, st, data)
	out := runPython(t, nil, "read_points.py", "--root", root, "--sweep", interopSweep)
	checkPythonReport(t, out, data, false)
}

func TestInteropS3(t *testing.T) {
	requirePython(t)
	srv := s3test.Start(t)
	for _, kv := range srv.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	st, err := store.Open(context.Background(), srv.Location("results/run1"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := writeInteropDataset(t, st)
	checkStoreReadBack(t, st, data)
	out := runPython(t, []string{"ISWEEP_S3_ENDPOINT=" + srv.Endpoint}, "read_points.py",
		"--s3", "--root", srv.Bucket+"/results/run1", "--sweep", interopSweep)
	checkPythonReport(t, out, data, true)
}

// TestPartitionColumnsStayInPath keeps the evidence for the layout decision
// of the package documentation: with algorithm and n also inside the part
// files, pandas/pyarrow cannot read the folder, while the layout this
// package writes reads everywhere. If pyarrow learns to merge such
// partitions, this test fails and the decision can be revisited.
func TestPartitionColumnsStayInPath(t *testing.T) {
	requirePython(t)
	root := filepath.Join(t.TempDir(), "results")
	st, err := store.Open(context.Background(), root, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeInteropDataset(t, st)
	out := runPython(t, nil, "partition_layout.py", "--root", root)
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("parse partition_layout.py output: %v\n%s", err, out)
	}
	want := map[string]string{
		"path only/pyarrow.dataset hive":           "ok",
		"path only/pandas.read_parquet":            "ok",
		"path only/duckdb hive_partitioning":       "ok",
		"inside, n int64/pyarrow.dataset hive":     "error",
		"inside, n int64/pandas.read_parquet":      "error",
		"inside, n int64/duckdb hive_partitioning": "ok",
		"inside, n int32/pyarrow.dataset hive":     "ok",
		"inside, n int32/pandas.read_parquet":      "error",
		"inside, n int32/duckdb hive_partitioning": "ok",
	}
	for key, w := range want {
		if g, ok := got[key]; !ok || !strings.HasPrefix(g, w) {
			t.Errorf("%s: got: %q want: %s", key, g, w)
		}
	}
}
