package results

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/store"
)

// This file holds the write paths of the tests: a chunk's rows split by
// partition and stored part by part, as RunChunk stores a chunk from its
// own grouping of points.

// writePoints stores the points of one chunk: it splits rows by partition
// (splitPoints), encodes each partition (EncodePoints) and puts it at
// PointsKey. Every row must carry sweepID and chunk. Writing the same rows
// again is a no-op (the encoding is deterministic and the store is
// create-only); different rows at an existing key give the store's
// *store.ConflictError. It returns the parts written, in key order; no rows
// write nothing.
func writePoints(ctx context.Context, st store.Store, sweepID string, chunk int64, rows []PointRow) ([]Part, error) {
	if err := checkChunk(sweepID, chunk); err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].SweepID != sweepID || rows[i].Chunk != chunk {
			return nil, fmt.Errorf("results: writePoints: row %d (point %q) has sweep %q chunk %d, want sweep %q chunk %d; write each chunk's rows on their own", i, rows[i].PointID, rows[i].SweepID, rows[i].Chunk, sweepID, chunk)
		}
	}
	var parts []Part
	for _, pp := range splitPoints(rows) {
		if err := pp.Partition.Check(); err != nil {
			return nil, fmt.Errorf("results: writePoints: point %q: %w", pp.Rows[0].PointID, err)
		}
		body, err := EncodePoints(pp.Rows)
		if err != nil {
			return nil, err
		}
		part, err := putPart(ctx, st, PointsKey(sweepID, pp.Partition, chunk), TablePoints, int64(len(pp.Rows)), body)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// writeTrajectories stores the trajectory rows of one chunk: it splits them
// by partition (splitTrajectories), encodes each partition
// (encodeTrajectoryRows) and puts it at TrajectoriesKey. Every row must
// carry sweepID. It returns the parts written, in key order; no rows write
// nothing.
func writeTrajectories(ctx context.Context, st store.Store, sweepID string, chunk int64, rows []TrajectoryRow) ([]Part, error) {
	if err := checkChunk(sweepID, chunk); err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].SweepID != sweepID {
			return nil, fmt.Errorf("results: writeTrajectories: row %d (point %q) has sweep %q, want %q", i, rows[i].PointID, rows[i].SweepID, sweepID)
		}
	}
	var parts []Part
	for _, pp := range splitTrajectories(rows) {
		if err := pp.Partition.Check(); err != nil {
			return nil, fmt.Errorf("results: writeTrajectories: point %q: %w", pp.Rows[0].PointID, err)
		}
		body, err := encodeTrajectoryRows(pp.Rows)
		if err != nil {
			return nil, err
		}
		part, err := putPart(ctx, st, TrajectoriesKey(sweepID, pp.Partition, chunk), TableTrajectories, int64(len(pp.Rows)), body)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// writeSummary encodes rows (EncodeSummary) and puts them at
// SummaryKey.
func writeSummary(ctx context.Context, st store.Store, sweepID string, rows []SummaryRow) (Part, error) {
	if err := CheckSweepID(sweepID); err != nil {
		return Part{}, err
	}
	body, err := EncodeSummary(rows)
	if err != nil {
		return Part{}, err
	}
	return putPart(ctx, st, SummaryKey(sweepID), TableSummary, int64(len(rows)), body)
}

func checkChunk(sweepID string, chunk int64) error {
	if err := CheckSweepID(sweepID); err != nil {
		return err
	}
	if chunk < 0 {
		return fmt.Errorf("results: chunk %d is negative; chunks are numbered from 0", chunk)
	}
	return nil
}

func putPart(ctx context.Context, st store.Store, key, table string, rows int64, body []byte) (Part, error) {
	if err := st.Put(ctx, key, body); err != nil {
		return Part{}, fmt.Errorf("results: store %s part at %s in %s: %w", table, key, st.Location(), err)
	}
	return NewPart(key, table, rows, body), nil
}

// partitioned holds the rows of one partition.
type partitioned[R any] struct {
	Partition Partition
	Rows      []R
}

// splitPoints splits a chunk's rows by partition (Params.Algorithm,
// Params.N). Partitions come in (algorithm, n) order and rows keep their
// order within a partition. When all rows share one partition, its Rows is
// rows itself; otherwise rows are copied into one new slice per partition.
func splitPoints(rows []PointRow) []partitioned[PointRow] {
	return split(rows, func(r *PointRow) Partition {
		return Partition{Algorithm: r.Params.Algorithm, N: r.Params.N}
	})
}

// splitTrajectories splits trajectory rows by partition (Algorithm, N).
// Partitions come in (algorithm, n) order and rows keep their order within a
// partition. When all rows share one partition, its Rows is rows itself;
// otherwise rows are copied into one new slice per partition.
func splitTrajectories(rows []TrajectoryRow) []partitioned[TrajectoryRow] {
	return split(rows, func(r *TrajectoryRow) Partition {
		return Partition{Algorithm: r.Algorithm, N: r.N}
	})
}

func split[R any](rows []R, partitionOf func(*R) Partition) []partitioned[R] {
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
		return []partitioned[R]{{Partition: first, Rows: rows}}
	}
	var parts []partitioned[R]
	index := map[Partition]int{}
	for i := range rows {
		p := partitionOf(&rows[i])
		j, ok := index[p]
		if !ok {
			j = len(parts)
			index[p] = j
			parts = append(parts, partitioned[R]{Partition: p})
		}
		parts[j].Rows = append(parts[j].Rows, rows[i])
	}
	slices.SortFunc(parts, func(a, b partitioned[R]) int {
		return cmp.Or(cmp.Compare(a.Partition.Algorithm, b.Partition.Algorithm), cmp.Compare(a.Partition.N, b.Partition.N))
	})
	return parts
}

