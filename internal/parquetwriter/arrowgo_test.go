package parquetwriter_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/isweep/isweep/internal/parquetwriter"
	"github.com/isweep/isweep/internal/results"
)

// part is the content of one part file as columns: values[i] is a []string,
// []int64, []int32, []float64 or []bool; valid[i] is nil for a required
// column.
type part struct {
	schema     *arrow.Schema
	dictionary []string
	rows       int
	values     []any
	valid      [][]bool
}

// gridColumns are the columns that take few values in a sweep's part
// (the ones isweep writes with a dictionary).
var gridColumns = []string{
	"sweep_id", "chunk", "mode", "k", "input_spectrum", "spectrum_min", "spectrum_max",
	"input_basis", "init_shape", "init_basis", "init_scale", "init_spread", "eta", "tol", "horizon",
	"batch", "record", "diverge_reason", "status", "error", "code_version", "worker_host", "attempt",
}

// realisticPart returns rows rows of a points part, or of a trajectories
// part with 50 samples a point: grid columns take a few values in runs,
// ids and results a value a row, nullable columns are NULL in about a
// third of the rows.
func realisticPart(s *arrow.Schema, trajectories bool, rows int) part {
	rng := rand.New(rand.NewPCG(7, uint64(rows)))
	p := part{schema: s, rows: rows}
	for _, f := range s.Fields() {
		grid := slices.Contains(gridColumns, f.Name)
		if trajectories {
			grid = f.Name == "sweep_id" || f.Name == "point_id"
		}
		if grid {
			p.dictionary = append(p.dictionary, f.Name)
		}
		key := func(i int) int {
			if !grid {
				return i
			}
			if trajectories {
				return i / 50
			}
			return (i / 7) % 5
		}
		var valid []bool
		if f.Nullable {
			valid = make([]bool, rows)
			for i := range valid {
				valid[i] = rng.IntN(3) > 0
			}
		}
		switch f.Type.ID() {
		case arrow.STRING:
			v := make([]string, rows)
			for i := range v {
				v[i] = fmt.Sprintf("%016x", uint64(key(i))*0x9e3779b97f4a7c15)
			}
			p.values = append(p.values, v)
		case arrow.INT64, arrow.TIMESTAMP:
			v := make([]int64, rows)
			for i := range v {
				if grid {
					v[i] = int64(key(i))
				} else {
					v[i] = rng.Int64()
				}
			}
			p.values = append(p.values, v)
		case arrow.INT32:
			v := make([]int32, rows)
			for i := range v {
				v[i] = int32(key(i))
			}
			p.values = append(p.values, v)
		case arrow.FLOAT64:
			v := make([]float64, rows)
			for i := range v {
				if grid {
					v[i] = float64(key(i)) / 10
				} else {
					v[i] = rng.ExpFloat64()
				}
			}
			p.values = append(p.values, v)
		case arrow.BOOL:
			v := make([]bool, rows)
			for i := range v {
				v[i] = rng.IntN(4) == 0
			}
			p.values = append(p.values, v)
		}
		p.valid = append(p.valid, valid)
	}
	return p
}

func appendAll[T parquetwriter.Value](c parquetwriter.Column, values []T, valid []bool) {
	b := c.(*parquetwriter.ColumnBuffer[T])
	for i, v := range values {
		if valid != nil && !valid[i] {
			b.AppendNull()
		} else {
			b.Append(v)
		}
	}
}

// writeIsweep writes p with parquetwriter, in one row group.
func writeIsweep(layout *parquetwriter.Layout, cols parquetwriter.Columns, p part) ([]byte, error) {
	enc := layout.Encoder()
	defer enc.Release()
	cols.Reset(p.rows)
	for i, values := range p.values {
		switch v := values.(type) {
		case []string:
			appendAll(cols[i], v, p.valid[i])
		case []int64:
			appendAll(cols[i], v, p.valid[i])
		case []int32:
			appendAll(cols[i], v, p.valid[i])
		case []float64:
			appendAll(cols[i], v, p.valid[i])
		case []bool:
			appendAll(cols[i], v, p.valid[i])
		}
	}
	if err := enc.WriteRowGroup(cols, p.rows); err != nil {
		return nil, err
	}
	return enc.Finish(), nil
}

