package parquetwriter

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

// createdBy is the footer's created_by.
const createdBy = "isweep results encoder"

// pageBytes is the PLAIN-encoded size above which a column chunk's values
// are split into several data pages.
const pageBytes = 1 << 20

// dictionaryLimit is the largest number of distinct values for which a
// chunk of n values of a dictionary column is dictionary-encoded; its
// dictionary page must also stay under pageBytes.
func dictionaryLimit(n int) int { return max(1, n/2) }

// parquetColumn is one column of a Layout.
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

// Layout is what every file of one table shares: its columns, the footer
// parts that do not depend on the rows, and its metadata. Build it once
// per table with [NewLayout]; it is safe for concurrent use.
type Layout struct {
	columns []parquetColumn
	// schemaFields are the footer's fields 1 (version) and 2 (schema).
	schemaFields []byte
	// columnOrders is the footer's field 7, encoded after field 6.
	columnOrders []byte
	// metadata is the file's key/value metadata: the Arrow schema's, then
	// ARROW:schema.
	metadata []KeyValue
	encoders sync.Pool // of *Encoder
}

// NewLayout returns the layout of files holding schema, with dictionary
// encoding for the columns named in dictionary (a boolean column never has
// one). It panics on a type it does not write (see the package
// documentation): a programmer error.
func NewLayout(schema *arrow.Schema, dictionary []string) *Layout {
	l := &Layout{}
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
				panic("parquetwriter: NewLayout: column " + f.Name + ": only timestamp[us, UTC] is written")
			}
			c.physical, c.converted, c.logical = typeInt64, convertedTimestampMicros, logicalTypeTimestamp
		default:
			panic("parquetwriter: NewLayout: column " + f.Name + ": type " + f.Type.String() + " is not written")
		}
		for _, name := range dictionary {
			if name == f.Name && c.physical != typeBoolean {
				c.dictionary = true
			}
		}
		for dict := range c.metaPrefix {
			var w thriftWriter
			w.i32(columnMetaDataType, c.physical)
			if dict == 1 {
				w.beginList(columnMetaDataEncodings, thriftI32, 3)
				w.i32Element(encodingPlain)
				w.i32Element(encodingRLE)
				w.i32Element(encodingRLEDictionary)
			} else {
				w.beginList(columnMetaDataEncodings, thriftI32, 2)
				w.i32Element(encodingPlain)
				w.i32Element(encodingRLE)
			}
			w.beginList(columnMetaDataPathInSchema, thriftBinary, 1)
			w.element(c.name)
			w.i32(columnMetaDataCodec, codecZstd)
			c.metaPrefix[dict] = w.buf
		}
		l.columns = append(l.columns, c)
	}

	var w thriftWriter
	w.i32(fileMetaDataVersion, parquetFormatVersion)
	w.beginList(fileMetaDataSchema, thriftStruct, len(l.columns)+1)
	w.beginElement()
	w.i32(schemaElementRepetitionType, repetitionRequired)
	w.string(schemaElementName, "schema")
	w.i32(schemaElementNumChildren, int32(len(l.columns)))
	w.endStruct()
	for _, c := range l.columns {
		w.beginElement()
		w.i32(schemaElementType, c.physical)
		if c.nullable {
			w.i32(schemaElementRepetitionType, repetitionOptional)
		} else {
			w.i32(schemaElementRepetitionType, repetitionRequired)
		}
		w.string(schemaElementName, c.name)
		if c.converted != convertedNone {
			w.i32(schemaElementConvertedType, c.converted)
		}
		if c.logical != 0 {
			w.beginStruct(schemaElementLogicalType)
			w.beginStruct(int16(c.logical))
			switch c.logical {
			case logicalTypeInteger:
				w.byteField(intTypeBitWidth, c.bitWidth)
				w.boolean(intTypeIsSigned, true)
			case logicalTypeTimestamp:
				w.boolean(timestampTypeIsAdjustedToUTC, true)
				w.beginStruct(timestampTypeUnit)
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

	w = thriftWriter{lastID: fileMetaDataCreatedBy}
	w.beginList(fileMetaDataColumnOrders, thriftStruct, len(l.columns))
	for range l.columns {
		w.beginElement()
		w.beginStruct(columnOrderTypeOrder)
		w.endStruct()
		w.endStruct()
	}
	l.columnOrders = w.buf

	md := schema.Metadata()
	for i, k := range md.Keys() {
		l.metadata = append(l.metadata, KeyValue{k, md.Values()[i]})
	}
	arrowSchema := flight.SerializeSchema(schema, memory.DefaultAllocator)
	l.metadata = append(l.metadata, KeyValue{"ARROW:schema", base64.StdEncoding.EncodeToString(arrowSchema)})
	return l
}

// NewColumns returns empty column buffers for the layout's columns, in
// schema order: a *[ColumnBuffer] of string, int64 (also timestamps, in
// the schema's unit), int32, float64 or bool, nullable as the column is.
// Fill them row by row, then write them with [Encoder.WriteRowGroup].
func (l *Layout) NewColumns() Columns {
	cols := make(Columns, len(l.columns))
	for i, c := range l.columns {
		switch c.physical {
		case typeByteArray:
			cols[i] = &ColumnBuffer[string]{nullable: c.nullable}
		case typeInt64:
			cols[i] = &ColumnBuffer[int64]{nullable: c.nullable}
		case typeInt32:
			cols[i] = &ColumnBuffer[int32]{nullable: c.nullable}
		case typeDouble:
			cols[i] = &ColumnBuffer[float64]{nullable: c.nullable}
		case typeBoolean:
			cols[i] = &ColumnBuffer[bool]{nullable: c.nullable}
		}
	}
	return cols
}

// Encoder writes one file at a time of a [Layout]: [Layout.Encoder], then
// [Encoder.WriteRowGroup] for each row group, then [Encoder.Finish], then
// [Encoder.Release]. Its buffers are reused across files.
type Encoder struct {
	layout *Layout
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

// Encoder returns an encoder, from the layout's pool, that has begun a new
// file.
func (l *Layout) Encoder() *Encoder {
	e, ok := l.encoders.Get().(*Encoder)
	if !ok {
		e = &Encoder{layout: l}
	}
	e.out = append(e.out[:0], "PAR1"...)
	e.arena, e.chunks, e.groups = e.arena[:0], e.chunks[:0], e.groups[:0]
	return e
}

// Release returns e to its layout's pool, keeping its buffers unless one
// file made them very large. e must not be used after.
func (e *Encoder) Release() {
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

// WriteRowGroup writes one row group of numRows rows from columns, made by
// the layout's [Layout.NewColumns]. It returns an error when the file
// would hold more row groups, or a page more bytes, than Parquet allows.
func (e *Encoder) WriteRowGroup(columns Columns, numRows int) error {
	if len(columns) != len(e.layout.columns) {
		panic(fmt.Sprintf("parquetwriter: WriteRowGroup: %d columns, layout has %d", len(columns), len(e.layout.columns)))
	}
	if len(e.groups) == math.MaxInt16 {
		return fmt.Errorf("a file holds at most %d row groups; write fewer rows per file", math.MaxInt16)
	}
	g := groupMeta{numRows: int64(numRows), offset: int64(len(e.out))}
	for i, data := range columns {
		col := &e.layout.columns[i]
		if data.Len() != numRows {
			panic(fmt.Sprintf("parquetwriter: WriteRowGroup: column %s has %d values, want %d", col.name, data.Len(), numRows))
		}
		var (
			meta chunkMeta
			err  error
		)
		switch d := data.(type) {
		case *ColumnBuffer[int64]:
			meta, err = writeChunk(e, col, d, &e.dictInt64, d.values)
		case *ColumnBuffer[int32]:
			meta, err = writeChunk(e, col, d, &e.dictInt32, d.values)
		case *ColumnBuffer[float64]:
			// Dictionary keys are the bits: +0 and −0 differ, NaN is NaN.
			e.bits = e.bits[:0]
			if col.dictionary {
				for _, v := range d.values {
					e.bits = append(e.bits, math.Float64bits(v))
				}
			}
			meta, err = writeChunk(e, col, d, &e.dictDouble, e.bits)
		case *ColumnBuffer[string]:
			meta, err = writeChunk(e, col, d, &e.dictString, d.values)
		case *ColumnBuffer[bool]:
			meta, err = writeChunk[bool, int64](e, col, d, nil, nil)
		default:
			panic("parquetwriter: WriteRowGroup: unsupported column type")
		}
		if err != nil {
			return fmt.Errorf("parquetwriter: column %s: %w", col.name, err)
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
func writeChunk[T Value, K comparable](e *Encoder, col *parquetColumn, c *ColumnBuffer[T], dict *dictionary[K], keys []K) (chunkMeta, error) {
	n := len(c.values)
	var valid []bool
	if col.nullable {
		valid = c.valid
	}
	nulls := c.nulls()
	meta := chunkMeta{numValues: int64(n)}
	if col.dictionary && n > nulls && dict.build(keys, valid, dictionaryLimit(n-nulls)) && plainBytes(dict.keys) < pageBytes {
		meta.dictionary = true
		meta.stats, e.arena = computeStats(e.arena, e.statsValues(dict.keys), nil, nulls)
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
	meta.stats, e.arena = computeStats(e.arena, any(c.values), valid, nulls)
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
func (e *Encoder) statsValues(keys any) any {
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
func pageEnd[T Value](values []T, lo int) int {
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
func (e *Encoder) appendLevels(dst []byte, valid []bool, lo, hi int) []byte {
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
func (e *Encoder) writePage(pageType, numValues int, encoding, physical int32) (compressed, uncompressed int64, err error) {
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
	h.i32(pageHeaderType, int32(pageType))
	h.i32(pageHeaderUncompressedPageSize, int32(len(e.page)))
	h.i32(pageHeaderCompressedPageSize, int32(len(e.packed)))
	if pageType == pageData {
		h.beginStruct(pageHeaderDataPageHeader)
		h.i32(dataPageHeaderNumValues, int32(numValues))
		h.i32(dataPageHeaderEncoding, encoding)
		h.i32(dataPageHeaderDefinitionLevelEncoding, encodingRLE)
		h.i32(dataPageHeaderRepetitionLevelEncoding, encodingRLE)
		h.endStruct()
	} else {
		h.beginStruct(pageHeaderDictionaryPageHeader)
		h.i32(dictionaryPageHeaderNumValues, int32(numValues))
		h.i32(dictionaryPageHeaderEncoding, encoding)
		h.boolean(dictionaryPageHeaderIsSorted, false)
		h.endStruct()
	}
	header := h.end()
	e.out = append(e.out, header...)
	e.out = append(e.out, e.packed...)
	return int64(len(header) + len(e.packed)), int64(len(header) + len(e.page)), nil
}

// KeyValue is an entry of a file's key/value metadata.
type KeyValue struct{ Key, Value string }

// Finish writes the footer, with the key/value metadata of the layout's
// schema, then ARROW:schema, then extra, and returns a copy of the file.
func (e *Encoder) Finish(extra ...KeyValue) []byte {
	l := e.layout
	w := &e.header
	w.reset(w.buf)
	w.raw(l.schemaFields, fileMetaDataSchema)
	var numRows int64
	for _, g := range e.groups {
		numRows += g.numRows
	}
	w.i64(fileMetaDataNumRows, numRows)
	w.beginList(fileMetaDataRowGroups, thriftStruct, len(e.groups))
	for gi, g := range e.groups {
		w.beginElement()
		chunks := e.chunks[gi*len(l.columns) : (gi+1)*len(l.columns)]
		w.beginList(rowGroupColumns, thriftStruct, len(chunks))
		for ci := range chunks {
			e.writeChunkMeta(&l.columns[ci], &chunks[ci])
		}
		w.i64(rowGroupTotalByteSize, g.uncompressed)
		w.i64(rowGroupNumRows, g.numRows)
		w.i64(rowGroupFileOffset, g.offset)
		w.i64(rowGroupTotalCompressedSize, g.compressed)
		w.i16(rowGroupOrdinal, int16(gi))
		w.endStruct()
	}
	w.beginList(fileMetaDataKeyValueMetadata, thriftStruct, len(l.metadata)+len(extra))
	for _, kv := range append(l.metadata[:len(l.metadata):len(l.metadata)], extra...) {
		w.beginElement()
		w.string(keyValueKey, kv.Key)
		w.string(keyValueValue, kv.Value)
		w.endStruct()
	}
	w.string(fileMetaDataCreatedBy, createdBy)
	w.raw(l.columnOrders, fileMetaDataColumnOrders)
	footer := w.end()
	e.out = append(e.out, footer...)
	e.out = binary.LittleEndian.AppendUint32(e.out, uint32(len(footer)))
	e.out = append(e.out, "PAR1"...)
	file := make([]byte, len(e.out))
	copy(file, e.out)
	return file
}

// writeChunkMeta writes one ColumnChunk element of a row group's columns.
func (e *Encoder) writeChunkMeta(col *parquetColumn, m *chunkMeta) {
	w := &e.header
	w.beginElement()
	start := m.dataOffset
	if m.dictionary {
		start = m.dictOffset
	}
	w.i64(columnChunkFileOffset, start)
	w.beginStruct(columnChunkMetaData)
	if m.dictionary {
		w.raw(col.metaPrefix[1], columnMetaDataCodec)
	} else {
		w.raw(col.metaPrefix[0], columnMetaDataCodec)
	}
	w.i64(columnMetaDataNumValues, m.numValues)
	w.i64(columnMetaDataTotalUncompressedSize, m.uncompressed)
	w.i64(columnMetaDataTotalCompressedSize, m.compressed)
	w.i64(columnMetaDataDataPageOffset, m.dataOffset)
	if m.dictionary {
		w.i64(columnMetaDataDictionaryPageOffset, m.dictOffset)
	}
	w.beginStruct(columnMetaDataStatistics)
	w.i64(statisticsNullCount, m.stats.nulls)
	if m.stats.hasMinMax {
		w.binary(statisticsMaxValue, m.stats.max)
		w.binary(statisticsMinValue, m.stats.min)
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
				panic("parquetwriter: zstd encoder: " + err.Error())
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
		panic("parquetwriter: appendRawZstdFrame: page too long for a 1-byte content size")
	}
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd) // magic number
	dst = append(dst, 0x20, byte(len(src)))   // single segment, 1-byte content size
	block := uint32(len(src))<<3 | 1          // raw, last
	dst = append(dst, byte(block), byte(block>>8), byte(block>>16))
	return append(dst, src...)
}
