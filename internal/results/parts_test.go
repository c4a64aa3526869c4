package results

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/store"
)

// TestEncodedSchemaMatchesPqarrow checks that the parts parquetwriter writes have the
// Parquet schema, Arrow schema and metadata pqarrow writes for the same
// Arrow schema, so that every reader sees the same table.
func TestEncodedSchemaMatchesPqarrow(t *testing.T) {
	traj, err := encodeTrajectoryRows(trajectoryRows("s", "p", dynamics.Params{Algorithm: dynamics.Direct, N: 2}, []dynamics.Sample{{T: 1}, {T: 2}}))
	if err != nil {
		t.Fatal(err)
	}
	points, err := EncodePoints(onePartition(sweepRows(rand.New(rand.NewPCG(11, 12)), "schema", 0, 0, 50)))
	if err != nil {
		t.Fatal(err)
	}
	members, err := EncodeMembers([]Member{{PointID: "p", SweepID: "s", Chunk: 3}})
	if err != nil {
		t.Fatal(err)
	}
	summary, err := EncodeSummary(Summarize(onePartition(sweepRows(rand.New(rand.NewPCG(13, 14)), "schema", 0, 0, 50))))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		body      []byte
		schema    *arrow.Schema
		partition bool
	}{
		{"points", points, PointsPartSchema, true},
		{"trajectories", traj, TrajectoriesPartSchema, true},
		{"members", members, MembersSchema, false},
		{"summary", summary, SummarySchema, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rdr, err := file.NewParquetReader(bytes.NewReader(tt.body), file.WithReadProps(parquet.NewReaderProperties(mem)))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			want, err := pqarrow.ToParquet(tt.schema, nil, pqarrow.DefaultWriterProps())
			if err != nil {
				t.Fatal(err)
			}
			if got := rdr.MetaData().Schema; !got.Equals(want) {
				t.Errorf("Parquet schema: got:\n%s\nwant:\n%s", got, want)
			}
			for i := 0; i < want.NumColumns(); i++ {
				g, w := rdr.MetaData().Schema.Column(i), want.Column(i)
				if !g.LogicalType().Equals(w.LogicalType()) || g.ConvertedType() != w.ConvertedType() {
					t.Errorf("column %s: got: %s / %s want: %s / %s", w.Name(), g.LogicalType(), g.ConvertedType(), w.LogicalType(), w.ConvertedType())
				}
			}
			fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fr.Schema()
			if err != nil {
				t.Fatal(err)
			}
			// The reader adds PARQUET:field_id metadata to each field:
			// compare names, types, nullability and the schema metadata.
			sameFields := slices.EqualFunc(got.Fields(), tt.schema.Fields(), func(a, b arrow.Field) bool {
				return a.Name == b.Name && arrow.TypeEqual(a.Type, b.Type) && a.Nullable == b.Nullable
			})
			if !sameFields || !got.Metadata().Equal(tt.schema.Metadata()) {
				t.Errorf("Arrow schema: got:\n%s\nwant:\n%s", got, tt.schema)
			}
			kv := rdr.MetaData().KeyValueMetadata()
			keys := kv.Keys()
			wantKeys := append(slices.Clone(tt.schema.Metadata().Keys()), "ARROW:schema")
			if tt.partition {
				wantKeys = append(wantKeys, MetaPartition)
			}
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("key/value metadata keys: got: %q want: %q", keys, wantKeys)
			}
			if v := rdr.MetaData().Version(); v != parquet.V2_LATEST {
				t.Errorf("format version: got: %v want: %v", v, parquet.V2_LATEST)
			}
		})
	}
}

// TestEncodeConcurrently encodes parts from several goroutines at once (the
// encoders and their buffers are pooled and shared) and checks each against
// the same part encoded alone.
func TestEncodeConcurrently(t *testing.T) {
	var parts [][]PointRow
	for i := range 8 {
		parts = append(parts, onePartition(sweepRows(rand.New(rand.NewPCG(uint64(i), 99)), "conc", int64(i), int64(i)*1000, 50+i*300)))
	}
	want := make([][]byte, len(parts))
	for i, rows := range parts {
		var err error
		if want[i], err = EncodePoints(rows); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([][]byte, 4*len(parts))
	for j := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[j], _ = EncodePoints(parts[j%len(parts)])
		}()
	}
	wg.Wait()
	for j := range got {
		if !bytes.Equal(got[j], want[j%len(parts)]) {
			t.Errorf("part %d encoded concurrently: got: %d bytes want: the %d bytes encoded alone", j%len(parts), len(got[j]), len(want[j%len(parts)]))
		}
	}
}

