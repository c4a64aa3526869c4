package results

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// summaryDictionary are the summary columns written with dictionary
// encoding: the group keys, which repeat across rows.
var summaryDictionary = []string{"algorithm", "mode", "n", "init_scale"}

// writeParquet encodes rec as one Parquet file with pqarrow: zstd pages, row
// groups of at most RowGroupRows rows, the Arrow schema and its metadata
// stored, plus the partition under MetaPartition when it is not empty. It
// writes the summary table, one small file per sweep; the points and
// trajectories parts, written per chunk, go through the faster direct
// encoder of encoder.go.
func writeParquet(rec arrow.RecordBatch, partition string, alloc memory.Allocator) ([]byte, error) {
	var buf bytes.Buffer
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(alloc),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(RowGroupRows),
		parquet.WithDictionaryDefault(false),
	}
	for _, name := range summaryDictionary {
		opts = append(opts, parquet.WithDictionaryFor(name, true))
	}
	props := parquet.NewWriterProperties(opts...)
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(alloc))
	fw, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, arrowProps)
	if err != nil {
		return nil, fmt.Errorf("results: start Parquet file: %w", err)
	}
	if partition != "" {
		if err := fw.AppendKeyValueMetadata(MetaPartition, partition); err != nil {
			fw.Close()
			return nil, fmt.Errorf("results: Parquet metadata: %w", err)
		}
	}
	if rec.NumRows() > 0 {
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return nil, fmt.Errorf("results: write Parquet rows: %w", err)
		}
	}
	// Close writes the last row group and the footer: its error matters.
	if err := fw.Close(); err != nil {
		return nil, fmt.Errorf("results: finish Parquet file: %w", err)
	}
	return buf.Bytes(), nil
}

// openPartitioned opens data like openParquet and parses its
// [MetaPartition], which a part with rows must carry; decoder names the
// caller in errors.
func openPartitioned(data []byte, table string, want *arrow.Schema, alloc memory.Allocator, decoder string) (*parquetPart, Partition, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	part, err := openParquet(data, table, want, alloc)
	if err != nil {
		return nil, Partition{}, err
	}
	var p Partition
	if part.numRows > 0 {
		if p, err = ParsePartition(part.partition); err != nil {
			part.close()
			return nil, Partition{}, fmt.Errorf("results: %s: the file's %s: %w", decoder, MetaPartition, err)
		}
	}
	return part, p, nil
}

// parquetPart is an open Parquet file of one of isweep's tables.
type parquetPart struct {
	partition string // MetaPartition, "" when absent
	numRows   int64
	reader    *file.Reader
	arrow     *pqarrow.FileReader
}

// openParquet opens data as a Parquet file of the named table and checks its
// metadata and columns against want.
func openParquet(data []byte, table string, want *arrow.Schema, alloc memory.Allocator) (*parquetPart, error) {
	rdr, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(parquet.NewReaderProperties(alloc)))
	if err != nil {
		return nil, fmt.Errorf("results: read %s table: not a Parquet file: %w", table, err)
	}
	part := &parquetPart{reader: rdr, numRows: rdr.NumRows()}
	kv := rdr.MetaData().KeyValueMetadata()
	if v := kv.FindValue(MetaTable); v == nil || *v != table {
		rdr.Close()
		return nil, fmt.Errorf("results: read %s table: the file's %s is %s, want %q; decode it with the function for its table", table, MetaTable, describe(v), table)
	}
	if v := kv.FindValue(MetaSchemaVersion); v == nil || *v != SchemaVersion {
		rdr.Close()
		return nil, fmt.Errorf("results: read %s table: the file's %s is %s, this code reads version %q; use the isweep version that wrote it", table, MetaSchemaVersion, describe(v), SchemaVersion)
	}
	if v := kv.FindValue(MetaPartition); v != nil {
		part.partition = *v
	}
	part.arrow, err = pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: RowGroupRows}, alloc)
	if err != nil {
		rdr.Close()
		return nil, fmt.Errorf("results: read %s table: %w", table, err)
	}
	got, err := part.arrow.Schema()
	if err != nil {
		rdr.Close()
		return nil, fmt.Errorf("results: read %s table: %w", table, err)
	}
	for _, f := range want.Fields() {
		idx := got.FieldIndices(f.Name)
		if len(idx) == 0 && f.Nullable {
			continue // added after the file was written: read as NULL
		}
		if len(idx) != 1 {
			rdr.Close()
			return nil, fmt.Errorf("results: read %s table: column %q is missing; the file was not written by this package", table, f.Name)
		}
		if g := got.Field(idx[0]); !arrow.TypeEqual(g.Type, f.Type) {
			rdr.Close()
			return nil, fmt.Errorf("results: read %s table: column %q has type %s, want %s; the file was not written by this package", table, f.Name, g.Type, f.Type)
		}
	}
	return part, nil
}

func describe(v *string) string {
	if v == nil {
		return "missing"
	}
	return fmt.Sprintf("%q", *v)
}

// each calls fn with every record batch of the file, in order.
func (p *parquetPart) each(fn func(rec arrow.RecordBatch) error) error {
	if p.numRows == 0 {
		return nil
	}
	rr, err := p.arrow.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("results: read Parquet rows: %w", err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("results: read Parquet rows: %w", err)
	}
	return nil
}

func (p *parquetPart) close() error { return p.reader.Close() }

// arrayOf returns the column of rec named name as an array of type A. The
// schema was checked by openParquet, so a mismatch is a bug.
func arrayOf[A arrow.Array](rec arrow.RecordBatch, name string) A {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic("results: column " + name + " missing after schema check")
	}
	return rec.Column(idx[0]).(A)
}

// builder returns the builder of the field named name.
func builder[B array.Builder](rb *array.RecordBuilder, name string) B {
	idx := rb.Schema().FieldIndices(name)
	if len(idx) != 1 {
		panic("results: no column " + name)
	}
	return rb.Field(idx[0]).(B)
}

// stringCache turns Arrow string values into Go strings that own their
// bytes, sharing one copy between equal consecutive values.
type stringCache struct{ last string }

func (c *stringCache) get(v string) string {
	if v != c.last {
		c.last = strings.Clone(v)
	}
	return c.last
}
