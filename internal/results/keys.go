package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/isweep/isweep/internal/dynamics"
)

// Partition is a Hive partition of the points and trajectories tables.
type Partition struct {
	Algorithm dynamics.Algorithm
	N         int
}

// String returns the partition's path, "algorithm=<a>/n=<n>".
func (p Partition) String() string {
	return "algorithm=" + string(p.Algorithm) + "/n=" + strconv.Itoa(p.N)
}

// Check reports whether p can name a partition folder: the algorithm is
// non-empty and made of lower-case letters, digits, '_' and '-', and n ≥ 1.
func (p Partition) Check() error {
	if !isKeyWord(string(p.Algorithm), false) {
		return fmt.Errorf("results: algorithm %q cannot name a partition folder: use a non-empty name of lower-case letters, digits, '_' or '-' (such as %q)", p.Algorithm, dynamics.Direct)
	}
	if p.N < 1 {
		return fmt.Errorf("results: n = %d cannot name a partition folder: n must be ≥ 1", p.N)
	}
	return nil
}

// ParsePartition parses "algorithm=<a>/n=<n>", as returned by
// [Partition.String].
func ParsePartition(s string) (Partition, error) {
	algo, n, ok := strings.Cut(s, "/")
	if !ok || !strings.HasPrefix(algo, "algorithm=") || !strings.HasPrefix(n, "n=") {
		return Partition{}, fmt.Errorf("results: partition %q is not of the form algorithm=<a>/n=<n>", s)
	}
	nv, err := strconv.Atoi(strings.TrimPrefix(n, "n="))
	if err != nil {
		return Partition{}, fmt.Errorf("results: partition %q: n is not an integer", s)
	}
	p := Partition{Algorithm: dynamics.Algorithm(strings.TrimPrefix(algo, "algorithm=")), N: nv}
	if err := p.Check(); err != nil {
		return Partition{}, err
	}
	return p, nil
}

// CheckSweepID reports whether id can appear in object keys: non-empty,
// made of letters, digits, '_' and '-'.
func CheckSweepID(id string) error {
	if !isKeyWord(id, true) {
		return fmt.Errorf("results: sweep id %q cannot appear in an object key: use a non-empty id of letters, digits, '_' or '-'", id)
	}
	return nil
}

func isKeyWord(s string, upper bool) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		case upper && c >= 'A' && c <= 'Z':
		default:
			return false
		}
	}
	return true
}

func partKey(table, sweepID string, p Partition, chunk int64) string {
	if err := CheckSweepID(sweepID); err != nil {
		panic(err)
	}
	if err := p.Check(); err != nil {
		panic(err)
	}
	if chunk < 0 {
		panic(fmt.Sprintf("results: chunk %d is negative", chunk))
	}
	return fmt.Sprintf("%s/%s/part-%s-%06d.parquet", table, p, sweepID, chunk)
}

// PointsKey returns the key of the points part of one chunk and partition:
// points/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet. It panics
// if sweepID or p fail [CheckSweepID] or [Partition.Check], or chunk < 0.
func PointsKey(sweepID string, p Partition, chunk int64) string {
	return partKey(TablePoints, sweepID, p, chunk)
}

// TrajectoriesKey returns the key of the trajectories part of one chunk and
// partition:
// trajectories/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet. It
// panics if sweepID or p fail [CheckSweepID] or [Partition.Check], or
// chunk < 0.
func TrajectoriesKey(sweepID string, p Partition, chunk int64) string {
	return partKey(TableTrajectories, sweepID, p, chunk)
}

// The bookkeeping objects of an output, relative to its root. Every key
// isweep reads or writes is made here.
//
//	plans/<seq:08d>.json                      the output's plan log (see PlanLogKey)
//	sweeps/<sweep_id>/spec.json               the sweep's identity spec
//	sweeps/<sweep_id>/plan.json               its plan (the bytes of its log entry)
//	sweeps/<sweep_id>/chunks/chunk-NNNNNN.json a chunk's marker, written last
//	sweeps/<sweep_id>/members.parquet         the points of the sweep and where each is stored
//	sweeps/<sweep_id>/summary.parquet         best eta per group, over the members
//	sweeps/<sweep_id>/manifest.json           written last when the sweep is complete
//	points/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet
//	trajectories/algorithm=<a>/n=<n>/part-<sweep_id>-<chunk:06d>.parquet
//	quarantine/<sweep_id>/<stamp>/<key>       objects verification rejected
const (
	// PlanLogPrefix holds the plan log: one entry per sweep planned into
	// the output, numbered in the order they were planned.
	PlanLogPrefix = "plans/"
	// SweepsPrefix holds one folder per sweep.
	SweepsPrefix = "sweeps/"
	// QuarantinePrefix holds the objects verification rejected, moved
	// aside rather than deleted.
	QuarantinePrefix = "quarantine/"
)

func sweepKey(sweepID, name string) string {
	if err := CheckSweepID(sweepID); err != nil {
		panic(err)
	}
	return SweepsPrefix + sweepID + "/" + name
}

// PlanLogKey returns the key of entry seq (≥ 1) of the plan log,
// plans/<seq:08d>.json. Entries are written create-only, so two planners
// cannot take the same number: the log orders the sweeps of an output, and
// a point belongs to the first sweep in that order that planned it.
func PlanLogKey(seq int64) string {
	if seq < 1 {
		panic(fmt.Sprintf("results: plan log entry %d is not ≥ 1", seq))
	}
	return fmt.Sprintf("%s%08d.json", PlanLogPrefix, seq)
}

