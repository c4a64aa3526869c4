package results

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// This file writes flat Parquet files directly, without building Arrow
// records: the columns of a table are filled from its rows (see
// EncodePoints), then each column chunk is encoded, compressed with zstd
// and written with its page headers, and the footer is written last. The
// result is what pqarrow writes for the same Arrow schema (same Parquet
// schema, logical types, ARROW:schema and key/value metadata, data page
// v1, one row group per RowGroupRows rows); the encoding is chosen per
// column:
//
//   - dictionary: the columns a table names (pointsDictionary,
//     trajectoriesDictionary: grid parameters, repeated strings) get a
//     PLAIN dictionary page and an RLE_DICTIONARY data page, unless a chunk
//     has too many distinct values for a dictionary to pay
//     (dictionaryLimit, pageBytes), when it is written PLAIN;
//   - PLAIN for every other column, in data pages of about pageBytes;
//   - definition levels of nullable columns: RLE / bit-packing hybrid.
//
// Every column chunk has statistics (NULL count, min and max; see
// columnStats) so that readers can skip files and row groups when
// filtering. Pages are compressed with zstd (see zstdEncoder).

// Parquet enumerations (parquet.thrift) used in page headers and the
// footer.
const (
	typeBoolean   = 0
	typeInt32     = 1
	typeInt64     = 2
	typeDouble    = 5
	typeByteArray = 6

	convertedNone            = -1
	convertedUTF8            = 0
	convertedTimestampMicros = 10
	convertedInt32           = 17
	convertedInt64           = 18

	encodingPlain          = 0
	encodingRLE            = 3
	encodingRLEDictionary  = 8
	pageData               = 0
	pageDictionary         = 2
	codecZstd              = 6
	repetitionRequired     = 0
	repetitionOptional     = 1
	logicalTypeString      = 1
	logicalTypeTimestamp   = 8
	logicalTypeInteger     = 10
	timeUnitMicros         = 2
	parquetFormatVersion   = 2
	columnOrderTypeDefined = 1
)

// createdBy is the footer's created_by.
const createdBy = "isweep results encoder"

// pageBytes is the PLAIN-encoded size above which a column chunk's values
// are split into several data pages.
const pageBytes = 1 << 20

// dictionaryLimit is the largest number of distinct values for which a
// chunk of n values of a dictionary column is dictionary-encoded; its
// dictionary page must also stay under pageBytes.
func dictionaryLimit(n int) int { return max(1, n/2) }

// parquetColumn is one column of a tableLayout.
type parquetColumn struct {
	name       string
	physical   int32
	converted  int32
	logical    int32 // logicalType… or 0 for none
	bitWidth   int8  // of an integer logical type
	nullable   bool
	dictionary bool
	// metaPrefix are the first fields (1 to 4: type, encodings, path,
	// codec) of the column's ColumnMetaData, PLAIN ([0]) and dictionary
	// encoded ([1]).
	metaPrefix [2][]byte
}

// tableLayout is what every file of one table shares: its columns, the
// footer parts that do not depend on the rows, and its metadata. It is
// built once per table.
type tableLayout struct {
	columns []parquetColumn
	// schemaFields are the footer's fields 1 (version) and 2 (schema).
	schemaFields []byte
	// columnOrders is the footer's field 7, encoded after field 6.
	columnOrders []byte
	// metadata is the file's key/value metadata: the Arrow schema's, then
	// ARROW:schema.
	metadata [][2]string
	encoders sync.Pool // of *fileEncoder
}

