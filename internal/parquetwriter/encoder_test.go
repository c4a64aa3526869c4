package parquetwriter

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/thrift/lib/go/thrift"
	"github.com/klauspost/compress/zstd"
)

// encoderTestSchema has a column of every kind the direct encoder writes:
// each value type, required and nullable, with and without a dictionary.
var encoderTestSchema = func() *arrow.Schema {
	required := func(name string, t arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: t} }
	nullable := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	md := arrow.NewMetadata([]string{"test.table"}, []string{"encoder-test"})
	return arrow.NewSchema([]arrow.Field{
		required("dict_int", arrow.PrimitiveTypes.Int64),
		required("dict_str", arrow.BinaryTypes.String),
		nullable("dict_f64", arrow.PrimitiveTypes.Float64),
		nullable("dict_i32", arrow.PrimitiveTypes.Int32),
		nullable("opt_int", arrow.PrimitiveTypes.Int64),
		required("plain_f64", arrow.PrimitiveTypes.Float64),
		nullable("opt_str", arrow.BinaryTypes.String),
		required("flag", arrow.FixedWidthTypes.Boolean),
		nullable("opt_flag", arrow.FixedWidthTypes.Boolean),
		nullable("ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}),
	}, &md)
}()

var encoderTestDictionary = []string{"dict_int", "dict_str", "dict_f64", "dict_i32"}

// testRow is one row of encoderTestSchema; a nil pointer is NULL.
type testRow struct {
	dictInt  int64
	dictStr  string
	dictF64  *float64
	dictI32  *int32
	optInt   *int64
	plainF64 float64
	optStr   *string
	flag     bool
	optFlag  *bool
	ts       *int64
}

var encoderTestLayout = sync.OnceValue(func() *Layout {
	return NewLayout(encoderTestSchema, encoderTestDictionary)
})

