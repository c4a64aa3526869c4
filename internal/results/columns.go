package results

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/isweep/isweep/internal/parquetwriter"
)

// column describes one column of a table whose rows are R: its Arrow
// field, its encoding, whether it lives in the object key, and how its
// value is written from a row and read back into one. A table is a list
// of columns, from which its Arrow schemas ([schemaOf]), its Parquet
// layout, its encoder's fill and its decoder derive; a new column is one
// line in that list. Make columns with [required], [optional] and
// [timestamp].
type column[R any] struct {
	field      arrow.Field
	dictionary bool
	// inPath marks a Hive partition column: it is in the table's schema
	// but stored in the object key, not in the part files (see the
	// package documentation).
	inPath bool
	// writer binds the column to buf, its buffer from
	// parquetwriter.Layout.NewColumns: the function it returns appends
	// the values of rows to buf. A part's columns are bound once, and
	// filled a block of rows at a time, a column at a time (see
	// [partBuffers]).
	writer func(buf parquetwriter.Column) func(rows []R)
	// reader returns the function that reads value i of arr, the
	// column's array in a record batch, into a row.
	reader func(arr arrow.Array) func(i int, row *R)
}

// encoding says how a column is written: dictionary for the columns that
// take few distinct values in a part (grid parameters, repeated strings),
// plain for those with a value per row (ids, seeds, results, times),
// where building a dictionary only to drop it costs time and saves
// nothing. A part in which a dictionary column has too many distinct
// values is written plain (see package parquetwriter).
type encoding bool

const (
	plain      encoding = false
	dictionary encoding = true
)

// arrowTypeOf returns the Arrow type of a column of Go values T.
func arrowTypeOf[T parquetwriter.Value]() arrow.DataType {
	var zero T
	switch any(zero).(type) {
	case string:
		return arrow.BinaryTypes.String
	case int64:
		return arrow.PrimitiveTypes.Int64
	case int32:
		return arrow.PrimitiveTypes.Int32
	case float64:
		return arrow.PrimitiveTypes.Float64
	default:
		return arrow.FixedWidthTypes.Boolean
	}
}

// required returns a column that is never NULL, of the Arrow type of T:
// get gives a row's value, set stores a value read back.
func required[R any, T parquetwriter.Value](name string, enc encoding, get func(*R) T, set func(*R, T)) column[R] {
	return column[R]{
		field:      arrow.Field{Name: name, Type: arrowTypeOf[T]()},
		dictionary: bool(enc),
		writer: func(buf parquetwriter.Column) func([]R) {
			b := buf.(*parquetwriter.ColumnBuffer[T])
			return func(rows []R) {
				values, _ := b.Extend(len(rows))
				for i := range rows {
					values[i] = get(&rows[i])
				}
			}
		},
		reader: func(arr arrow.Array) func(int, *R) {
			value := valuesOf[T](arr, enc)
			return func(i int, row *R) { set(row, value(i)) }
		},
	}
}

// optional returns a nullable column of the Arrow type of T: get gives a
// row's value and false for NULL; set is called for the values read back
// that are not NULL.
func optional[R any, T parquetwriter.Value](name string, enc encoding, get func(*R) (T, bool), set func(*R, T)) column[R] {
	return column[R]{
		field:      arrow.Field{Name: name, Type: arrowTypeOf[T](), Nullable: true},
		dictionary: bool(enc),
		writer: func(buf parquetwriter.Column) func([]R) {
			b := buf.(*parquetwriter.ColumnBuffer[T])
			return func(rows []R) {
				values, valid := b.Extend(len(rows))
				for i := range rows {
					values[i], valid[i] = get(&rows[i])
				}
			}
		},
		reader: func(arr arrow.Array) func(int, *R) {
			value := valuesOf[T](arr, enc)
			return func(i int, row *R) {
				if arr.IsValid(i) {
					set(row, value(i))
				}
			}
		},
	}
}