// newTableLayout returns the layout of files holding schema, with
// dictionary encoding for the columns named in dictionary. It panics on a
// type it does not write: a programmer error.
func newTableLayout(schema *arrow.Schema, dictionary []string) *tableLayout {
	l := &tableLayout{}
	for _, f := range schema.Fields() {
		c := parquetColumn{name: f.Name, nullable: f.Nullable, converted: convertedNone}
		switch t := f.Type.(type) {
		case *arrow.StringType:
			c.physical, c.converted, c.logical = typeByteArray, convertedUTF8, logicalTypeString
		case *arrow.Int64Type:
			c.physical, c.converted, c.logical, c.bitWidth = typeInt64, convertedInt64, logicalTypeInteger, 64
		case *arrow.Int32Type:
			c.physical, c.converted, c.logical, c.bitWidth = typeInt32, convertedInt32, logicalTypeInteger, 32
		case *arrow.Float64Type:
			c.physical = typeDouble
		case *arrow.BooleanType:
			c.physical = typeBoolean
		case *arrow.TimestampType:
			if t.Unit != arrow.Microsecond || t.TimeZone != "UTC" {
				panic("results: newTableLayout: column " + f.Name + ": only timestamp[us, UTC] is written")
			}
			c.physical, c.converted, c.logical = typeInt64, convertedTimestampMicros, logicalTypeTimestamp
		default:
			panic("results: newTableLayout: column " + f.Name + ": type " + f.Type.String() + " is not written")
		}
		for _, name := range dictionary {
			if name == f.Name && c.physical != typeBoolean {
				c.dictionary = true
			}
		}
		for dict := range c.metaPrefix {
			var w thriftWriter
			w.i32(1, c.physical)
			if dict == 1 {
				w.beginList(2, thriftI32, 3)
				w.i32Element(encodingPlain)
				w.i32Element(encodingRLE)
				w.i32Element(encodingRLEDictionary)
			} else {
				w.beginList(2, thriftI32, 2)
				w.i32Element(encodingPlain)
				w.i32Element(encodingRLE)
			}
			w.beginList(3, thriftBinary, 1)
			w.element(c.name)
			w.i32(4, codecZstd)
			c.metaPrefix[dict] = w.buf
		}
		l.columns = append(l.columns, c)
	}

	var w thriftWriter
	w.i32(1, parquetFormatVersion)
	w.beginList(2, thriftStruct, len(l.columns)+1)
	w.beginElement()
	w.i32(3, repetitionRequired)
	w.string(4, "schema")
	w.i32(5, int32(len(l.columns)))
	w.endStruct()
	for _, c := range l.columns {
		w.beginElement()
		w.i32(1, c.physical)
		if c.nullable {
			w.i32(3, repetitionOptional)
		} else {
			w.i32(3, repetitionRequired)
		}
		w.string(4, c.name)
		if c.converted != convertedNone {
			w.i32(6, c.converted)
		}
		if c.logical != 0 {
			w.beginStruct(10)
			w.beginStruct(int16(c.logical))
			switch c.logical {
			case logicalTypeInteger:
				w.byteField(1, c.bitWidth)
				w.boolean(2, true)
			case logicalTypeTimestamp:
				w.boolean(1, true) // isAdjustedToUTC
				w.beginStruct(2)
				w.beginStruct(timeUnitMicros)
				w.endStruct()
				w.endStruct()
			}
			w.endStruct()
			w.endStruct()
		}
		w.endStruct()
	}
	l.schemaFields = w.buf

	w = thriftWriter{lastID: 6}
	w.beginList(7, thriftStruct, len(l.columns))
	for range l.columns {
		w.beginElement()
		w.beginStruct(columnOrderTypeDefined)
		w.endStruct()
		w.endStruct()
	}
	l.columnOrders = w.buf

	md := schema.Metadata()
	for i, k := range md.Keys() {
		l.metadata = append(l.metadata, [2]string{k, md.Values()[i]})
	}
	arrowSchema := flight.SerializeSchema(schema, memory.DefaultAllocator)
	l.metadata = append(l.metadata, [2]string{"ARROW:schema", base64.StdEncoding.EncodeToString(arrowSchema)})
	return l
}

// namedColumn names a table's column buffer.
type namedColumn struct {
	name string
	data columnData
}

