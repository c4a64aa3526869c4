package results

import (
	"cmp"
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

// ManifestKey returns the key of a sweep's manifest,
// sweeps/<sweep_id>/manifest.json. It panics if sweepID fails
// [CheckSweepID].
func ManifestKey(sweepID string) string {
	if err := CheckSweepID(sweepID); err != nil {
		panic(err)
	}
	return "sweeps/" + sweepID + "/manifest.json"
}

// SummaryKey returns the key of a sweep's summary table,
// sweeps/<sweep_id>/summary.parquet. It panics if sweepID fails
// [CheckSweepID].
func SummaryKey(sweepID string) string {
	if err := CheckSweepID(sweepID); err != nil {
		panic(err)
	}
	return "sweeps/" + sweepID + "/summary.parquet"
}

// Partitioned holds the rows of one partition.
type Partitioned[R any] struct {
	Partition Partition
	Rows      []R
}

// SplitPoints splits a chunk's rows by partition (Params.Algorithm,
// Params.N). Partitions come in (algorithm, n) order and rows keep their
// order within a partition. When all rows share one partition, its Rows is
// rows itself; otherwise rows are copied into one new slice per partition.
func SplitPoints(rows []PointRow) []Partitioned[PointRow] {
	return split(rows, func(r *PointRow) Partition {
		return Partition{Algorithm: r.Params.Algorithm, N: r.Params.N}
	})
}

// SplitTrajectories splits trajectory rows by partition (Algorithm, N).
// Partitions come in (algorithm, n) order and rows keep their order within a
// partition. When all rows share one partition, its Rows is rows itself;
// otherwise rows are copied into one new slice per partition.
func SplitTrajectories(rows []TrajectoryRow) []Partitioned[TrajectoryRow] {
	return split(rows, func(r *TrajectoryRow) Partition {
		return Partition{Algorithm: r.Algorithm, N: r.N}
	})
}

func split[R any](rows []R, partitionOf func(*R) Partition) []Partitioned[R] {
	if len(rows) == 0 {
		return nil
	}
	first, same := partitionOf(&rows[0]), true
	for i := range rows {
		if partitionOf(&rows[i]) != first {
			same = false
			break
		}
	}
	if same {
		return []Partitioned[R]{{Partition: first, Rows: rows}}
	}
	var parts []Partitioned[R]
	index := map[Partition]int{}
	for i := range rows {
		p := partitionOf(&rows[i])
		j, ok := index[p]
		if !ok {
			j = len(parts)
			index[p] = j
			parts = append(parts, Partitioned[R]{Partition: p})
		}
		parts[j].Rows = append(parts[j].Rows, rows[i])
	}
	slices.SortFunc(parts, func(a, b Partitioned[R]) int {
		return cmp.Or(cmp.Compare(a.Partition.Algorithm, b.Partition.Algorithm), cmp.Compare(a.Partition.N, b.Partition.N))
	})
	return parts
}