// arrowGoWriter writes parts with arrow-go's low-level Parquet writer: the
// same Parquet schema, zstd at its fastest level, dictionaries for the same
// columns, statistics, one row group.
type arrowGoWriter struct {
	schema *schema.Schema
	props  *parquet.WriterProperties
	// the values as WriteBatch takes them
	byteArrays [][]parquet.ByteArray
	levels     [][]int16
}

func newArrowGoWriter(t testing.TB, p part) *arrowGoWriter {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(int64(p.rows)),
		parquet.WithStats(true),
	}
	for _, name := range p.dictionary {
		opts = append(opts, parquet.WithDictionaryFor(name, true))
	}
	w := &arrowGoWriter{props: parquet.NewWriterProperties(opts...)}
	var err error
	if w.schema, err = pqarrow.ToParquet(p.schema, w.props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	for i, values := range p.values {
		var ba []parquet.ByteArray
		if v, ok := values.([]string); ok {
			ba = make([]parquet.ByteArray, 0, len(v))
			for j, s := range v {
				if p.valid[i] == nil || p.valid[i][j] {
					ba = append(ba, parquet.ByteArray(s))
				}
			}
		}
		w.byteArrays = append(w.byteArrays, ba)
		var levels []int16
		if p.valid[i] != nil {
			levels = make([]int16, p.rows)
			for j, ok := range p.valid[i] {
				if ok {
					levels[j] = 1
				}
			}
		}
		w.levels = append(w.levels, levels)
	}
	return w
}

// present returns the values whose valid is set (all when valid is nil):
// WriteBatch takes the non-NULL values only.
func present[T any](values []T, valid []bool) []T {
	if valid == nil {
		return values
	}
	out := make([]T, 0, len(values))
	for i, v := range values {
		if valid[i] {
			out = append(out, v)
		}
	}
	return out
}