// ParsePlanLogKey returns the entry number of a plan log key, or false
// when key is not one.
func ParsePlanLogKey(key string) (int64, bool) {
	num, ok := strings.CutPrefix(key, PlanLogPrefix)
	if !ok {
		return 0, false
	}
	num, ok = strings.CutSuffix(num, ".json")
	if !ok || len(num) < 8 {
		return 0, false
	}
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil || seq < 1 {
		return 0, false
	}
	return seq, true
}

// SpecKey returns the key of a sweep's identity spec,
// sweeps/<sweep_id>/spec.json: the canonical spec without its output and
// limits, the bytes its sweep id hashes. It panics if sweepID fails
// [CheckSweepID].
func SpecKey(sweepID string) string { return sweepKey(sweepID, "spec.json") }

// PlanKey returns the key of a sweep's plan, sweeps/<sweep_id>/plan.json.
// It panics if sweepID fails [CheckSweepID].
func PlanKey(sweepID string) string { return sweepKey(sweepID, "plan.json") }

// ParsePlanKey returns the sweep of a plan key (as returned by [PlanKey]),
// or false when key is not one.
func ParsePlanKey(key string) (sweepID string, ok bool) {
	rest, ok := strings.CutPrefix(key, SweepsPrefix)
	if !ok {
		return "", false
	}
	sweepID, ok = strings.CutSuffix(rest, "/plan.json")
	if !ok || CheckSweepID(sweepID) != nil {
		return "", false
	}
	return sweepID, true
}

// ChunksPrefix returns the prefix of a sweep's chunk markers. It panics if
// sweepID fails [CheckSweepID].
func ChunksPrefix(sweepID string) string { return sweepKey(sweepID, "chunks/") }

// ChunkKey returns the key of the marker of one chunk of a sweep,
// sweeps/<sweep_id>/chunks/chunk-<chunk:06d>.json. It panics if sweepID
// fails [CheckSweepID] or chunk < 0.
func ChunkKey(sweepID string, chunk int64) string {
	if chunk < 0 {
		panic(fmt.Sprintf("results: chunk %d is negative", chunk))
	}
	return fmt.Sprintf("%schunk-%06d.json", ChunksPrefix(sweepID), chunk)
}

// ParseChunkKey returns the chunk of a marker key under prefix (as
// returned by [ChunksPrefix]), or false when key is not a marker's.
func ParseChunkKey(prefix, key string) (int64, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	num, ok := strings.CutPrefix(strings.TrimSuffix(name, ".json"), "chunk-")
	if !ok || !strings.HasSuffix(name, ".json") {
		return 0, false
	}
	c, err := strconv.ParseInt(num, 10, 64)
	if err != nil || c < 0 {
		return 0, false
	}
	return c, true
}

// ParseMarkerKey returns the sweep and chunk of a chunk marker's key (as
// returned by [ChunkKey]), or false when key is not one.
func ParseMarkerKey(key string) (sweepID string, chunk int64, ok bool) {
	rest, ok := strings.CutPrefix(key, SweepsPrefix)
	if !ok {
		return "", 0, false
	}
	sweepID, _, ok = strings.Cut(rest, "/")
	if !ok || CheckSweepID(sweepID) != nil {
		return "", 0, false
	}
	chunk, ok = ParseChunkKey(ChunksPrefix(sweepID), key)
	return sweepID, chunk, ok
}

// PartTables lists the tables stored as parts of chunks (see [PointsKey]
// and [TrajectoriesKey]), each under the prefix "<table>/".
var PartTables = []string{TablePoints, TableTrajectories}

// ParsePartKey returns the table, sweep and chunk of a part's key (as
// returned by [PointsKey] and [TrajectoriesKey]), or false when key is
// not one.
func ParsePartKey(key string) (table, sweepID string, chunk int64, ok bool) {
	table, rest, ok := strings.Cut(key, "/")
	if !ok || !slices.Contains(PartTables, table) {
		return "", "", 0, false
	}
	dir, file, ok := cutLast(rest, "/")
	if !ok {
		return "", "", 0, false
	}
	if _, err := ParsePartition(dir); err != nil {
		return "", "", 0, false
	}
	name, ok := strings.CutPrefix(file, "part-")
	if !ok {
		return "", "", 0, false
	}
	if name, ok = strings.CutSuffix(name, ".parquet"); !ok {
		return "", "", 0, false
	}
	sweepID, num, ok := cutLast(name, "-")
	if !ok || len(num) < 6 || CheckSweepID(sweepID) != nil || strings.ContainsAny(num, "+-") {
		return "", "", 0, false
	}
	chunk, err := strconv.ParseInt(num, 10, 64)
	if err != nil || chunk < 0 {
		return "", "", 0, false
	}
	return table, sweepID, chunk, true
}

// cutLast slices s around the last instance of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// MembersKey returns the key of a sweep's members table,
// sweeps/<sweep_id>/members.parquet. It panics if sweepID fails
// [CheckSweepID].
func MembersKey(sweepID string) string { return sweepKey(sweepID, "members.parquet") }

// ManifestKey returns the key of a sweep's manifest,
// sweeps/<sweep_id>/manifest.json. It panics if sweepID fails
// [CheckSweepID].
func ManifestKey(sweepID string) string { return sweepKey(sweepID, "manifest.json") }

// SummaryKey returns the key of a sweep's summary table,
// sweeps/<sweep_id>/summary.parquet. It panics if sweepID fails
// [CheckSweepID].
func SummaryKey(sweepID string) string { return sweepKey(sweepID, "summary.parquet") }

// QuarantineKey returns where key goes when verification of sweep
// sweepID rejects it: quarantine/<sweep_id>/<stamp>/<key>. stamp tells
// apart the objects of one verification from those of another.
func QuarantineKey(sweepID, stamp, key string) string {
	if err := CheckSweepID(sweepID); err != nil {
		panic(err)
	}
	return QuarantinePrefix + sweepID + "/" + stamp + "/" + key
}