// trajectoryRows returns the rows of the trajectories table for the samples
// of one point, numbered from 0 in order. It panics if there are more than
// math.MaxInt32 samples.
func trajectoryRows(sweepID, pointID string, params dynamics.Params, samples []dynamics.Sample) []TrajectoryRow {
	if len(samples) > math.MaxInt32 {
		panic("trajectoryRows: more than MaxInt32 samples")
	}
	rows := make([]TrajectoryRow, len(samples))
	for i, s := range samples {
		rows[i] = TrajectoryRow{
			SweepID:   sweepID,
			PointID:   pointID,
			Algorithm: params.Algorithm,
			N:         params.N,
			Sample:    int32(i),
			T:         s.T,
			Step:      s.Step,
			Error:     s.Error,
			EigMin:    s.EigMin,
			EigMax:    s.EigMax,
		}
	}
	return rows
}

// encodeTrajectoryRows encodes trajectory rows of one partition, numbered
// from 0 in each point as trajectoryRows numbers them, with
// EncodePointSamples.
func encodeTrajectoryRows(rows []TrajectoryRow) ([]byte, error) {
	var p Partition
	var points []PointSamples
	for i, r := range rows {
		if i == 0 {
			p = Partition{Algorithm: r.Algorithm, N: r.N}
		}
		if (Partition{Algorithm: r.Algorithm, N: r.N}) != p {
			return nil, fmt.Errorf("row %d is in partition %s, row 0 in %s", i, Partition{Algorithm: r.Algorithm, N: r.N}, p)
		}
		if r.Sample == 0 {
			points = append(points, PointSamples{PointID: r.PointID})
		}
		if len(points) == 0 || points[len(points)-1].PointID != r.PointID || int(r.Sample) != len(points[len(points)-1].Samples) {
			return nil, fmt.Errorf("row %d (point %q sample %d) does not follow the samples of its point", i, r.PointID, r.Sample)
		}
		last := &points[len(points)-1]
		last.Samples = append(last.Samples, dynamics.Sample{T: r.T, Step: r.Step, Error: r.Error, EigMin: r.EigMin, EigMax: r.EigMax})
	}
	sweepID := ""
	if len(rows) > 0 {
		sweepID = rows[0].SweepID
	}
	body, _, err := EncodePointSamples(sweepID, p, points)
	return body, err
}
