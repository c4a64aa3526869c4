package results

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/isweep/isweep/internal/dynamics"
)

// tableColumns are a table's column names: all, those in the object key,
// those dictionary-encoded.
type tableColumns struct {
	names, inPath, dictionary []string
}

func columnsOf[R any](t *table[R]) tableColumns {
	var c tableColumns
	for _, col := range t.columns {
		c.names = append(c.names, col.field.Name)
		if col.inPath {
			c.inPath = append(c.inPath, col.field.Name)
		}
		if col.dictionary {
			c.dictionary = append(c.dictionary, col.field.Name)
		}
	}
	return c
}

func fieldNames(s *arrow.Schema) []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	return names
}

// TestTablesDeriveFromColumns checks that each table's schemas and the
// files it writes hold its columns, no more, no fewer, in order: the
// schema a reader sees, the part files' schema without the partition
// columns, and the Parquet file, whose dictionary-encoded columns are
// those the columns ask for.
func TestTablesDeriveFromColumns(t *testing.T) {
	rows := onePartition(sweepRows(rand.New(rand.NewPCG(3, 4)), "derive", 0, 0, 200))
	rows[0].Params.Mode, rows[0].Params.Hold = dynamics.Online, 1 // hold is NULL in flow
	rows[0].Params.InitShape, rows[0].Params.InitSpectrum = dynamics.ShapeSpectrum, dynamics.Spectrum{Min: 1, Max: 3}
	rows[0].Params.Contexts = []dynamics.Context{{InputSpectrum: dynamics.Spectrum{Values: []float64{4, 4}}, InputBasis: "previous", Duration: 5}}
	for i := range rows {
		// One value per grid column for the whole part: every dictionary
		// column pays.
		rows[i].Params, rows[i].WorkerHost, rows[i].Attempt = rows[0].Params, "host", 1
		rows[i].Status, rows[i].Error, rows[i].Result.Diverged, rows[i].Result.DivergeReason = StatusFailed, "e", true, "r"
	}
	points, err := EncodePoints(rows)
	if err != nil {
		t.Fatal(err)
	}
	traj, err := encodeTrajectoryRows(trajectoryRows("derive", "p", rows[0].Params, make([]dynamics.Sample, 100)))
	if err != nil {
		t.Fatal(err)
	}
	members, err := EncodeMembers(slices.Repeat([]Member{{PointID: "p", SweepID: "s", Chunk: 1}}, 100))
	if err != nil {
		t.Fatal(err)
	}
	eta, convTime := 0.1, 2.5
	summary, err := EncodeSummary(slices.Repeat([]SummaryRow{{Algorithm: dynamics.Direct, Mode: dynamics.Flow, N: 4, InitScale: 1, BestEta: &eta, BestConvTime: &convTime, Points: 3}}, 100))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		columns              tableColumns
		schemaNames, inParts []string
		body                 []byte
	}{
		{"points", columnsOf(pointsTable), fieldNames(PointsSchema), fieldNames(PointsPartSchema), points},
		{"trajectories", columnsOf(trajectoriesTable), fieldNames(TrajectoriesSchema), fieldNames(TrajectoriesPartSchema), traj},
		{"members", columnsOf(membersTable), fieldNames(MembersSchema), fieldNames(MembersSchema), members},
		{"summary", columnsOf(summaryTable), fieldNames(SummarySchema), fieldNames(SummarySchema), summary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.schemaNames, tt.columns.names) {
				t.Errorf("schema: got: %q want: %q", tt.schemaNames, tt.columns.names)
			}
			wantParts := slices.DeleteFunc(slices.Clone(tt.columns.names), func(n string) bool { return slices.Contains(tt.columns.inPath, n) })
			if !slices.Equal(tt.inParts, wantParts) {
				t.Errorf("part schema: got: %q want: %q", tt.inParts, wantParts)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rdr, err := file.NewParquetReader(bytes.NewReader(tt.body), file.WithReadProps(parquet.NewReaderProperties(mem)))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			var inFile, dictionary []string
			for i := range rdr.MetaData().Schema.NumColumns() {
				name := rdr.MetaData().Schema.Column(i).Name()
				inFile = append(inFile, name)
				chunk, err := rdr.MetaData().RowGroup(0).ColumnChunk(i)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(chunk.Encodings(), parquet.Encodings.RLEDict) {
					dictionary = append(dictionary, name)
				}
			}
			if !slices.Equal(inFile, wantParts) {
				t.Errorf("file columns: got: %q want: %q", inFile, wantParts)
			}
			if !slices.Equal(dictionary, tt.columns.dictionary) {
				t.Errorf("dictionary-encoded columns: got: %q want: %q", dictionary, tt.columns.dictionary)
			}
		})
	}
}