func appendOptional[T Value](c Column, v *T) {
	b := c.(*ColumnBuffer[T])
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

func appendValue[T Value](c Column, v T) { c.(*ColumnBuffer[T]).Append(v) }

// encodeTestTable writes one row group per element of groups, appending
// the values one at a time.
func encodeTestTable(t *testing.T, groups [][]testRow) []byte {
	return encodeTestGroups(t, groups, func(cols Columns, g []testRow) {
		for _, r := range g {
			appendValue(cols[0], r.dictInt)
			appendValue(cols[1], r.dictStr)
			appendOptional(cols[2], r.dictF64)
			appendOptional(cols[3], r.dictI32)
			appendOptional(cols[4], r.optInt)
			appendValue(cols[5], r.plainF64)
			appendOptional(cols[6], r.optStr)
			appendValue(cols[7], r.flag)
			appendOptional(cols[8], r.optFlag)
			appendOptional(cols[9], r.ts)
		}
	})
}

// encodeTestGroups writes one row group per element of groups, its
// columns filled by fill.
func encodeTestGroups(t *testing.T, groups [][]testRow, fill func(cols Columns, g []testRow)) []byte {
	t.Helper()
	enc := encoderTestLayout().Encoder()
	defer enc.Release()
	cols := encoderTestLayout().NewColumns()
	for _, g := range groups {
		cols.Reset(len(g))
		fill(cols, g)
		if err := enc.WriteRowGroup(cols, len(g)); err != nil {
			t.Fatal(err)
		}
	}
	return enc.Finish(KeyValue{"extra", "value"})
}

func optionalAt[T any, A interface {
	IsNull(int) bool
	Value(int) T
}](a A, i int) *T {
	if a.IsNull(i) {
		return nil
	}
	v := a.Value(i)
	return &v
}

// readTestTable reads each row group back with pqarrow.
func readTestTable(t *testing.T, body []byte, mem memory.Allocator) [][]testRow {
	t.Helper()
	rdr, err := file.NewParquetReader(bytes.NewReader(body), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		t.Fatalf("open the file: %v", err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1 << 20}, mem)
	if err != nil {
		t.Fatal(err)
	}
	var groups [][]testRow
	for g := 0; g < rdr.NumRowGroups(); g++ {
		rr, err := fr.GetRecordReader(context.Background(), nil, []int{g})
		if err != nil {
			t.Fatalf("read row group %d: %v", g, err)
		}
		var rows []testRow
		for rr.Next() {
			rows = append(rows, testRowsOf(rr.RecordBatch())...)
		}
		if err := rr.Err(); err != nil {
			t.Fatalf("read row group %d: %v", g, err)
		}
		rr.Release()
		groups = append(groups, rows)
	}
	return groups
}

func testRowsOf(r arrow.RecordBatch) []testRow {
	var rows []testRow
	for i := 0; i < int(r.NumRows()); i++ {
		row := testRow{
			dictInt:  r.Column(0).(*array.Int64).Value(i),
			dictStr:  strings.Clone(r.Column(1).(*array.String).Value(i)),
			dictF64:  optionalAt[float64](r.Column(2).(*array.Float64), i),
			dictI32:  optionalAt[int32](r.Column(3).(*array.Int32), i),
			optInt:   optionalAt[int64](r.Column(4).(*array.Int64), i),
			plainF64: r.Column(5).(*array.Float64).Value(i),
			flag:     r.Column(7).(*array.Boolean).Value(i),
			optFlag:  optionalAt[bool](r.Column(8).(*array.Boolean), i),
		}
		if s := optionalAt[string](r.Column(6).(*array.String), i); s != nil {
			c := strings.Clone(*s)
			row.optStr = &c
		}
		if ts := optionalAt[arrow.Timestamp](r.Column(9).(*array.Timestamp), i); ts != nil {
			v := int64(*ts)
			row.ts = &v
		}
		rows = append(rows, row)
	}
	return rows
}

func ptrTo[T any](v T) *T { return &v }

// runLengths returns n values that repeat each value for the next of
// lengths in turn: runs of 1 to 65 cross the 8-value groups of the
// bit-packed encoding at every offset.
func runLengths(n int, lengths []int, distinct int) []int {
	var out []int
	for value := 0; len(out) < n; value++ {
		for range lengths[value%len(lengths)] {
			out = append(out, value%distinct)
		}
	}
	return out[:n]
}

func encoderTestCases() []struct {
	name   string
	groups [][]testRow
} {
	special := []float64{math.NaN(), math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), 5e-324, -1.5, math.MaxFloat64}
	words := []string{"", "a", "ab", "b", "ü", "é", "节点", "\x00", "zz", "Z"}
	lengths := []int{1, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 2, 3}
	mk := func(n int, f func(i int) testRow) []testRow {
		rows := make([]testRow, n)
		for i := range rows {
			rows[i] = f(i)
		}
		return rows
	}
	runs := runLengths(5000, lengths, 37)
	nullRuns := runLengths(5000, lengths, 2)
	return []struct {
		name   string
		groups [][]testRow
	}{
		{"one row", [][]testRow{mk(1, func(i int) testRow {
			return testRow{dictInt: -1, dictStr: "x", dictF64: ptrTo(2.5), dictI32: ptrTo(int32(-7)), optInt: ptrTo(int64(math.MinInt64)),
				plainF64: math.Copysign(0, -1), optStr: ptrTo(""), flag: true, optFlag: ptrTo(false), ts: ptrTo(int64(-1))}
		})}},
		{"all null", [][]testRow{mk(20, func(i int) testRow {
			return testRow{dictInt: 3, dictStr: "same", plainF64: math.NaN()}
		})}},
		{"runs across groups of 8", [][]testRow{mk(len(runs), func(i int) testRow {
			r := testRow{dictInt: int64(runs[i]), dictStr: words[runs[i]%len(words)], plainF64: float64(i), flag: runs[i]%2 == 0}
			if nullRuns[i] == 1 {
				r.dictF64 = ptrTo(special[runs[i]%len(special)])
				r.dictI32 = ptrTo(int32(runs[i] - 18))
				r.optInt = ptrTo(int64(i) << 40)
				r.optStr = ptrTo(words[i%len(words)])
				r.optFlag = ptrTo(i%3 == 0)
				r.ts = ptrTo(int64(i) * 1_000_003)
			}
			return r
		})}},
		{"alternating", [][]testRow{mk(1001, func(i int) testRow {
			r := testRow{dictInt: int64(i % 2), dictStr: words[i%2], plainF64: special[i%len(special)], flag: i%2 == 1}
			if i%2 == 0 {
				r.dictF64, r.optInt, r.optStr = ptrTo(float64(i%4)), ptrTo(int64(i)), ptrTo("even")
			}
			return r
		})}},
		{"wide dictionary", [][]testRow{mk(1500, func(i int) testRow {
			// 600 distinct values: indices of 10 bits.
			return testRow{dictInt: int64(i%600) * 1_000_000_007, dictStr: fmt.Sprintf("value-%03d", (i*7)%600), plainF64: float64(i) / 3,
				dictI32: ptrTo(int32(i % 300))}
		})}},
		{"too many distinct values for a dictionary", [][]testRow{mk(300, func(i int) testRow {
			return testRow{dictInt: int64(i), dictStr: fmt.Sprint(i), dictF64: ptrTo(float64(i) / 7), plainF64: 1}
		})}},
		{"special floats", [][]testRow{mk(64, func(i int) testRow {
			return testRow{dictF64: ptrTo(special[i%len(special)]), plainF64: special[(i/3)%len(special)]}
		})}},
		{"only zeros and NaN", [][]testRow{mk(16, func(i int) testRow {
			v := []float64{0, math.Copysign(0, -1), math.NaN()}[i%3]
			return testRow{dictF64: ptrTo(v), plainF64: v}
		})}},
		{"three row groups", [][]testRow{
			mk(100, func(i int) testRow {
				return testRow{dictInt: int64(i % 3), dictStr: "g0", plainF64: float64(i), optStr: ptrTo("x")}
			}),
			mk(1, func(i int) testRow { return testRow{dictInt: 9, dictStr: "g1", plainF64: -1} }),
			mk(77, func(i int) testRow {
				return testRow{dictInt: int64(i), dictStr: words[i%len(words)], plainF64: 2, ts: ptrTo(int64(i))}
			}),
		}},
	}
}