// checkColumns returns the buffers of columns after checking that they are
// the layout's columns, in order and of the right type. A mismatch is a
// programmer error: it panics.
func checkColumns(l *tableLayout, columns []namedColumn) tableColumns {
	if len(columns) != len(l.columns) {
		panic(fmt.Sprintf("results: %d column buffers for a table of %d columns", len(columns), len(l.columns)))
	}
	list := make(tableColumns, len(columns))
	for i, c := range columns {
		want := l.columns[i]
		var physical int32
		switch c.data.(type) {
		case *columnBuffer[string]:
			physical = typeByteArray
		case *columnBuffer[int64]:
			physical = typeInt64
		case *columnBuffer[int32]:
			physical = typeInt32
		case *columnBuffer[float64]:
			physical = typeDouble
		case *columnBuffer[bool]:
			physical = typeBoolean
		}
		if c.name != want.name || physical != want.physical {
			panic(fmt.Sprintf("results: column buffer %d is %s of physical type %d, the table's column is %s of type %d", i, c.name, physical, want.name, want.physical))
		}
		list[i] = c.data
	}
	return list
}

// fileEncoder encodes one file at a time; its buffers are reused across
// files through tableLayout.encoders.
type fileEncoder struct {
	layout *tableLayout
	out    []byte // the file so far
	page   []byte // uncompressed page
	packed []byte // compressed page
	header thriftWriter
	levels []uint32
	bits   []uint64 // doubles as bits, for dictionaries
	floats []float64
	arena  []byte // statistics values
	chunks []chunkMeta
	groups []groupMeta

	dictInt64  dictionary[int64]
	dictInt32  dictionary[int32]
	dictDouble dictionary[uint64]
	dictString dictionary[string]
}

// chunkMeta is the footer's description of one column chunk.
type chunkMeta struct {
	dictionary               bool
	numValues                int64
	dictOffset, dataOffset   int64
	compressed, uncompressed int64
	stats                    columnStats
}

type groupMeta struct {
	numRows                  int64
	offset                   int64
	compressed, uncompressed int64
}

func (l *tableLayout) encoder() *fileEncoder {
	if e, ok := l.encoders.Get().(*fileEncoder); ok {
		return e
	}
	return &fileEncoder{layout: l}
}

// start begins a new file.
func (e *fileEncoder) start() {
	e.out = append(e.out[:0], "PAR1"...)
	e.arena, e.chunks, e.groups = e.arena[:0], e.chunks[:0], e.groups[:0]
}

// release returns e to its layout's pool, keeping its buffers unless one
// file made them very large.
func (e *fileEncoder) release() {
	const keep = 64 << 20
	if cap(e.out) > keep {
		e.out = nil
	}
	if cap(e.page) > keep {
		e.page = nil
	}
	if cap(e.packed) > keep {
		e.packed = nil
	}
	// Drop the references to the rows' strings.
	clear(e.dictString.keys)
	e.dictString.keys = e.dictString.keys[:0]
	clear(e.dictString.index)
	e.layout.encoders.Put(e)
}

// writeRowGroup writes one row group of numRows rows from columns, which
// are in layout order.
func (e *fileEncoder) writeRowGroup(columns tableColumns, numRows int) error {
	if len(columns) != len(e.layout.columns) {
		panic(fmt.Sprintf("results: writeRowGroup: %d columns, layout has %d", len(columns), len(e.layout.columns)))
	}
	if len(e.groups) == math.MaxInt16 {
		return fmt.Errorf("a file holds at most %d row groups of %d rows; write fewer rows per part", math.MaxInt16, RowGroupRows)
	}
	g := groupMeta{numRows: int64(numRows), offset: int64(len(e.out))}
	for i, data := range columns {
		col := &e.layout.columns[i]
		if data.len() != numRows {
			panic(fmt.Sprintf("results: writeRowGroup: column %s has %d values, want %d", col.name, data.len(), numRows))
		}
		var (
			meta chunkMeta
			err  error
		)
		switch d := data.(type) {
		case *columnBuffer[int64]:
			meta, err = writeChunk(e, col, d, &e.dictInt64, d.values)
		case *columnBuffer[int32]:
			meta, err = writeChunk(e, col, d, &e.dictInt32, d.values)
		case *columnBuffer[float64]:
			// Dictionary keys are the bits: +0 and −0 differ, NaN is NaN.
			e.bits = e.bits[:0]
			if col.dictionary {
				for _, v := range d.values {
					e.bits = append(e.bits, math.Float64bits(v))
				}
			}
			meta, err = writeChunk(e, col, d, &e.dictDouble, e.bits)
		case *columnBuffer[string]:
			meta, err = writeChunk(e, col, d, &e.dictString, d.values)
		case *columnBuffer[bool]:
			meta, err = writeChunk[bool, int64](e, col, d, nil, nil)
		default:
			panic("results: writeRowGroup: unsupported column type")
		}
		if err != nil {
			return fmt.Errorf("results: column %s: %w", col.name, err)
		}
		g.compressed += meta.compressed
		g.uncompressed += meta.uncompressed
		e.chunks = append(e.chunks, meta)
	}
	e.groups = append(e.groups, g)
	return nil
}