func (w *arrowGoWriter) write(p part, nonNull []any) ([]byte, error) {
	var buf bytes.Buffer
	fw := file.NewParquetWriter(&buf, w.schema.Root(), file.WithWriterProps(w.props))
	rg, err := fw.AppendRowGroupChecked()
	if err != nil {
		return nil, err
	}
	for i := range p.values {
		cw, err := rg.NextColumn()
		if err != nil {
			return nil, err
		}
		levels := w.levels[i]
		switch c := cw.(type) {
		case *file.ByteArrayColumnChunkWriter:
			_, err = c.WriteBatch(w.byteArrays[i], levels, nil)
		case *file.Int64ColumnChunkWriter:
			_, err = c.WriteBatch(nonNull[i].([]int64), levels, nil)
		case *file.Int32ColumnChunkWriter:
			_, err = c.WriteBatch(nonNull[i].([]int32), levels, nil)
		case *file.Float64ColumnChunkWriter:
			_, err = c.WriteBatch(nonNull[i].([]float64), levels, nil)
		case *file.BooleanColumnChunkWriter:
			_, err = c.WriteBatch(nonNull[i].([]bool), levels, nil)
		}
		if err != nil {
			return nil, err
		}
		if err := cw.Close(); err != nil {
			return nil, err
		}
	}
	if err := rg.Close(); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// nonNullValues returns p's values without the NULLs, as WriteBatch takes
// them.
func nonNullValues(p part) []any {
	out := make([]any, len(p.values))
	for i, values := range p.values {
		switch v := values.(type) {
		case []int64:
			out[i] = present(v, p.valid[i])
		case []int32:
			out[i] = present(v, p.valid[i])
		case []float64:
			out[i] = present(v, p.valid[i])
		case []bool:
			out[i] = present(v, p.valid[i])
		}
	}
	return out
}

// plainBytes is the size of p's values as PLAIN-encoded in memory: what
// MB/s counts.
func plainBytes(p part) int64 {
	var n int64
	for _, values := range p.values {
		switch v := values.(type) {
		case []string:
			for _, s := range v {
				n += 4 + int64(len(s))
			}
		case []int64, []float64:
			n += 8 * int64(p.rows)
		case []int32:
			n += 4 * int64(p.rows)
		case []bool:
			n += int64(p.rows+7) / 8
		}
	}
	return n
}

type partCase struct {
	name string
	part part
}

// realisticParts are parts of the sizes isweep writes: points parts of a
// chunk's partition, trajectories parts of 50 samples a point.
func realisticParts() []partCase {
	return []partCase{
		{"points/rows=1000", realisticPart(results.PointsPartSchema, false, 1_000)},
		{"points/rows=10000", realisticPart(results.PointsPartSchema, false, 10_000)},
		{"trajectories/rows=10000", realisticPart(results.TrajectoriesPartSchema, true, 10_000)},
		{"trajectories/rows=50000", realisticPart(results.TrajectoriesPartSchema, true, 50_000)},
	}
}

// readTable reads a Parquet file with pqarrow.
func readTable(t *testing.T, body []byte, mem memory.Allocator) arrow.Table {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(body), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// TestMatchesArrowGo writes the same rows with parquetwriter and with
// arrow-go's writer, reads both back with pqarrow and compares the
// tables column by column.
func TestMatchesArrowGo(t *testing.T) {
	for _, tt := range realisticParts() {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			layout := parquetwriter.NewLayout(tt.part.schema, tt.part.dictionary)
			ours, err := writeIsweep(layout, layout.NewColumns(), tt.part)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := newArrowGoWriter(t, tt.part).write(tt.part, nonNullValues(tt.part))
			if err != nil {
				t.Fatal(err)
			}
			got, want := readTable(t, ours, mem), readTable(t, theirs, mem)
			defer got.Release()
			defer want.Release()
			if got.NumRows() != want.NumRows() || got.NumCols() != want.NumCols() {
				t.Fatalf("table: got: %d rows × %d columns want: %d × %d", got.NumRows(), got.NumCols(), want.NumRows(), want.NumCols())
			}
			for i := range int(want.NumCols()) {
				g, w := got.Column(i), want.Column(i)
				if g.Name() != w.Name() || !arrow.TypeEqual(g.DataType(), w.DataType()) {
					t.Errorf("column %d: got: %s %s want: %s %s", i, g.Name(), g.DataType(), w.Name(), w.DataType())
					continue
				}
				if !array.ChunkedEqual(g.Data(), w.Data()) {
					t.Errorf("column %s: got: values that differ from arrow-go's", w.Name())
				}
			}
		})
	}
}

// BenchmarkEncode writes realistic points and trajectories parts with
// parquetwriter and with arrow-go's low-level writer (file.NewParquetWriter
// and the typed column writers' WriteBatch) from the same column values.
// MB/s counts the values' PLAIN size.
func BenchmarkEncode(b *testing.B) {
	for _, tt := range realisticParts() {
		b.Run(tt.name+"/writer=isweep", func(b *testing.B) {
			layout := parquetwriter.NewLayout(tt.part.schema, tt.part.dictionary)
			cols := layout.NewColumns()
			b.SetBytes(plainBytes(tt.part))
			for b.Loop() {
				if _, err := writeIsweep(layout, cols, tt.part); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tt.name+"/writer=arrow-go", func(b *testing.B) {
			w := newArrowGoWriter(b, tt.part)
			nonNull := nonNullValues(tt.part)
			b.SetBytes(plainBytes(tt.part))
			for b.Loop() {
				if _, err := w.write(tt.part, nonNull); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