// extendColumn fills c with value(i) for the rows of a group through
// [ColumnBuffer.Extend], in blocks of block rows; a NULL gets a value that
// is not zero (Extend lets it be anything).
func extendColumn[T Value](c Column, rows []testRow, block int, value func(r *testRow) (T, bool), notZero T) {
	b := c.(*ColumnBuffer[T])
	for lo := 0; lo < len(rows); lo += block {
		hi := min(len(rows), lo+block)
		values, valid := b.Extend(hi - lo)
		for i := range values {
			v, ok := value(&rows[lo+i])
			if valid != nil {
				valid[i] = ok
				if !ok {
					v = notZero
				}
			}
			values[i] = v
		}
	}
}

func required[T Value](get func(*testRow) T) func(*testRow) (T, bool) {
	return func(r *testRow) (T, bool) { return get(r), true }
}

func optional[T Value](get func(*testRow) *T) func(*testRow) (T, bool) {
	return func(r *testRow) (T, bool) {
		if v := get(r); v != nil {
			return *v, true
		}
		var zero T
		return zero, false
	}
}

// encodeTestTableExtend is encodeTestTable filling the columns through
// Extend, block rows at a time.
func encodeTestTableExtend(t *testing.T, groups [][]testRow, block int) []byte {
	return encodeTestGroups(t, groups, func(cols Columns, g []testRow) {
		extendColumn(cols[0], g, block, required(func(r *testRow) int64 { return r.dictInt }), 0)
		extendColumn(cols[1], g, block, required(func(r *testRow) string { return r.dictStr }), "")
		extendColumn(cols[2], g, block, optional(func(r *testRow) *float64 { return r.dictF64 }), math.NaN())
		extendColumn(cols[3], g, block, optional(func(r *testRow) *int32 { return r.dictI32 }), math.MaxInt32)
		extendColumn(cols[4], g, block, optional(func(r *testRow) *int64 { return r.optInt }), math.MinInt64)
		extendColumn(cols[5], g, block, required(func(r *testRow) float64 { return r.plainF64 }), 0)
		extendColumn(cols[6], g, block, optional(func(r *testRow) *string { return r.optStr }), "not written")
		extendColumn(cols[7], g, block, required(func(r *testRow) bool { return r.flag }), false)
		extendColumn(cols[8], g, block, optional(func(r *testRow) *bool { return r.optFlag }), true)
		extendColumn(cols[9], g, block, optional(func(r *testRow) *int64 { return r.ts }), -1)
	})
}

// TestExtendMatchesAppend checks that columns filled through Extend, in
// blocks of any size, write the same bytes as Append and AppendNull.
func TestExtendMatchesAppend(t *testing.T) {
	for _, tt := range encoderTestCases() {
		want := encodeTestTable(t, tt.groups)
		for _, block := range []int{1, 7, 256, 1 << 20} {
			t.Run(fmt.Sprintf("%s/block=%d", tt.name, block), func(t *testing.T) {
				if got := encodeTestTableExtend(t, tt.groups, block); !bytes.Equal(got, want) {
					t.Errorf("got: %d bytes want: %d bytes, not the same", len(got), len(want))
				}
			})
		}
	}
}

