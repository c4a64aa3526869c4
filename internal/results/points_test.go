package results

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/isweep/isweep/internal/dynamics"
)

// onePartition returns the rows of rows' largest partition.
func onePartition(rows []PointRow) []PointRow {
	var best []PointRow
	for _, p := range splitPoints(rows) {
		if len(p.Rows) > len(best) {
			best = p.Rows
		}
	}
	return best
}

// samePartition moves every row into partition p.
func samePartition(rows []PointRow, p Partition) []PointRow {
	for i := range rows {
		rows[i].Params.Algorithm, rows[i].Params.N = p.Algorithm, p.N
	}
	return rows
}

func TestPointsRoundTrip(t *testing.T) {
	direct4 := Partition{Algorithm: dynamics.Direct, N: 4}
	convTime, convStep, floorError := 2.5, int64(250), 7e-4
	tests := []struct {
		name string
		rows []PointRow
	}{
		{name: "empty", rows: nil},
		{name: "one row", rows: []PointRow{{
			SweepID: "s1", PointID: "s1-p0", PointIndex: 0, Chunk: 0,
			Params: dynamics.Params{Algorithm: dynamics.Interneuron, Mode: dynamics.Online, N: 3, K: 5,
				InputSpectrum: dynamics.Spectrum{Values: []float64{0.1, 1e-300, 3.5e17}},
				InputBasis:    "random", InitScale: 10, InitShape: "logspread", InitSpread: 100, InitBasis: "random",
				Eta: 0.01, Batch: 8, Tol: 1e-3, Horizon: 1e5, Hold: 2.5, Record: 7, Seed: math.MaxInt64},
			Result: dynamics.Result{ConvTime: &convTime, ConvStep: &convStep, FinalError: 1e-3, MinError: 5e-4, FloorError: &floorError,
				Steps: 1 << 40, RHSEvals: 0,
				Trajectory: []dynamics.Sample{{T: 1, Step: 2, Error: 3, EigMin: 4, EigMax: 5}}},
			Status: StatusConverged, CodeVersion: "v1.2.3", Numerics: 2, WorkerHost: "host", Attempt: math.MaxInt32, WallSeconds: 0.25,
			StartedAt:  time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
			FinishedAt: time.Date(2262, 4, 11, 23, 47, 16, 0, time.UTC),
		}}},
		{name: "nulls and empty strings", rows: []PointRow{{
			SweepID: "s1", PointID: "", Params: dynamics.Params{Algorithm: dynamics.Direct, N: 1},
			Status: StatusDiverged, Result: dynamics.Result{Diverged: true, FinalError: math.Inf(1), MinError: math.NaN()},
		}, {
			SweepID: "s1", PointID: "p-failed", Params: dynamics.Params{Algorithm: dynamics.Direct, N: 1},
			Status: StatusFailed, Error: "",
		}}},
		{name: "unicode", rows: samePartition(sweepRows(rand.New(rand.NewPCG(1, 2)), "ünï-çødé", 3, 30, 40), direct4)},
		{name: "every status", rows: onePartition(sweepRows(rand.New(rand.NewPCG(3, 4)), "sweep", 0, 0, 500))},
		{name: "two row groups", rows: samePartition(sweepRows(rand.New(rand.NewPCG(5, 6)), "big", 9, 0, RowGroupRows+1000), direct4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)

			body, err := EncodePoints(tt.rows)
			if err != nil {
				t.Fatalf("EncodePoints: %v", err)
			}
			got, err := DecodePoints(body, mem)
			if err != nil {
				t.Fatalf("DecodePoints: %v", err)
			}
			want := make([]PointRow, len(tt.rows))
			for i, r := range tt.rows {
				r.Result.Trajectory = nil // not stored in the points table
				want[i] = r
			}
			if d := diffRows(got, want); d != "" {
				t.Errorf("decoded rows differ:\n%s", d)
			}
		})
	}
}

func TestEncodePointsIsDeterministic(t *testing.T) {
	rows := onePartition(sweepRows(rand.New(rand.NewPCG(7, 8)), "det", 1, 0, 300))
	first, err := EncodePoints(rows)
	if err != nil {
		t.Fatal(err)
	}
	second, err := EncodePoints(rows)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("two encodings of the same rows differ: got: %d bytes want: the same %d bytes", len(second), len(first))
	}
}

