package activities

import "encoding/json"

// InvalidSpecErrorType is the application error type of a sweep spec that
// failed validation. Such errors are not retryable: the workflow fails at
// once and says why.
const InvalidSpecErrorType = "InvalidSpecError"

// PlanInput is the input of PlanSweep.
type PlanInput struct {
	// Spec is the sweep spec as submitted (JSON).
	Spec json.RawMessage `json:"spec"`
}

// Plan is what PlanSweep decided: the points this sweep must compute and
// how they are cut into chunks. It is small: the list of points lives in the
// store, never in Temporal.
type Plan struct {
	SweepID string `json:"sweep_id"`
	Name    string `json:"name"`
	Output  string `json:"output"`
	// Points is the number of grid points of the spec.
	Points int64 `json:"points"`
	// Reused counts the grid points already computed by earlier sweeps into
	// the same output (they are not computed again).
	Reused int64 `json:"reused"`
	// Planned is the number of points this sweep computes: Points − Reused.
	Planned int64 `json:"planned"`
	// ChunkSize is the number of points per chunk; Chunks the number of
	// chunks.
	ChunkSize int64 `json:"chunk_size"`
	Chunks    int64 `json:"chunks"`
	// Done lists the chunks already complete in the store when the sweep
	// was planned (none for a new plan), so that the workflow needs no
	// ListDoneChunks. Workers older than this field leave it nil.
	Done *DoneChunks `json:"done,omitempty"`
}

// ChunkRef names one chunk of a sweep.
type ChunkRef struct {
	Output  string `json:"output"`
	SweepID string `json:"sweep_id"`
	Chunk   int64  `json:"chunk"`
}

// ChunkResult reports a finished chunk: counts and keys, never results.
type ChunkResult struct {
	Chunk int64 `json:"chunk"`
	// Points counts the chunk's points, and the others its points by
	// status.
	Points       int64 `json:"points"`
	Converged    int64 `json:"converged"`
	NotConverged int64 `json:"not_converged"`
	Diverged     int64 `json:"diverged"`
	Failed       int64 `json:"failed"`
	// ComputeSeconds sums the wall time spent integrating the chunk's
	// points (zero for a chunk that was already complete).
	ComputeSeconds float64 `json:"compute_seconds"`
	// AlreadyDone reports a chunk found complete in the store: nothing was
	// computed.
	AlreadyDone bool `json:"already_done,omitempty"`
	// Parts are the keys of the Parquet parts written for the chunk.
	Parts []string `json:"parts,omitempty"`
}

// SweepRef names a sweep in its output.
type SweepRef struct {
	Output  string `json:"output"`
	SweepID string `json:"sweep_id"`
}

// DoneChunks is a bitmap of the chunks of a sweep that are complete in the
// store: bit c of Bits[c/8] (least significant bit first).
type DoneChunks struct {
	Chunks int64  `json:"chunks"`
	Done   int64  `json:"done"`
	Bits   []byte `json:"bits"`
}

// Has reports whether chunk c is done.
func (d DoneChunks) Has(c int64) bool {
	i := c / 8
	return i < int64(len(d.Bits)) && d.Bits[i]&(1<<(c%8)) != 0
}

// FinalizeResult reports the manifest written by FinalizeSweep.
type FinalizeResult struct {
	ManifestKey string `json:"manifest_key"`
	SummaryKey  string `json:"summary_key"`
	Status      string `json:"status"`
	Points      int64  `json:"points"`
	Parts       int    `json:"parts"`
}