// TestDirectEncoderRoundTrip writes every kind of column through the
// direct encoder and reads it back with pqarrow, value by value.
func TestDirectEncoderRoundTrip(t *testing.T) {
	for _, tt := range encoderTestCases() {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			body := encodeTestTable(t, tt.groups)
			got := readTestTable(t, body, mem)
			if len(got) != len(tt.groups) {
				t.Fatalf("row groups: got: %d want: %d", len(got), len(tt.groups))
			}
			for g := range got {
				if d := diffTestRows(got[g], tt.groups[g]); d != "" {
					t.Errorf("row group %d:\n%s", g, d)
				}
			}
		})
	}
}

func diffTestRows(got, want []testRow) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got: %d rows want: %d rows", len(got), len(want))
	}
	show := func(r testRow) string {
		f := func(p any) string {
			switch v := p.(type) {
			case *float64:
				if v != nil {
					return fmt.Sprintf("%#x", math.Float64bits(*v))
				}
			case *int32:
				if v != nil {
					return fmt.Sprint(*v)
				}
			case *int64:
				if v != nil {
					return fmt.Sprint(*v)
				}
			case *string:
				if v != nil {
					return fmt.Sprintf("%q", *v)
				}
			case *bool:
				if v != nil {
					return fmt.Sprint(*v)
				}
			}
			return "NULL"
		}
		return fmt.Sprintf("{%d %q %s %s %s %#x %s %v %s %s}", r.dictInt, r.dictStr, f(r.dictF64), f(r.dictI32), f(r.optInt),
			math.Float64bits(r.plainF64), f(r.optStr), r.flag, f(r.optFlag), f(r.ts))
	}
	var out []string
	for i := range got {
		if g, w := show(got[i]), show(want[i]); g != w {
			out = append(out, fmt.Sprintf("row %d: got: %s want: %s", i, g, w))
			if len(out) == 10 {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// wantStats computes a column's statistics from the rows: NULL count and
// min and max of the non-NULL values, a zero min as −0 and a zero max as
// +0, none when a value is NaN.
func wantStats(rows []testRow, col int) (nulls int64, lo, hi any, hasMinMax bool) {
	var values []any
	nan := false
	for _, r := range rows {
		var v any
		switch col {
		case 0:
			v = r.dictInt
		case 1:
			v = r.dictStr
		case 2:
			if r.dictF64 != nil {
				v = *r.dictF64
			}
		case 3:
			if r.dictI32 != nil {
				v = *r.dictI32
			}
		case 4:
			if r.optInt != nil {
				v = *r.optInt
			}
		case 5:
			v = r.plainF64
		case 6:
			if r.optStr != nil {
				v = *r.optStr
			}
		case 7:
			v = r.flag
		case 8:
			if r.optFlag != nil {
				v = *r.optFlag
			}
		case 9:
			if r.ts != nil {
				v = *r.ts
			}
		}
		if v == nil {
			nulls++
			continue
		}
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			nan = true
		}
		values = append(values, v)
	}
	if len(values) == 0 || nan {
		return nulls, nil, nil, false
	}
	less := func(a, b any) bool {
		switch x := a.(type) {
		case int64:
			return x < b.(int64)
		case int32:
			return x < b.(int32)
		case float64:
			return x < b.(float64)
		case string:
			return x < b.(string)
		case bool:
			return !x && b.(bool)
		}
		panic("unreachable")
	}
	lo, hi = values[0], values[0]
	for _, v := range values[1:] {
		if less(v, lo) {
			lo = v
		}
		if less(hi, v) {
			hi = v
		}
	}
	if f, ok := lo.(float64); ok && f == 0 {
		lo = math.Copysign(0, -1)
	}
	if f, ok := hi.(float64); ok && f == 0 {
		hi = 0.0
	}
	return nulls, lo, hi, true
}

func statsMinMax(s metadata.TypedStatistics) (lo, hi any) {
	switch st := s.(type) {
	case *metadata.Int64Statistics:
		return st.Min(), st.Max()
	case *metadata.Int32Statistics:
		return st.Min(), st.Max()
	case *metadata.Float64Statistics:
		return st.Min(), st.Max()
	case *metadata.ByteArrayStatistics:
		return string(st.Min()), string(st.Max())
	case *metadata.BooleanStatistics:
		return st.Min(), st.Max()
	}
	panic(fmt.Sprintf("statistics of type %T", s))
}

func sameValue(a, b any) bool {
	if x, ok := a.(float64); ok {
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return a == b
}

// TestDirectEncoderStatistics checks every column chunk's statistics, as
// arrow-go reads them from the footer, against statistics computed from the
// rows; and that dictionary columns fall back to PLAIN when they have too
// many distinct values.
func TestDirectEncoderStatistics(t *testing.T) {
	for _, tt := range encoderTestCases() {
		t.Run(tt.name, func(t *testing.T) {
			body := encodeTestTable(t, tt.groups)
			rdr, err := file.NewParquetReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			for g, rows := range tt.groups {
				rg := rdr.MetaData().RowGroup(g)
				if rg.NumRows() != int64(len(rows)) {
					t.Errorf("row group %d: got: %d rows want: %d", g, rg.NumRows(), len(rows))
				}
				for c := 0; c < rg.NumColumns(); c++ {
					chunk, err := rg.ColumnChunk(c)
					if err != nil {
						t.Fatal(err)
					}
					name := chunk.PathInSchema().String()
					if chunk.NumValues() != int64(len(rows)) {
						t.Errorf("row group %d column %s: got: %d values want: %d", g, name, chunk.NumValues(), len(rows))
					}
					stats, err := chunk.Statistics()
					if err != nil || stats == nil {
						t.Fatalf("row group %d column %s: got: no statistics (%v) want: statistics", g, name, err)
					}
					nulls, lo, hi, hasMinMax := wantStats(rows, c)
					if !stats.HasNullCount() || stats.NullCount() != nulls {
						t.Errorf("row group %d column %s: NULL count: got: %d want: %d", g, name, stats.NullCount(), nulls)
					}
					if stats.HasMinMax() != hasMinMax {
						t.Errorf("row group %d column %s: has min/max: got: %v want: %v", g, name, stats.HasMinMax(), hasMinMax)
						continue
					}
					if hasMinMax {
						gotLo, gotHi := statsMinMax(stats)
						if !sameValue(gotLo, lo) || !sameValue(gotHi, hi) {
							t.Errorf("row group %d column %s: min, max: got: %v, %v want: %v, %v", g, name, gotLo, gotHi, lo, hi)
						}
					}
				}
			}
		})
	}
}

func TestDirectEncoderChoosesEncodings(t *testing.T) {
	encodingsOf := func(t *testing.T, body []byte, column string) []parquet.Encoding {
		rdr, err := file.NewParquetReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Close()
		idx := rdr.MetaData().Schema.ColumnIndexByName(column)
		chunk, err := rdr.MetaData().RowGroup(0).ColumnChunk(idx)
		if err != nil {
			t.Fatal(err)
		}
		return chunk.Encodings()
	}
	few := func(i int) testRow { return testRow{dictInt: int64(i % 4), dictStr: "s", plainF64: 1} }
	many := func(i int) testRow { return testRow{dictInt: int64(i), dictStr: fmt.Sprint(i), plainF64: 1} }
	tests := []struct {
		name       string
		row        func(int) testRow
		column     string
		dictionary bool
	}{
		{"dictionary column with few values", few, "dict_int", true},
		{"dictionary column with a value per row", many, "dict_int", false},
		{"string dictionary column with a value per row", many, "dict_str", false},
		{"column without dictionary", few, "plain_f64", false},
		{"all NULL dictionary column", few, "dict_f64", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := make([]testRow, 100)
			for i := range rows {
				rows[i] = tt.row(i)
			}
			got := encodingsOf(t, encodeTestTable(t, [][]testRow{rows}), tt.column)
			if slices.Contains(got, parquet.Encodings.RLEDict) != tt.dictionary {
				t.Errorf("encodings of %s: got: %v want: dictionary %v", tt.column, got, tt.dictionary)
			}
		})
	}
}

// TestDirectEncoderSplitsPages writes a string column larger than pageBytes
// and checks that it spans several data pages that read back intact.
func TestDirectEncoderSplitsPages(t *testing.T) {
	long := strings.Repeat("ü-long value ", pageBytes/(3*13))
	rows := make([]testRow, 10)
	for i := range rows {
		s := fmt.Sprintf("%d:%s", i, long)
		rows[i] = testRow{dictStr: fmt.Sprint(i % 2), optStr: &s, plainF64: float64(i)}
		if i == 4 {
			rows[i].optStr = nil
		}
	}
	body := encodeTestTable(t, [][]testRow{rows})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if d := diffTestRows(readTestTable(t, body, mem)[0], rows); d != "" {
		t.Errorf("rows read back:\n%s", d)
	}

	rdr, err := file.NewParquetReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	pages, err := rdr.RowGroup(0).GetColumnPageReader(rdr.MetaData().Schema.ColumnIndexByName("opt_str"))
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for pages.Next() {
		if _, ok := pages.Page().(file.DataPage); ok {
			count++
		}
	}
	if err := pages.Err(); err != nil {
		t.Fatal(err)
	}
	// 9 values of about 1/3 of pageBytes each: a page closes after the
	// value that reaches pageBytes, so every 3 values.
	if want := 3; count != want {
		t.Errorf("data pages of opt_str: got: %d want: %d", count, want)
	}
}

// thriftValue is a decoded Thrift compact-protocol value: a field list for
// a struct, a slice for a list, or a scalar.
type thriftField struct {
	ID    int16
	Value any
}

func readThriftStruct(ctx context.Context, p thrift.TProtocol) ([]thriftField, error) {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return nil, err
	}
	var fields []thriftField
	for {
		_, typ, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return nil, err
		}
		if typ == thrift.STOP {
			break
		}
		v, err := readThriftValue(ctx, p, typ)
		if err != nil {
			return nil, err
		}
		fields = append(fields, thriftField{id, v})
	}
	return fields, p.ReadStructEnd(ctx)
}

