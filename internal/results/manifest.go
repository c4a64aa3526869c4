package results

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sweep statuses, the values of [Manifest.Status].
const (
	// SweepComplete: every point has a row.
	SweepComplete = "complete"
	// SweepIncomplete: some points have no row yet; the sweep can resume.
	SweepIncomplete = "incomplete"
	// SweepFailed: the sweep stopped on an error (fail-fast).
	SweepFailed = "failed"
)

// Manifest describes a finished or stopped sweep; it is stored as JSON at
// [ManifestKey].
type Manifest struct {
	// SchemaVersion is the [SchemaVersion] of the sweep's tables. Encode
	// fills it in when empty.
	SchemaVersion string `json:"schema_version"`
	// SweepID identifies the sweep; Name is its human name from the spec.
	SweepID string `json:"sweep_id"`
	Name    string `json:"name"`
	// Spec is the sweep's identity spec as JSON (without output and
	// limits: the bytes its sweep id hashes), kept verbatim (re-indented).
	Spec json.RawMessage `json:"spec"`
	// Numerics is the dynamics.NumericsVersion of the sweep's points.
	Numerics int `json:"numerics"`
	// Status is [SweepComplete], [SweepIncomplete] or [SweepFailed].
	Status string `json:"status"`
	// CreatedAt and FinishedAt bound the sweep, written in UTC: when
	// its first own chunk and its last chunk were done (a sweep that
	// reuses every point: its first reused chunk); FinishedAt is omitted
	// when zero.
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// GridPoints counts the entries of the sweep's grid; Points the
	// distinct points among them, each with one row in the points table
	// (its members, see [MembersSchema]). Chunks counts the chunks that
	// hold them: the sweep's own and those of the sweeps in ReusedFrom.
	GridPoints int64 `json:"grid_points"`
	Points     int64 `json:"points"`
	Chunks     int64 `json:"chunks"`
	// Counts counts the sweep's points by status.
	Counts StatusCounts `json:"counts"`
	// Parts lists every Parquet file that holds the sweep's rows (its own
	// parts, the parts of the reused chunks, whose other rows belong to
	// other sweeps), its summary and its members table; Encode writes them
	// in key order.
	Parts []Part `json:"parts"`
	// Reused counts the points stored by the earlier sweeps listed in
	// ReusedFrom (included in Points).
	Reused     int64    `json:"reused,omitempty"`
	ReusedFrom []string `json:"reused_from,omitempty"`
}

// StatusCounts counts points by status, a field per status of
// [Statuses], in its order, named in JSON by the status. Embedded in a
// struct, its fields are that struct's: the activities' chunk results and
// the workflow's counts carry them as they always have. A new status is a
// constant in [Statuses], a field here and a case in count
// (TestStatusCountsFollowStatuses fails until all three are there); the
// code that adds, compares and prints counts ranges over [Statuses].
type StatusCounts struct {
	Converged    int64 `json:"converged"`
	NotConverged int64 `json:"not_converged"`
	Diverged     int64 `json:"diverged"`
	Failed       int64 `json:"failed"`
}

// count returns the count of status s, nil for a status not in
// [Statuses].
func (c *StatusCounts) count(s Status) *int64 {
	switch s {
	case StatusConverged:
		return &c.Converged
	case StatusNotConverged:
		return &c.NotConverged
	case StatusDiverged:
		return &c.Diverged
	case StatusFailed:
		return &c.Failed
	}
	return nil
}

// Add counts one point of status s; a status not in [Statuses] is not
// counted.
func (c *StatusCounts) Add(s Status) {
	if n := c.count(s); n != nil {
		*n++
	}
}

// AddCounts adds the counts of o to c.
func (c *StatusCounts) AddCounts(o StatusCounts) {
	for _, s := range Statuses {
		*c.count(s) += o.Of(s)
	}
}

// Of returns the count of status s, 0 for a status not in [Statuses].
func (c StatusCounts) Of(s Status) int64 {
	if n := c.count(s); n != nil {
		return *n
	}
	return 0
}

// String lists the counts in the order of [Statuses], as in "3 converged,
// 1 not converged, 0 diverged, 0 failed".
func (c StatusCounts) String() string {
	var b strings.Builder
	for i, s := range Statuses {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %s", c.Of(s), strings.ReplaceAll(string(s), "_", " "))
	}
	return b.String()
}

// CountStatuses counts rows by Status. Rows whose Status is not one of
// [Statuses] are not counted.
func CountStatuses(rows []PointRow) StatusCounts {
	var c StatusCounts
	for i := range rows {
		c.Add(rows[i].Status)
	}
	return c
}

// Part describes one stored Parquet part.
type Part struct {
	// Key is the object key relative to the store's root.
	Key string `json:"key"`
	// Table is [TablePoints], [TableTrajectories] or [TableSummary].
	Table string `json:"table"`
	// Rows is the number of rows in the part; Bytes its size.
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	// SHA256 is the hex SHA-256 of the part's bytes.
	SHA256 string `json:"sha256"`
}

// NewPart describes the part body stored at key.
func NewPart(key, table string, rows int64, body []byte) Part {
	sum := sha256.Sum256(body)
	return Part{Key: key, Table: table, Rows: rows, Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
}

// Check reports whether body is the part p describes.
func (p Part) Check(body []byte) error {
	got := NewPart(p.Key, p.Table, p.Rows, body)
	if got.Bytes != p.Bytes || got.SHA256 != p.SHA256 {
		return fmt.Errorf("results: part %s is %d bytes with sha256 %s, the manifest says %d bytes with sha256 %s; the object was changed or truncated", p.Key, got.Bytes, got.SHA256, p.Bytes, p.SHA256)
	}
	return nil
}

func (m *Manifest) check() error {
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("results: manifest schema_version %q, this code reads %q; use the isweep version that wrote it", m.SchemaVersion, SchemaVersion)
	}
	if err := CheckSweepID(m.SweepID); err != nil {
		return fmt.Errorf("results: manifest sweep_id: %w", err)
	}
	if !slices.Contains([]string{SweepComplete, SweepIncomplete, SweepFailed}, m.Status) {
		return fmt.Errorf("results: manifest status %q is not one of %q, %q or %q", m.Status, SweepComplete, SweepIncomplete, SweepFailed)
	}
	for _, p := range m.Parts {
		if !slices.Contains(Tables, p.Table) {
			return fmt.Errorf("results: manifest part %s: table %q is not one of %q", p.Key, p.Table, Tables)
		}
	}
	return nil
}

// Encode returns the manifest as indented JSON ending in a newline. The
// bytes depend only on the manifest's content (times in UTC, parts in key
// order), so re-encoding an unchanged manifest gives the same object. It
// returns an error for an invalid status, sweep id or part table, or a Spec
// that is not valid JSON.
func (m *Manifest) Encode() ([]byte, error) {
	out := *m
	if out.SchemaVersion == "" {
		out.SchemaVersion = SchemaVersion
	}
	if err := out.check(); err != nil {
		return nil, err
	}
	out.CreatedAt = out.CreatedAt.UTC()
	out.FinishedAt = out.FinishedAt.UTC()
	out.Parts = slices.SortedFunc(slices.Values(m.Parts), func(a, b Part) int { return cmp.Compare(a.Key, b.Key) })
	if out.Parts == nil {
		out.Parts = []Part{}
	}
	b, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("results: encode manifest of sweep %s: %w", m.SweepID, err)
	}
	return append(b, '\n'), nil
}

// DecodeManifest parses a manifest written by [Manifest.Encode].
func DecodeManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("results: decode manifest: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}