// timestampUTC is the Arrow type of the timestamp columns.
var timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// timestamp returns a nullable timestamp[µs, UTC] column: the zero time is
// stored as NULL, and NULL reads back as the zero time; other times are
// stored in microseconds and read back in UTC.
func timestamp[R any](name string, get func(*R) time.Time, set func(*R, time.Time)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: timestampUTC, Nullable: true},
		writer: func(buf parquetwriter.Column) func([]R) {
			b := buf.(*parquetwriter.ColumnBuffer[int64])
			return func(rows []R) {
				values, valid := b.Extend(len(rows))
				for i := range rows {
					t := get(&rows[i])
					values[i], valid[i] = 0, !t.IsZero()
					if valid[i] {
						values[i] = t.UnixMicro()
					}
				}
			}
		},
		reader: func(arr arrow.Array) func(int, *R) {
			a := arr.(*array.Timestamp)
			return func(i int, row *R) {
				if a.IsValid(i) {
					set(row, time.UnixMicro(int64(a.Value(i))).UTC())
				}
			}
		},
	}
}

// partitionColumn returns c marked as a Hive partition column.
func partitionColumn[R any](c column[R]) column[R] {
	c.inPath = true
	return c
}

// valuesOf returns the function that gives value i of arr, an array of Go
// values T of a column of encoding enc. Strings are copied out of the
// array's buffer, which the rows outlive: those of a plain column (a value
// a row, such as ids) all at once, one allocation per record batch that the
// values share; those of a dictionary column (few distinct values) one
// copy per distinct value of the batch.
func valuesOf[T parquetwriter.Value](arr arrow.Array, enc encoding) func(i int) T {
	a, ok := arr.(*array.String)
	switch {
	case !ok:
		return arr.(interface{ Value(int) T }).Value
	case enc == plain && a.Len() > 0:
		data, offsets := string(a.ValueBytes()), a.ValueOffsets()
		value := func(i int) string { return data[offsets[i]-offsets[0] : offsets[i+1]-offsets[0]] }
		return any(value).(func(int) T)
	default:
		var last string
		copies := map[string]string{}
		value := func(i int) string {
			if v := a.Value(i); v != last {
				c, ok := copies[v]
				if !ok {
					c = strings.Clone(v)
					copies[c] = c
				}
				last = c
			}
			return last
		}
		return any(value).(func(int) T)
	}
}

// schemaOf returns the Arrow schema of a table of columns, with the
// table's metadata ([MetaSchemaVersion], [MetaTable]).
func schemaOf[R any](table string, columns []column[R]) *arrow.Schema {
	fields := make([]arrow.Field, len(columns))
	for i, c := range columns {
		fields[i] = c.field
	}
	return arrow.NewSchema(fields, tableMetadata(table))
}

// partColumns returns the columns stored in a table's part files: those
// not in the object key.
func partColumns[R any](columns []column[R]) []column[R] {
	var part []column[R]
	for _, c := range columns {
		if !c.inPath {
			part = append(part, c)
		}
	}
	return part
}

// layoutOf returns the Parquet layout of files of columns, whose schema
// is schema: dictionary encoding for the columns that ask for it.
func layoutOf[R any](schema *arrow.Schema, columns []column[R]) *parquetwriter.Layout {
	var dictionaryColumns []string
	for _, c := range columns {
		if c.dictionary {
			dictionaryColumns = append(dictionaryColumns, c.field.Name)
		}
	}
	return parquetwriter.NewLayout(schema, dictionaryColumns)
}

// readers binds columns to their arrays in rec, by name: the functions
// that read row i of rec into a row. A nullable column missing from rec
// (a column added after the file was written) reads as NULL.
func readers[R any](columns []column[R], rec arrow.RecordBatch) []func(int, *R) {
	read := make([]func(int, *R), 0, len(columns))
	for _, c := range columns {
		idx := rec.Schema().FieldIndices(c.field.Name)
		if len(idx) == 0 && c.field.Nullable {
			continue
		}
		read = append(read, c.reader(rec.Column(idx[0])))
	}
	return read
}

// readRow reads row i of a record batch into row with the readers of its
// columns.
func readRow[R any](read []func(int, *R), i int, row *R) {
	for _, r := range read {
		r(i, row)
	}
}

// blockRows is the number of rows written to a part's column buffers at a
// time, one column after the other: few enough that the block stays in the
// CPU's cache while its columns are filled, enough that a column's writer
// is called once for many values.
const blockRows = 256

// partBuffers are the column buffers of a part being encoded, the columns'
// writers bound to them, and a block of rows being built ([partBuffers.next]).
// They are pooled and bound once: filling a part calls no function per
// value beyond the columns' getters.
type partBuffers[R any] struct {
	columns parquetwriter.Columns
	writers []func(rows []R)
	block   []R
}

