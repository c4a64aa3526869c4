package activities

import (
	"encoding/json"

	"github.com/isweep/isweep/internal/results"
)

// Application error types of the activities. Errors of these types are not
// retryable: retrying cannot cure them.
const (
	// InvalidSpecErrorType: the sweep spec failed validation; the
	// workflow fails at once and says why.
	InvalidSpecErrorType = "InvalidSpecError"
	// StorageErrorType: the output cannot be written or read in a way
	// that retrying cannot cure (read-only, full, a file in the way,
	// refused credentials, a conflicting object); the sweep stops and
	// says what to fix. What is stored stays: run again once it is fixed.
	StorageErrorType = "StorageError"
	// NumericsMismatchErrorType: the sweep was planned by another numerics
	// version than the worker's and has chunks to compute; a sweep's
	// points are all of its plan's version, so this isweep does not
	// compute them (see numericsMismatch).
	NumericsMismatchErrorType = "NumericsMismatchError"
)

// PlanInput is the input of PlanSweep.
type PlanInput struct {
	// Spec is the sweep spec as submitted (JSON, with its output and
	// limits).
	Spec json.RawMessage `json:"spec"`
	// Verify reads and hashes every stored part of the chunks found done
	// before trusting them; by default their markers and sizes are
	// checked.
	Verify bool `json:"verify,omitempty"`
	// ReuseNumerics lists numerics versions other than this one whose
	// stored points the sweep reuses, where no point of this version
	// exists, when it is first planned. Default none: a point computed
	// by other integrators is computed again.
	ReuseNumerics []int `json:"reuse_numerics,omitempty"`
}

// Plan is what PlanSweep decided: the points this sweep must compute and
// how they are cut into chunks. It is small: the list of points lives in the
// store, never in Temporal.
type Plan struct {
	SweepID string `json:"sweep_id"`
	Name    string `json:"name"`
	Output  string `json:"output"`
	// GridPoints counts the grid's entries; Points the distinct points
	// among them (entries that describe the same point are one point).
	GridPoints int64 `json:"grid_points"`
	Points     int64 `json:"points"`
	// Reused counts the points already owned by earlier sweeps into the
	// same output (not computed again: their chunks, ReusedFrom's, are
	// made done instead); ReusedReady those of them in chunks already
	// done when the sweep was planned. NotReused counts points earlier
	// sweeps stored with other numerics, computed again.
	Reused      int64    `json:"reused"`
	ReusedFrom  []string `json:"reused_from,omitempty"`
	ReusedReady int64    `json:"reused_ready"`
	NotReused   int64    `json:"not_reused,omitempty"`
	// OtherNumerics counts, by other numerics version, the stored points
	// reused (PlanInput.ReuseNumerics) or computed again.
	OtherNumerics []NumericsCount `json:"other_numerics,omitempty"`
	// Planned is the number of points this sweep stores: Points − Reused.
	Planned int64 `json:"planned"`
	// ChunkSize is the number of points per own chunk. Chunks counts the
	// chunks the sweep needs done: OwnChunks of its own, then the chunks
	// of earlier sweeps that hold its reused points.
	ChunkSize int64 `json:"chunk_size"`
	Chunks    int64 `json:"chunks"`
	OwnChunks int64 `json:"own_chunks"`
	// Done lists the chunks complete in the store when the sweep was
	// planned; Rejected says, a line each, what verification moved to
	// quarantine (those chunks are computed again).
	Done     *DoneChunks `json:"done,omitempty"`
	Rejected []string    `json:"rejected,omitempty"`
	// Near says, a line each, which axis values are within 4 ulp of
	// another value of the same parameter (Preview.Near), when the sweep
	// was first planned.
	Near []string `json:"near,omitempty"`
}

// ChunkRef names one chunk of a sweep: its position in the chunks the
// sweep needs done (see Plan.Chunks).
type ChunkRef struct {
	Output  string `json:"output"`
	SweepID string `json:"sweep_id"`
	Chunk   int64  `json:"chunk"`
}

// ChunkResult reports a finished chunk: counts and keys, never results.
type ChunkResult struct {
	Chunk int64 `json:"chunk"`
	// Points counts the chunk's points, and StatusCounts its points by
	// status (in JSON, a field per status beside points).
	Points int64 `json:"points"`
	results.StatusCounts
	// ComputeSeconds sums the wall time spent integrating the chunk's
	// points (zero for a chunk that was already complete).
	ComputeSeconds float64 `json:"compute_seconds"`
	// AlreadyDone reports a chunk found complete in the store: nothing was
	// computed.
	AlreadyDone bool `json:"already_done,omitempty"`
	// Foreign reports a chunk of an earlier sweep that holds Reused of
	// this sweep's points.
	Foreign bool  `json:"foreign,omitempty"`
	Reused  int64 `json:"reused,omitempty"`
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

// newDoneChunks returns the bitmap of n chunks, none done.
func newDoneChunks(n int64) DoneChunks {
	return DoneChunks{Chunks: n, Bits: make([]byte, (n+7)/8)}
}

// FinalizeResult reports the manifest written by FinalizeSweep.
type FinalizeResult struct {
	ManifestKey string `json:"manifest_key"`
	SummaryKey  string `json:"summary_key"`
	MembersKey  string `json:"members_key"`
	Status      string `json:"status"`
	// Points counts the sweep's points with a row (its members), Missing
	// those without one yet.
	Points  int64 `json:"points"`
	Missing int64 `json:"missing,omitempty"`
	Parts   int   `json:"parts"`
	// Replaced reports a manifest, summary or members table of an earlier
	// finalize that no longer matched the stored chunks: it was moved to
	// quarantine and written anew.
	Replaced []string `json:"replaced,omitempty"`
}