// writeChunk writes the column chunk of c: with a dictionary when the
// column has one and keys (c's values as dictionary keys) have few enough
// distinct values, else PLAIN.
func writeChunk[T columnValue, K comparable](e *fileEncoder, col *parquetColumn, c *columnBuffer[T], dict *dictionary[K], keys []K) (chunkMeta, error) {
	n := len(c.values)
	var valid []bool
	if col.nullable {
		valid = c.valid
		if len(valid) != n {
			panic("results: writeChunk: column " + col.name + " is nullable but was filled with appendRequired")
		}
	}
	meta := chunkMeta{numValues: int64(n)}
	if col.dictionary && n > c.nulls && dict.build(keys, valid, dictionaryLimit(n-c.nulls)) && plainBytes(dict.keys) < pageBytes {
		meta.dictionary = true
		meta.stats, e.arena = computeStats(e.arena, e.statsValues(dict.keys), nil, c.nulls)
		meta.dictOffset = int64(len(e.out))
		e.page = appendPlain(e.page[:0], dict.keys, nil, 0, len(dict.keys))
		comp, raw, err := e.writePage(pageDictionary, len(dict.keys), encodingPlain, col.physical)
		if err != nil {
			return meta, err
		}
		meta.compressed, meta.uncompressed = comp, raw
		meta.dataOffset = int64(len(e.out))
		e.page = e.appendLevels(e.page[:0], valid, 0, n)
		width := bitWidth(len(dict.keys))
		e.page = append(e.page, byte(width))
		e.page = appendHybrid(e.page, dict.indices, width)
		comp, raw, err = e.writePage(pageData, n, encodingRLEDictionary, col.physical)
		meta.compressed += comp
		meta.uncompressed += raw
		return meta, err
	}
	meta.stats, e.arena = computeStats(e.arena, any(c.values), valid, c.nulls)
	meta.dataOffset = int64(len(e.out))
	for lo := 0; lo < n; {
		hi := pageEnd(c.values, lo)
		e.page = e.appendLevels(e.page[:0], valid, lo, hi)
		e.page = appendPlain(e.page, any(c.values), valid, lo, hi)
		comp, raw, err := e.writePage(pageData, hi-lo, encodingPlain, col.physical)
		if err != nil {
			return meta, err
		}
		meta.compressed += comp
		meta.uncompressed += raw
		lo = hi
	}
	return meta, nil
}

// plainBytes returns the size of the PLAIN encoding of values, for strings;
// 0 for fixed-width values, whose dictionaries dictionaryLimit keeps small.
func plainBytes(values any) int {
	strs, ok := values.([]string)
	if !ok {
		return 0
	}
	size := 0
	for _, s := range strs {
		size += 4 + len(s)
	}
	return size
}

// statsValues returns dictionary keys as computeStats takes them: the
// keys of a double column as float64.
func (e *fileEncoder) statsValues(keys any) any {
	bits, ok := keys.([]uint64)
	if !ok {
		return keys
	}
	e.floats = e.floats[:0]
	for _, b := range bits {
		e.floats = append(e.floats, math.Float64frombits(b))
	}
	return e.floats
}

