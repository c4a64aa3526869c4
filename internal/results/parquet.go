package results

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// openPartitioned opens data like openParquet and parses its
// [MetaPartition], which a part with rows must carry; decoder names the
// caller in errors.
func openPartitioned(data []byte, table string, want *arrow.Schema, alloc memory.Allocator, decoder string) (*parquetPart, Partition, error) {
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
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
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
	if err := checkArrowSchema(kv.FindValue("ARROW:schema")); err != nil {
		rdr.Close()
		return nil, fmt.Errorf("results: read %s table: %w", table, err)
	}
	got, err := part.openArrow(rdr, alloc)
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

// openArrow opens the Arrow reader of rdr and returns its schema. A
// damaged file can make arrow-go index past the end of its metadata: that
// panic is returned as an error.
func (p *parquetPart) openArrow(rdr *file.Reader, alloc memory.Allocator) (got *arrow.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			got, err = nil, fmt.Errorf("damaged file: %v", r)
		}
	}()
	if p.arrow, err = pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: RowGroupRows}, alloc); err != nil {
		return nil, err
	}
	return p.arrow.Schema()
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