func readThriftValue(ctx context.Context, p thrift.TProtocol, typ thrift.TType) (any, error) {
	switch typ {
	case thrift.BOOL:
		return p.ReadBool(ctx)
	case thrift.BYTE:
		return p.ReadByte(ctx)
	case thrift.I16:
		return p.ReadI16(ctx)
	case thrift.I32:
		return p.ReadI32(ctx)
	case thrift.I64:
		return p.ReadI64(ctx)
	case thrift.STRING:
		return p.ReadString(ctx)
	case thrift.STRUCT:
		return readThriftStruct(ctx, p)
	case thrift.LIST:
		elem, n, err := p.ReadListBegin(ctx)
		if err != nil {
			return nil, err
		}
		var list []any
		for range n {
			v, err := readThriftValue(ctx, p, elem)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, p.ReadListEnd(ctx)
	}
	return nil, fmt.Errorf("unexpected thrift type %v", typ)
}

// TestThriftWriter decodes what thriftWriter writes with Apache Thrift's
// own compact-protocol reader.
func TestThriftWriter(t *testing.T) {
	var w thriftWriter
	w.i32(1, -5)
	w.i64(20, 1<<40) // a field id 19 past the last: the long header form
	w.beginStruct(21)
	w.boolean(1, true)
	w.boolean(2, false)
	w.byteField(3, -7)
	w.string(4, "ünï")
	w.endStruct()
	w.beginList(22, thriftStruct, 20)
	for i := range 20 {
		w.beginElement()
		w.i16(1, int16(i-10))
		w.binary(3, []byte{byte(i)})
		w.endStruct()
	}
	w.beginList(23, thriftI32, 3)
	w.i32Element(-1)
	w.i32Element(0)
	w.i32Element(1 << 30)
	w.beginList(24, thriftBinary, 2)
	w.element("a")
	w.element("")
	w.i64(25, math.MinInt64)
	body := w.end()

	buf := thrift.NewTMemoryBuffer()
	buf.Write(body)
	got, err := readThriftStruct(context.Background(), thrift.NewTCompactProtocolConf(buf, nil))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var elements []any
	for i := range 20 {
		elements = append(elements, []thriftField{{1, int16(i - 10)}, {3, string([]byte{byte(i)})}})
	}
	want := []thriftField{
		{1, int32(-5)},
		{20, int64(1 << 40)},
		{21, []thriftField{{1, true}, {2, false}, {3, int8(-7)}, {4, "ünï"}}},
		{22, elements},
		{23, []any{int32(-1), int32(0), int32(1 << 30)}},
		{24, []any{"a", ""}},
		{25, int64(math.MinInt64)},
	}
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		t.Errorf("decoded: got: %s want: %s", g, w)
	}
	if buf.Len() != 0 {
		t.Errorf("bytes after the struct: got: %d want: 0", buf.Len())
	}
}

// TestRawZstdFrame decodes the raw-block frames of small pages with a zstd
// decoder, for every length a page can have.
func TestRawZstdFrame(t *testing.T) {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for n := range 256 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		got, err := dec.DecodeAll(appendRawZstdFrame([]byte("prefix"), src)[len("prefix"):], nil)
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%d bytes: got: %v, %v want: the %d bytes", n, got, err, n)
		}
	}
}