func newPartBuffers[R any](layout *parquetwriter.Layout, columns []column[R]) *partBuffers[R] {
	b := &partBuffers[R]{columns: layout.NewColumns(), block: make([]R, 0, blockRows)}
	for j, c := range columns {
		b.writers = append(b.writers, c.writer(b.columns[j]))
	}
	return b
}

// write appends rows to the column buffers.
func (b *partBuffers[R]) write(rows []R) {
	for len(rows) > 0 {
		n := min(len(rows), blockRows)
		for _, w := range b.writers {
			w(rows[:n])
		}
		rows = rows[n:]
	}
}

// next returns the next row of the block being built, for the caller to
// set every field of (it holds a row of an earlier block); a full block is
// written first. [table.encode] writes the last block after each fill.
func (b *partBuffers[R]) next() *R {
	if len(b.block) == cap(b.block) {
		b.flush()
	}
	b.block = b.block[:len(b.block)+1]
	return &b.block[len(b.block)-1]
}

// flush writes the block being built.
func (b *partBuffers[R]) flush() {
	b.write(b.block)
	b.block = b.block[:0]
}

// forget empties the buffers and drops their references to the rows, so
// that a pooled partBuffers does not keep them alive.
func (b *partBuffers[R]) forget() {
	b.columns.Forget()
	clear(b.block[:cap(b.block)])
	b.block = b.block[:0]
}

// table is a table written with package parquetwriter: its columns, its
// Arrow schemas and its Parquet layout.
type table[R any] struct {
	name string
	// columns are the table's columns in schema order; part are those
	// stored in its files.
	columns, part []column[R]
	// schema is the table as a reader sees it; partSchema that of its
	// files (the same when no column is in the path).
	schema, partSchema *arrow.Schema
	layout             func() *parquetwriter.Layout
	buffers            sync.Pool // of *partBuffers[R]
}

func newTable[R any](name string, columns []column[R]) *table[R] {
	t := &table[R]{name: name, columns: columns, part: partColumns(columns)}
	t.schema = schemaOf(name, t.columns)
	t.partSchema = schemaOf(name, t.part)
	t.layout = sync.OnceValue(func() *parquetwriter.Layout { return layoutOf(t.partSchema, t.part) })
	t.buffers.New = func() any { return newPartBuffers(t.layout(), t.part) }
	return t
}

// encode writes a part of rows rows: fill appends rows [start, end) to
// the buffers ([partBuffers.write] or [partBuffers.next]), one row group of
// at most [RowGroupRows] rows at a time, in order. extra is added to the
// file's key/value metadata.
func (t *table[R]) encode(rows int, fill func(buffers *partBuffers[R], start, end int) error, extra ...parquetwriter.KeyValue) ([]byte, error) {
	enc := t.layout().Encoder()
	defer enc.Release()
	buffers := t.buffers.Get().(*partBuffers[R])
	defer func() {
		buffers.forget()
		t.buffers.Put(buffers)
	}()
	for start := 0; start < rows; start += RowGroupRows {
		end := min(rows, start+RowGroupRows)
		buffers.columns.Reset(end - start)
		if err := fill(buffers, start, end); err != nil {
			return nil, err
		}
		buffers.flush()
		if err := enc.WriteRowGroup(buffers.columns, end-start); err != nil {
			return nil, fmt.Errorf("results: encode %s part: %w", t.name, err)
		}
	}
	return enc.Finish(extra...), nil
}

// encodeRows writes rows as a part, after checking each with check, which
// returns an error for row i when it cannot be stored.
func (t *table[R]) encodeRows(rows []R, check func(i int, row *R) error) ([]byte, error) {
	return t.encode(len(rows), func(buffers *partBuffers[R], start, end int) error {
		for i := start; i < end; i++ {
			if err := check(i, &rows[i]); err != nil {
				return err
			}
		}
		buffers.write(rows[start:end])
		return nil
	})
}

// decodeRows reads the rows of part, a file of t: each starts as init, is
// read from the part's columns, and is then given to done when it is not
// nil.
func (t *table[R]) decodeRows(part *parquetPart, init R, done func(row *R)) ([]R, error) {
	rows := make([]R, 0, part.numRows)
	err := part.each(func(rec arrow.RecordBatch) error {
		read := readers(t.part, rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, init)
			row := &rows[len(rows)-1]
			readRow(read, i, row)
			if done != nil {
				done(row)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
