package parquetwriter

import "encoding/binary"

// Parquet's file format is described in parquet.thrift (Apache Parquet,
// parquet-format): page headers and the footer are Thrift structs written
// with the compact protocol. The constants below name the field ids and
// enumeration values of that file that this package writes, with the
// struct's name as prefix; their values are the ids and values of
// parquet.thrift.

// Enumerations of parquet.thrift.
const (
	// Type: physical types.
	typeBoolean   = 0
	typeInt32     = 1
	typeInt64     = 2
	typeDouble    = 5
	typeByteArray = 6

	// ConvertedType (the legacy logical types, written beside LogicalType
	// for old readers); convertedNone means the field is left out.
	convertedNone            = -1
	convertedUTF8            = 0
	convertedTimestampMicros = 10
	convertedInt32           = 17
	convertedInt64           = 18

	// FieldRepetitionType.
	repetitionRequired = 0
	repetitionOptional = 1

	// Encoding.
	encodingPlain         = 0
	encodingRLE           = 3
	encodingRLEDictionary = 8

	// CompressionCodec.
	codecZstd = 6

	// PageType.
	pageData       = 0
	pageDictionary = 2

	// FileMetaData.version: the format version pqarrow writes for
	// parquet.V2_LATEST.
	parquetFormatVersion = 2
)

// Field ids of parquet.thrift's structs.
const (
	// PageHeader.
	pageHeaderType                 = 1
	pageHeaderUncompressedPageSize = 2
	pageHeaderCompressedPageSize   = 3
	pageHeaderDataPageHeader       = 5
	pageHeaderDictionaryPageHeader = 7

	// DataPageHeader.
	dataPageHeaderNumValues               = 1
	dataPageHeaderEncoding                = 2
	dataPageHeaderDefinitionLevelEncoding = 3
	dataPageHeaderRepetitionLevelEncoding = 4

	// DictionaryPageHeader.
	dictionaryPageHeaderNumValues = 1
	dictionaryPageHeaderEncoding  = 2
	dictionaryPageHeaderIsSorted  = 3

	// Statistics.
	statisticsNullCount = 3
	statisticsMaxValue  = 5
	statisticsMinValue  = 6

	// ColumnMetaData.
	columnMetaDataType                  = 1
	columnMetaDataEncodings             = 2
	columnMetaDataPathInSchema          = 3
	columnMetaDataCodec                 = 4
	columnMetaDataNumValues             = 5
	columnMetaDataTotalUncompressedSize = 6
	columnMetaDataTotalCompressedSize   = 7
	columnMetaDataDataPageOffset        = 9
	columnMetaDataDictionaryPageOffset  = 11
	columnMetaDataStatistics            = 12

	// ColumnChunk.
	columnChunkFileOffset = 2
	columnChunkMetaData   = 3

	// RowGroup.
	rowGroupColumns             = 1
	rowGroupTotalByteSize       = 2
	rowGroupNumRows             = 3
	rowGroupFileOffset          = 5
	rowGroupTotalCompressedSize = 6
	rowGroupOrdinal             = 7

	// SchemaElement.
	schemaElementType           = 1
	schemaElementRepetitionType = 3
	schemaElementName           = 4
	schemaElementNumChildren    = 5
	schemaElementConvertedType  = 6
	schemaElementLogicalType    = 10

	// LogicalType (a union: the field id says which type).
	logicalTypeString    = 1
	logicalTypeTimestamp = 8
	logicalTypeInteger   = 10

	// IntType.
	intTypeBitWidth = 1
	intTypeIsSigned = 2

	// TimestampType.
	timestampTypeIsAdjustedToUTC = 1
	timestampTypeUnit            = 2

	// TimeUnit (a union).
	timeUnitMicros = 2

	// KeyValue.
	keyValueKey   = 1
	keyValueValue = 2

	// ColumnOrder (a union).
	columnOrderTypeOrder = 1

	// FileMetaData.
	fileMetaDataVersion          = 1
	fileMetaDataSchema           = 2
	fileMetaDataNumRows          = 3
	fileMetaDataRowGroups        = 4
	fileMetaDataKeyValueMetadata = 5
	fileMetaDataCreatedBy        = 6
	fileMetaDataColumnOrders     = 7
)

