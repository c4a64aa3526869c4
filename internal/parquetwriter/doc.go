// Package parquetwriter writes flat Parquet files directly from column
// buffers, without building Arrow records: isweep's result parts, many
// small files per sweep, written several times faster than arrow-go's
// column writers (BenchmarkEncode in this package).
//
// A table's [Layout] is built once from its Arrow schema; a file is
// written by filling the layout's [Columns] (a value at a time with
// [ColumnBuffer.Append], or a block of values at a time with
// [ColumnBuffer.Extend]) and writing them as row groups with an [Encoder]. The files are what arrow-go's pqarrow
// writes for the same schema (same Parquet schema, logical and converted
// types, ARROW:schema and key/value metadata), so every reader sees the
// same table; TestMatchesArrowGo checks it value by value.
//
// What it writes:
//
//   - types: flat (non-nested) columns of Arrow string (BYTE_ARRAY, UTF8),
//     int64 and int32 (INTEGER), float64 (DOUBLE), bool (BOOLEAN) and
//     timestamp[µs, UTC] (INT64, TIMESTAMP(MICROS, adjusted to UTC)),
//     required or nullable (definition levels 0 and 1);
//   - encodings: PLAIN; for the columns named at [NewLayout], a PLAIN
//     dictionary page and an RLE_DICTIONARY data page, unless a row group
//     has more distinct values than half its values (or a dictionary page
//     of 1 MiB or more), when the chunk is written PLAIN; definition levels
//     with the RLE / bit-packing hybrid; data pages v1 of about 1 MiB;
//   - compression: zstd at its fastest level, every page; pages under 128
//     bytes as a raw zstd block;
//   - statistics: every column chunk has its NULL count and, when it has a
//     value, min_value and max_value (not for a double column holding a
//     NaN, nor for strings over 4 KiB), and type-defined column orders;
//   - the footer: format version 2, the schema's key/value metadata, then
//     ARROW:schema, then the caller's entries.
//
// What it does not do: nested or repeated columns, other types (decimals,
// dates, fixed-size binary, float32, other timestamp units), data page v2,
// other codecs or none, page indexes, bloom filters, page CRCs, encryption,
// sorting columns, or streaming to an io.Writer: a file is built in memory
// and returned whole. Encoding is deterministic: the same rows give the
// same bytes.
package parquetwriter
