// Package results holds isweep's result tables: their Arrow schemas, their
// Parquet encoding, where each part lives in object storage, the sweep
// manifest, and the per-group summary.
//
// # Tables
//
// A sweep writes three tables (schemas in [PointsSchema],
// [TrajectoriesSchema] and [SummarySchema]):
//
//   - points: one row per sweep point ([PointRow]): its parameters, its
//     result and its provenance;
//   - trajectories: one row per recorded sample of a point's trajectory
//     ([TrajectoryRow]), in long format;
//   - summary: one row per (algorithm, mode, n, init_scale) with the learning
//     rate that converged fastest ([SummaryRow], built by [Summarize]).
//
// Every file is Parquet with zstd pages, row groups of at most
// [RowGroupRows] rows, the Arrow schema stored in the file (ARROW:schema) and
// the key/value metadata [MetaSchemaVersion] = [SchemaVersion] and
// [MetaTable] = "points" | "trajectories" | "summary". Missing values are
// NULL, never a sentinel: conv_time is NULL when a point did not converge,
// error is NULL unless the point failed. Encoding is deterministic: the same
// rows give the same bytes, so a retried write of an unchanged part is a
// no-op for the create-only [store.Store].
//
// # Encoding
//
// Every table (the points and trajectories parts, one per chunk and
// partition, a sweep's members and summary) is written directly from its
// rows by isweep's own Parquet writer (package parquetwriter), without
// building Arrow records; each table's columns are one list (pointsTable,
// trajectoriesTable, membersTable, summaryTable) from which its schemas,
// its writer's layout, its encoder and its decoder derive. It writes what
// pqarrow writes for the same Arrow schema (Parquet schema and logical
// types, ARROW:schema, data page v1), about 4 times faster for large
// parts and 17 times for parts of a hundred rows, whose cost with pqarrow
// was mostly per file (BenchmarkEncodePoints). Grid parameters and
// repeated strings are dictionary-encoded (PLAIN when a chunk has too many
// distinct values), other columns PLAIN; pages are compressed with zstd's
// fastest level. Every column chunk has statistics (NULL count, min, max),
// so that DuckDB and pyarrow skip parts and row groups when filtering (a
// double column holding a NaN gets no min and max: see columnStats). Every
// file is read with arrow-go's pqarrow.
//
// # Object keys
//
// Keys are relative to the root of a [store.Store]:
//
//	points/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet        PointsKey
//	trajectories/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet  TrajectoriesKey
//	sweeps/<sweep_id>/manifest.json                                       ManifestKey
//	sweeps/<sweep_id>/summary.parquet                                     SummaryKey
//
// The points and trajectories folders are Hive-partitioned by algorithm and
// n, with one part per chunk and partition; the keys depend only on the sweep, the chunk and the
// partition, never on the attempt, so retries land on the same key. Several
// sweeps may share one root: their parts sit side by side in the same
// partition folders and are told apart by the sweep id in the file name (and
// the sweep_id column).
//
// # Partition columns live in the path only
//
// The part files do not contain the partition columns algorithm and n: they
// are recovered from the path. This was decided by running the readers on
// both layouts (TestPartitionColumnsStayInPath, testdata/partition_layout.py,
// with pyarrow 26, pandas 3.1 and DuckDB 2.0):
//
//   - pyarrow.dataset with partitioning="hive" infers n as int32, and a file
//     column n of type int64 then fails with "Unable to merge: Field n has
//     incompatible types: int64 vs int32";
//   - pandas.read_parquet and pyarrow.parquet.read_table on the folder infer
//     partition columns as dictionaries, and a file column algorithm of type
//     string then fails with "Field algorithm has incompatible types: string
//     vs dictionary<…>", whatever type the file gives n;
//   - DuckDB read_parquet(…, hive_partitioning = true) accepts either layout.
//
// With the columns in the path only, all three read a folder and give the
// right algorithm and n (pyarrow.dataset: string and int32; pandas:
// categoricals; DuckDB: VARCHAR and BIGINT, INTEGER when DuckDB scans a
// pyarrow dataset), checked value by value by TestInteropFolder and
// TestInteropS3 (testdata/read_points.py). A single file stays
// self-describing: its footer key/value metadata [MetaPartition] holds
// "algorithm=<a>/n=<n>" (pyarrow.parquet.read_metadata(path).metadata),
// DuckDB read_parquet('<file>', hive_partitioning = true) restores both
// columns from the path, and [DecodePoints] and [DecodeTrajectories]
// restore them from the metadata. The Arrow schemas of the files themselves
// are [PointsPartSchema] and [TrajectoriesPartSchema]; [PointsSchema] and
// [TrajectoriesSchema] are the tables a reader of the folder sees.
//
// # Manifest
//
// sweeps/<sweep_id>/manifest.json ([Manifest]) records the sweep's spec,
// status, counts by point status, and every part written with its key, row
// count, size and SHA-256, so that a reader can check it has the whole sweep.
package results