func TestPointsTimesAreMicrosecondsUTC(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	in := time.Date(2026, 1, 2, 3, 4, 5, 678901234, paris)
	rows := []PointRow{{SweepID: "s", PointID: "p", Params: dynamics.Params{Algorithm: dynamics.Direct, N: 2},
		Status: StatusNotConverged, StartedAt: in}}
	body, err := EncodePoints(rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePoints(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 2, 2, 4, 5, 678901000, time.UTC)
	if s := got[0].StartedAt; !s.Equal(want) || s.Location() != time.UTC {
		t.Errorf("started_at: got: %v want: %v", s, want)
	}
	if f := got[0].FinishedAt; !f.IsZero() {
		t.Errorf("finished_at of a zero time: got: %v want: the zero time (NULL)", f)
	}
}

func TestPointsFileLayout(t *testing.T) {
	rows := samePartition(sweepRows(rand.New(rand.NewPCG(9, 10)), "layout", 2, 0, 2*RowGroupRows+5), Partition{Algorithm: dynamics.Interneuron, N: 16})
	body, err := EncodePoints(rows)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	kv := rdr.MetaData().KeyValueMetadata()
	for key, want := range map[string]string{
		MetaSchemaVersion: "1",
		MetaTable:         "points",
		MetaPartition:     "algorithm=interneuron/n=16",
	} {
		if got := kv.FindValue(key); got == nil || *got != want {
			t.Errorf("metadata %s: got: %s want: %q", key, describe(got), want)
		}
	}
	if kv.FindValue("ARROW:schema") == nil {
		t.Errorf("metadata ARROW:schema: got: missing want: the stored Arrow schema")
	}
	if got, want := rdr.NumRowGroups(), 3; got != want {
		t.Errorf("row groups: got: %d want: %d", got, want)
	}
	for g := 0; g < rdr.NumRowGroups(); g++ {
		rg := rdr.MetaData().RowGroup(g)
		if rg.NumRows() > RowGroupRows {
			t.Errorf("row group %d: got: %d rows want: ≤ %d", g, rg.NumRows(), RowGroupRows)
		}
		for c := 0; c < rg.NumColumns(); c++ {
			col, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if col.Compression() != compress.Codecs.Zstd {
				t.Errorf("row group %d column %s: got: %v compression want: zstd", g, col.PathInSchema(), col.Compression())
			}
		}
	}
	schema := rdr.MetaData().Schema
	partitionColumns := []string{"algorithm", "n"}
	for _, name := range partitionColumns {
		if schema.ColumnIndexByName(name) >= 0 {
			t.Errorf("partition column %q: got: stored in the file want: only in the path", name)
		}
	}
	if got, want := schema.NumColumns(), len(PointsSchema.Fields())-len(partitionColumns); got != want {
		t.Errorf("columns: got: %d want: %d", got, want)
	}
	for _, name := range []string{"conv_time", "conv_step", "diverge_reason", "error", "started_at", "finished_at"} {
		if rep := schema.Column(schema.ColumnIndexByName(name)).SchemaNode().RepetitionType(); rep != parquet.Repetitions.Optional {
			t.Errorf("column %s: got: %v want: OPTIONAL (nullable)", name, rep)
		}
	}
}

func TestEncodePointsRejects(t *testing.T) {
	good := func() PointRow {
		return PointRow{SweepID: "s", PointID: "p7", Params: dynamics.Params{Algorithm: dynamics.Direct, N: 2}, Status: StatusConverged}
	}
	tests := []struct {
		name   string
		modify func(rows []PointRow)
		want   string // substrings of the error
	}{
		{"two partitions", func(r []PointRow) { r[1].Params.N = 3 }, "row 1 (point \"p7\") is in partition algorithm=direct/n=3 but row 0 is in algorithm=direct/n=2"},
		{"unknown status", func(r []PointRow) { r[1].Status = "done" }, `status "done" is not one of`},
		{"empty status", func(r []PointRow) { r[0].Status = "" }, `row 0 (point "p7"): status ""`},
		{"error on a converged point", func(r []PointRow) { r[1].Error = "boom" }, `error "boom" is set but status is "converged"`},
		{"reason without divergence", func(r []PointRow) { r[0].Result.DivergeReason = "nan" }, `diverge_reason "nan" is set but diverged is false`},
		{"bad algorithm", func(r []PointRow) { r[0].Params.Algorithm = "a/b" }, `algorithm "a/b" cannot name a partition folder`},
		{"n zero", func(r []PointRow) { r[0].Params.N = 0 }, "n = 0 cannot name a partition folder"},
		{"NaN eigenvalue", func(r []PointRow) { r[1].Params.InputSpectrum.Values = []float64{1, math.NaN()} }, "input_spectrum values [1 NaN] cannot be written as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rows := []PointRow{good(), good()}
			tt.modify(rows)
			_, err := EncodePoints(rows)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v want: an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	traj, err := encodeTrajectoryRows(trajectoryRows("s", "p", dynamics.Params{Algorithm: dynamics.Direct, N: 2}, []dynamics.Sample{{T: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not Parquet", []byte("PAR1 not really"), "not a Parquet file"},
		{"another table", traj, `the file's isweep.table is "trajectories", want "points"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, err := DecodePoints(tt.data, mem)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got: %v want: an error containing %q", err, tt.want)
			}
		})
	}
}