// statisticsSweep returns the chunks of a sweep with the values statistics
// get wrong most easily: NaN, ±0, ±Inf, empty strings, negative numbers,
// columns entirely NULL in a chunk, a chunk of one row.
func statisticsSweep() [][]PointRow {
	const sweep = "sw-stats"
	rng := rand.New(rand.NewPCG(31, 41))
	chunk0 := sweepRows(rng, sweep, 0, 0, 60)
	chunk1 := sweepRows(rng, sweep, 1, 60, 40)
	for i := range chunk1 {
		r := &chunk1[i]
		switch i % 5 {
		case 0:
			r.Result.FinalError = math.NaN()
		case 1:
			r.Result.MinError, r.WallSeconds = math.Copysign(0, -1), 0
		case 2:
			r.Result.FinalError, r.Params.Seed = math.Inf(-1), -r.Params.Seed
		case 3:
			r.WorkerHost, r.CodeVersion = "", ""
		}
		r.Result.ConvTime, r.Result.ConvStep = nil, nil
		if r.Status == StatusConverged {
			r.Status = StatusNotConverged
		}
	}
	chunk2 := sweepRows(rng, sweep, 2, 100, 1)
	chunk2[0].Result.FinalError = math.NaN()
	return [][]PointRow{chunk0, chunk1, chunk2}
}

// TestInteropStatistics has pyarrow check the statistics of every column
// chunk against the data, and DuckDB, which skips row groups by them, count
// filtered rows from the files as it does from the same rows without
// statistics (testdata/check_statistics.py).
func TestInteropStatistics(t *testing.T) {
	requirePython(t)
	root := filepath.Join(t.TempDir(), "results")
	ctx := context.Background()
	st, err := store.Open(ctx, root, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 9))
	for chunk, rows := range statisticsSweep() {
		if _, err := writePoints(ctx, st, "sw-stats", int64(chunk), rows); err != nil {
			t.Fatal(err)
		}
		var traj []TrajectoryRow
		for _, r := range rows {
			samples := trajectorySamples(rng, 1+rng.IntN(5))
			samples[0].Error = math.NaN()
			traj = append(traj, trajectoryRows(r.SweepID, r.PointID, r.Params, samples)...)
		}
		if _, err := writeTrajectories(ctx, st, "sw-stats", int64(chunk), traj); err != nil {
			t.Fatal(err)
		}
	}
	out := runPython(t, nil, "check_statistics.py", "--root", root)
	var report struct {
		Files          int      `json:"files"`
		ColumnsChecked int      `json:"columns_checked"`
		Queries        int      `json:"queries"`
		Mismatches     []string `json:"mismatches"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("parse check_statistics.py output: %v\n%s", err, out)
	}
	if report.Files < 10 || report.ColumnsChecked < 10*len(TrajectoriesPartSchema.Fields()) || report.Queries == 0 {
		t.Errorf("checked: got: %d files, %d column chunks, %d queries want: at least 10 files, every column chunk, some queries",
			report.Files, report.ColumnsChecked, report.Queries)
	}
	for _, m := range report.Mismatches {
		t.Error(m)
	}
}

// TestSpectrumCacheOutlivesRows checks the cache of spectrum JSON that
// pooled encoders keep across parts: a spectrum changed in place by the
// caller, or differing only in the sign of a zero, gets its own JSON.
func TestSpectrumCacheOutlivesRows(t *testing.T) {
	values := []float64{1, 2, 3}
	row := func(id string, s dynamics.Spectrum) PointRow {
		return PointRow{SweepID: "s", PointID: id, Params: dynamics.Params{Algorithm: dynamics.Direct, N: 3, InputSpectrum: s}, Status: StatusConverged}
	}
	first := []PointRow{row("p0", dynamics.Spectrum{Values: values})}
	if _, err := EncodePoints(first); err != nil {
		t.Fatal(err)
	}
	values[1] = 20 // the caller reuses its slice for the next part
	second := []PointRow{
		row("p1", dynamics.Spectrum{Values: values}),
		row("p2", dynamics.Spectrum{Values: []float64{0}}),
		row("p3", dynamics.Spectrum{Values: []float64{math.Copysign(0, -1)}}),
		row("p4", dynamics.Spectrum{Min: 0.5, Max: 1}),
	}
	body, err := EncodePoints(second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePoints(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if d := diffRows([]dynamics.Spectrum{got[i].Params.InputSpectrum}, []dynamics.Spectrum{second[i].Params.InputSpectrum}); d != "" {
			t.Errorf("%s input_spectrum: %s", second[i].PointID, d)
		}
	}
}
