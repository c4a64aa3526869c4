package results

import (
	"time"

	"github.com/isweep/isweep/internal/dynamics"
)

// PointRow is one row of the points table: a sweep point, its result and
// where and how it was computed.
type PointRow struct {
	// SweepID and PointID identify the sweep and the point.
	SweepID string
	PointID string
	// PointIndex is the point's position in the sweep's grid; Chunk is the
	// chunk of points it was computed in.
	PointIndex int64
	Chunk      int64
	// Params are the point's parameters.
	Params dynamics.Params
	// Result is the point's outcome. Its Trajectory is not stored in the
	// points table (see [TrajectoryRows]) and is nil after decoding.
	Result dynamics.Result
	// Status is one of [StatusConverged], [StatusNotConverged],
	// [StatusDiverged] or [StatusFailed].
	Status Status
	// Error is the message of a failed point; it must be empty unless
	// Status is [StatusFailed].
	Error string
	// CodeVersion is the version of the code that computed the point.
	CodeVersion string
	// Numerics is the dynamics.NumericsVersion of the integrators that
	// computed the point; 0 (NULL in the table) for points stored before
	// the table had the column (numerics version 1).
	Numerics int32
	// WorkerHost is the host the point ran on.
	WorkerHost string
	// Attempt is the activity attempt that produced the row (1 for the
	// first).
	Attempt int32
	// WallSeconds is the wall-clock time spent on the point.
	WallSeconds float64
	// StartedAt and FinishedAt bound the computation. They are stored with
	// microsecond precision in UTC; the zero time is stored as NULL.
	StartedAt  time.Time
	FinishedAt time.Time
}

// TrajectoryRow is one row of the trajectories table: one recorded sample of
// a point's trajectory.
type TrajectoryRow struct {
	SweepID   string
	PointID   string
	Algorithm dynamics.Algorithm
	N         int
	// Sample is the index of the sample in the point's trajectory.
	Sample int32
	// T, Step, Error, EigMin and EigMax are those of [dynamics.Sample].
	T      float64
	Step   int64
	Error  float64
	EigMin float64
	EigMax float64
}

// SummaryRow is one row of the summary table: the fastest convergence over
// the learning rates tried, for one (algorithm, mode, n, init_scale).
type SummaryRow struct {
	Algorithm dynamics.Algorithm
	Mode      dynamics.Mode
	N         int
	InitScale float64
	// BestEta is the eta of the converged point with the smallest
	// conv_time (ties go to the smaller eta); BestConvTime is that
	// conv_time. Both are nil when no point of the group converged.
	BestEta      *float64
	BestConvTime *float64
	// Points counts the group's points; Converged and Diverged count those
	// with status converged and diverged.
	Points    int64
	Converged int64
	Diverged  int64
}