// pageEnd returns the end of the data page that starts at row lo: the
// row after which the page's PLAIN values reach pageBytes.
func pageEnd[T columnValue](values []T, lo int) int {
	switch v := any(values).(type) {
	case []string:
		size := 0
		for i := lo; i < len(v); i++ {
			size += 4 + len(v[i])
			if size >= pageBytes {
				return i + 1
			}
		}
		return len(v)
	case []bool:
		return min(len(values), lo+8*pageBytes)
	case []int32:
		return min(len(values), lo+pageBytes/4)
	}
	return min(len(values), lo+pageBytes/8)
}

// appendLevels appends the definition levels of rows [lo, hi) of a
// nullable column as a data page v1 stores them: their length, then the
// RLE / bit-packing hybrid at bit width 1. A required column (valid nil)
// has none.
func (e *fileEncoder) appendLevels(dst []byte, valid []bool, lo, hi int) []byte {
	if valid == nil {
		return dst
	}
	e.levels = e.levels[:0]
	for _, ok := range valid[lo:hi] {
		level := uint32(0)
		if ok {
			level = 1
		}
		e.levels = append(e.levels, level)
	}
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendHybrid(dst, e.levels, 1)
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// writePage compresses e.page and appends it with its header to the file.
// It returns the page's compressed and uncompressed sizes, header
// included.
func (e *fileEncoder) writePage(pageType, numValues int, encoding, physical int32) (compressed, uncompressed int64, err error) {
	if len(e.page) > math.MaxInt32 || numValues > math.MaxInt32 {
		return 0, 0, fmt.Errorf("a page of %d values and %d bytes is larger than Parquet allows (2 GiB); write fewer rows per part", numValues, len(e.page))
	}
	if len(e.page) < rawPageBytes {
		e.packed = appendRawZstdFrame(e.packed[:0], e.page)
	} else {
		e.packed = zstdEncoder(len(e.page), physical).EncodeAll(e.page, e.packed[:0])
	}
	h := &e.header
	h.reset(h.buf)
	h.i32(1, int32(pageType))
	h.i32(2, int32(len(e.page)))
	h.i32(3, int32(len(e.packed)))
	if pageType == pageData {
		h.beginStruct(5)
		h.i32(1, int32(numValues))
		h.i32(2, encoding)
		h.i32(3, encodingRLE)
		h.i32(4, encodingRLE)
		h.endStruct()
	} else {
		h.beginStruct(7)
		h.i32(1, int32(numValues))
		h.i32(2, encoding)
		h.boolean(3, false)
		h.endStruct()
	}
	header := h.end()
	e.out = append(e.out, header...)
	e.out = append(e.out, e.packed...)
	return int64(len(header) + len(e.packed)), int64(len(header) + len(e.page)), nil
}

// finish writes the footer, with the key/value metadata of the layout and
// then extra, and returns a copy of the file.
func (e *fileEncoder) finish(extra ...[2]string) []byte {
	l := e.layout
	w := &e.header
	w.reset(w.buf)
	w.raw(l.schemaFields, 2)
	var numRows int64
	for _, g := range e.groups {
		numRows += g.numRows
	}
	w.i64(3, numRows)
	w.beginList(4, thriftStruct, len(e.groups))
	for gi, g := range e.groups {
		w.beginElement()
		chunks := e.chunks[gi*len(l.columns) : (gi+1)*len(l.columns)]
		w.beginList(1, thriftStruct, len(chunks))
		for ci := range chunks {
			e.writeChunkMeta(&l.columns[ci], &chunks[ci])
		}
		w.i64(2, g.uncompressed)
		w.i64(3, g.numRows)
		w.i64(5, g.offset)
		w.i64(6, g.compressed)
		w.i16(7, int16(gi))
		w.endStruct()
	}
	w.beginList(5, thriftStruct, len(l.metadata)+len(extra))
	for _, kv := range l.metadata {
		w.beginElement()
		w.string(1, kv[0])
		w.string(2, kv[1])
		w.endStruct()
	}
	for _, kv := range extra {
		w.beginElement()
		w.string(1, kv[0])
		w.string(2, kv[1])
		w.endStruct()
	}
	w.string(6, createdBy)
	w.raw(l.columnOrders, 7)
	footer := w.end()
	e.out = append(e.out, footer...)
	e.out = binary.LittleEndian.AppendUint32(e.out, uint32(len(footer)))
	e.out = append(e.out, "PAR1"...)
	file := make([]byte, len(e.out))
	copy(file, e.out)
	return file
}

// writeChunkMeta writes one ColumnChunk element of a row group's columns.
func (e *fileEncoder) writeChunkMeta(col *parquetColumn, m *chunkMeta) {
	w := &e.header
	w.beginElement()
	start := m.dataOffset
	if m.dictionary {
		start = m.dictOffset
	}
	w.i64(2, start) // file_offset
	w.beginStruct(3)
	if m.dictionary {
		w.raw(col.metaPrefix[1], 4)
	} else {
		w.raw(col.metaPrefix[0], 4)
	}
	w.i64(5, m.numValues)
	w.i64(6, m.uncompressed)
	w.i64(7, m.compressed)
	w.i64(9, m.dataOffset)
	if m.dictionary {
		w.i64(11, m.dictOffset)
	}
	w.beginStruct(12)
	w.i64(3, m.stats.nulls)
	if m.stats.hasMinMax {
		w.binary(5, m.stats.max)
		w.binary(6, m.stats.min)
	}
	w.endStruct()
	w.endStruct()
	w.endStruct()
}

// entropyPageBytes is the uncompressed page size from which literals are
// entropy-coded (Huffman) even in blocks without matches. Integer columns
// of random-looking values (seeds, timestamps) have few matches but many
// zero high bytes: Huffman makes a large points part about 10% smaller.
// On the small pages of a part of a few hundred rows its tables cost more
// time than they save bytes, and on doubles (random mantissas) it saves
// nothing (measured with BenchmarkEncodePoints).
const entropyPageBytes = 16 << 10

var (
	zstdOnce             sync.Once
	zstdSmall, zstdLarge *zstd.Encoder
)

// zstdEncoder returns the encoder of a page of size bytes of a column of
// the given physical type: zstd's fastest level, Huffman-coded literals for
// the large pages of non-double columns (entropyPageBytes), frames without
// checksum (Parquet pages need none). Each encoder is shared by concurrent
// callers (GOMAXPROCS at a time). The output depends only on the input:
// encoding is deterministic.
func zstdEncoder(size int, physical int32) *zstd.Encoder {
	zstdOnce.Do(func() {
		newEncoder := func(literals zstd.EOption) *zstd.Encoder {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true), literals)
			if err != nil {
				panic("results: zstd encoder: " + err.Error())
			}
			return enc
		}
		zstdSmall = newEncoder(zstd.WithNoEntropyCompression(true))
		zstdLarge = newEncoder(zstd.WithAllLitEntropyCompression(true))
	})
	if size >= entropyPageBytes && physical != typeDouble {
		return zstdLarge
	}
	return zstdSmall
}

// rawPageBytes is the page size under which a page is stored in a zstd
// frame of one raw (uncompressed) block, written here: a dictionary page
// of a few values, the indices of a constant column, the levels of a short
// nullable column. zstd can save at most a few bytes on such a page, but
// the encoder costs about a microsecond per call, a tenth of the time of a
// part of 100 rows, which has dozens of these pages (measured with
// BenchmarkEncodePoints: 1.12M rows/cpu-s instead of 0.92M at 100 rows,
// 0.6 byte per row more).
const rawPageBytes = 128

// appendRawZstdFrame appends src, shorter than 256 bytes, as a zstd frame
// (RFC 8878) of one raw block: magic number, frame header with a
// single-segment flag and a 1-byte content size, last-block header.
func appendRawZstdFrame(dst, src []byte) []byte {
	if len(src) > 255 {
		panic("results: appendRawZstdFrame: page too long for a 1-byte content size")
	}
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd) // magic number
	dst = append(dst, 0x20, byte(len(src)))   // single segment, 1-byte content size
	block := uint32(len(src))<<3 | 1          // raw, last
	dst = append(dst, byte(block), byte(block>>8), byte(block>>16))
	return append(dst, src...)
}