// Thrift compact protocol type codes (Apache Thrift, "compact protocol"
// specification), as they appear in field headers and list headers.
const (
	thriftTrue   = 1
	thriftFalse  = 2
	thriftByte   = 3
	thriftI16    = 4
	thriftI32    = 5
	thriftI64    = 6
	thriftBinary = 8
	thriftList   = 9
	thriftStruct = 12
)

// thriftWriter appends Thrift compact-protocol structs to a byte slice: the
// encoding of Parquet's page headers and file footer. Each method writes
// one field of the current struct; beginStruct and endStruct nest. A field
// header holds the id as a delta from the previous field's when it is 1 to
// 15 (fields written in increasing id order), else in full.
type thriftWriter struct {
	buf    []byte
	lastID int16
	stack  []int16 // lastID of the enclosing structs
}

func (w *thriftWriter) fieldHeader(id int16, typ byte) {
	if delta := id - w.lastID; delta > 0 && delta <= 15 {
		w.buf = append(w.buf, byte(delta)<<4|typ)
	} else {
		w.buf = append(w.buf, typ)
		w.buf = binary.AppendVarint(w.buf, int64(id))
	}
	w.lastID = id
}

func (w *thriftWriter) i32(id int16, v int32) {
	w.fieldHeader(id, thriftI32)
	w.buf = binary.AppendVarint(w.buf, int64(v))
}

func (w *thriftWriter) i64(id int16, v int64) {
	w.fieldHeader(id, thriftI64)
	w.buf = binary.AppendVarint(w.buf, v)
}

func (w *thriftWriter) i16(id int16, v int16) {
	w.fieldHeader(id, thriftI16)
	w.buf = binary.AppendVarint(w.buf, int64(v))
}

// byteField writes an i8 field: a single byte, not a varint.
func (w *thriftWriter) byteField(id int16, v int8) {
	w.fieldHeader(id, thriftByte)
	w.buf = append(w.buf, byte(v))
}

func (w *thriftWriter) boolean(id int16, v bool) {
	if v {
		w.fieldHeader(id, thriftTrue)
	} else {
		w.fieldHeader(id, thriftFalse)
	}
}

func (w *thriftWriter) binary(id int16, v []byte) {
	w.fieldHeader(id, thriftBinary)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	w.buf = append(w.buf, v...)
}

func (w *thriftWriter) string(id int16, v string) {
	w.fieldHeader(id, thriftBinary)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	w.buf = append(w.buf, v...)
}

// beginStruct starts a struct-valued field; its fields follow, then
// endStruct.
func (w *thriftWriter) beginStruct(id int16) {
	w.fieldHeader(id, thriftStruct)
	w.push()
}

// endStruct ends the current struct, nested or an element of a list.
func (w *thriftWriter) endStruct() {
	w.buf = append(w.buf, 0) // stop field
	w.lastID = w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
}

func (w *thriftWriter) push() {
	w.stack = append(w.stack, w.lastID)
	w.lastID = 0
}

// beginList starts a list-valued field of n elements of type elem. Struct
// elements are each written as beginElement, their fields, endStruct;
// binary elements with element, i32 elements with i32Element.
func (w *thriftWriter) beginList(id int16, elem byte, n int) {
	w.fieldHeader(id, thriftList)
	if n < 15 {
		w.buf = append(w.buf, byte(n)<<4|elem)
	} else {
		w.buf = append(w.buf, 0xf0|elem)
		w.buf = binary.AppendUvarint(w.buf, uint64(n))
	}
}

// beginElement starts a struct element of a list.
func (w *thriftWriter) beginElement() { w.push() }

func (w *thriftWriter) element(v string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(v)))
	w.buf = append(w.buf, v...)
}

func (w *thriftWriter) i32Element(v int32) {
	w.buf = binary.AppendVarint(w.buf, int64(v))
}

// raw appends bytes encoded elsewhere as the fields of the current struct,
// the last of which had id lastID.
func (w *thriftWriter) raw(b []byte, lastID int16) {
	w.buf = append(w.buf, b...)
	w.lastID = lastID
}

// end finishes the top-level struct and returns the bytes written.
func (w *thriftWriter) end() []byte {
	w.buf = append(w.buf, 0)
	if len(w.stack) != 0 {
		panic("parquetwriter: thrift struct left open")
	}
	return w.buf
}

// reset empties w, keeping its buffer.
func (w *thriftWriter) reset(buf []byte) {
	w.buf, w.lastID, w.stack = buf[:0], 0, w.stack[:0]
}
