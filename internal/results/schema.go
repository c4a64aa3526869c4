package results

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// SchemaVersion is the version of the result tables' layout, stored in every
// Parquet file under [MetaSchemaVersion] and in every manifest. It changes
// when a column is renamed, retyped or removed.
const SchemaVersion = "1"

// Key/value metadata keys stored in every Parquet file this package writes.
const (
	// MetaSchemaVersion holds [SchemaVersion].
	MetaSchemaVersion = "isweep.schema_version"
	// MetaTable holds the table's name: [TablePoints], [TableTrajectories]
	// [TableSummary] or [TableMembers].
	MetaTable = "isweep.table"
	// MetaPartition holds the Hive partition of a points or trajectories
	// part, "algorithm=<a>/n=<n>", absent when the part has no rows.
	MetaPartition = "isweep.partition"
)

// Table names, as stored under [MetaTable] and in [Part.Table].
const (
	TablePoints       = "points"
	TableTrajectories = "trajectories"
	TableSummary      = "summary"
	TableMembers      = "members"
)

// Tables lists the table names.
var Tables = []string{TablePoints, TableTrajectories, TableSummary, TableMembers}

// Status is a point's outcome: the value of the status column and of
// [PointRow.Status].
type Status string

// The point statuses.
const (
	// StatusConverged: the error reached tol within the horizon.
	StatusConverged Status = "converged"
	// StatusNotConverged: the run reached its horizon above tol.
	StatusNotConverged Status = "not_converged"
	// StatusDiverged: the run stopped early (see diverge_reason).
	StatusDiverged Status = "diverged"
	// StatusFailed: the point could not be run; error says why.
	StatusFailed Status = "failed"
)

// Statuses lists the point statuses in a fixed order.
var Statuses = []Status{StatusConverged, StatusNotConverged, StatusDiverged, StatusFailed}

// RowGroupRows is the largest number of rows in one Parquet row group.
const RowGroupRows = 64 * 1024

func tableMetadata(table string) *arrow.Metadata {
	md := arrow.NewMetadata([]string{MetaSchemaVersion, MetaTable}, []string{SchemaVersion, table})
	return &md
}

// PointsSchema is the points table as a reader of the points/ folder sees
// it, one row per sweep point. Columns (NULL only where said):
//
//	sweep_id, point_id              string
//	point_index, chunk              int64
//	algorithm, mode                 string   (algorithm: Hive partition)
//	n                               int64    (Hive partition)
//	k                               int64
//	input_spectrum                  string   canonical JSON of the spectrum as written:
//	                                         [v1,…] or {"min":…,"max":…,"spacing":…}
//	spectrum_min, spectrum_max      float64  smallest and largest eigenvalue of C
//	input_basis, init_shape,
//	init_basis                      string
//	init_scale, init_spread, eta,
//	tol, horizon                    float64
//	batch, record, seed             int64
//	contexts                        string   NULL without contexts; JSON list of the contexts after
//	                                         the point's own: [{"input_spectrum":…,"input_basis":…,
//	                                         "duration":…},…] (see ContextsJSON)
//	conv_time                       float64  NULL when not converged
//	conv_step                       int64    NULL unless online and converged
//	final_error, min_error          float64
//	context_results                 string   NULL without contexts; JSON list, one object per context
//	                                         presented (the point's own first): context, start,
//	                                         start_step, start_error, scale_ratio, conv_time (the
//	                                         re-adaptation time, from the switch), conv_step,
//	                                         final_error, min_error, floor_error, diverged
//	                                         (see ContextResultsJSON)
//	diverged                        bool
//	diverge_reason                  string   NULL when not diverged
//	steps, rhs_evals                int64
//	status                          string   converged | not_converged | diverged | failed
//	error                           string   NULL unless failed
//	code_version, worker_host       string
//	attempt                         int32
//	wall_seconds                    float64
//	started_at, finished_at         timestamp[µs, UTC]  NULL when unknown
//
// The part files hold [PointsPartSchema]: the same columns without
// algorithm and n, which come from the path.
var PointsSchema = pointsTable.schema

// PointsPartSchema is the schema of one points part file: [PointsSchema]
// without the partition columns algorithm and n.
var PointsPartSchema = pointsTable.partSchema

// TrajectoriesSchema is the trajectories table as a reader of the
// trajectories/ folder sees it, in long format: one row per recorded sample
// of a point. Columns (none NULL):
//
//	sweep_id, point_id   string
//	algorithm            string   (Hive partition)
//	n                    int64    (Hive partition)
//	sample               int32    index of the sample in the point's trajectory
//	t                    float64  time (flow time, or η·step online)
//	error                float64  whitening error ‖M⁻¹CM⁻¹ − I‖₂
//	eig_min, eig_max     float64  extreme eigenvalues of M
//	step                 int64    integrator or learning step
//
// The part files hold [TrajectoriesPartSchema]: the same columns without
// algorithm and n, which come from the path.
var TrajectoriesSchema = trajectoriesTable.schema

// TrajectoriesPartSchema is the schema of one trajectories part file:
// [TrajectoriesSchema] without the partition columns algorithm and n.
var TrajectoriesPartSchema = trajectoriesTable.partSchema

// SummarySchema is the summary table (sweeps/<sweep_id>/summary.parquet),
// one row per (algorithm, mode, n, init_scale). Columns:
//
//	algorithm, mode    string
//	n                  int64
//	init_scale         float64
//	best_eta           float64  eta of the fastest converged point; NULL if none converged
//	best_conv_time     float64  its conv_time; NULL if none converged
//	points             int64    points in the group
//	converged          int64    points with status converged
//	diverged           int64    points with status diverged
var SummarySchema = summaryTable.schema

// MembersSchema is a sweep's members table
// (sweeps/<sweep_id>/members.parquet): one row per distinct point of the
// sweep's grid, saying where its row is stored. An output stores each
// point once, in the parts of the first sweep that planned it; a sweep
// that reuses points of earlier sweeps lists them here with the sweep that
// stored them. So the points of a sweep are the rows of the points table
// whose (point_id, sweep_id) is in its members table:
//
//	SELECT p.* FROM read_parquet('out/points/**/*.parquet', hive_partitioning = true) p
//	SEMI JOIN read_parquet('out/sweeps/<sweep_id>/members.parquet') m USING (point_id, sweep_id)
//
// Columns (none NULL), sorted by point_id:
//
//	point_id    string
//	sweep_id    string  the sweep whose parts hold the point's rows
//	chunk       int64   that sweep's chunk
var MembersSchema = membersTable.schema
