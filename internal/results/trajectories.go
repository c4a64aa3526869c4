package results

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/parquetwriter"
)

// trajectoriesTable is the trajectories table, one column a line in
// schema order (see [TrajectoriesSchema]). The ids are dictionary-encoded:
// a part holds many samples of few points.
var trajectoriesTable = newTable(TableTrajectories, []column[TrajectoryRow]{
	required("sweep_id", dictionary, func(r *TrajectoryRow) string { return r.SweepID }, func(r *TrajectoryRow, v string) { r.SweepID = v }),
	required("point_id", dictionary, func(r *TrajectoryRow) string { return r.PointID }, func(r *TrajectoryRow, v string) { r.PointID = v }),
	partitionColumn(required("algorithm", plain, func(r *TrajectoryRow) string { return string(r.Algorithm) }, func(r *TrajectoryRow, v string) { r.Algorithm = dynamics.Algorithm(v) })),
	partitionColumn(required("n", plain, func(r *TrajectoryRow) int64 { return int64(r.N) }, func(r *TrajectoryRow, v int64) { r.N = int(v) })),
	required("sample", plain, func(r *TrajectoryRow) int32 { return r.Sample }, func(r *TrajectoryRow, v int32) { r.Sample = v }),
	required("t", plain, func(r *TrajectoryRow) float64 { return r.T }, func(r *TrajectoryRow, v float64) { r.T = v }),
	required("error", plain, func(r *TrajectoryRow) float64 { return r.Error }, func(r *TrajectoryRow, v float64) { r.Error = v }),
	required("eig_min", plain, func(r *TrajectoryRow) float64 { return r.EigMin }, func(r *TrajectoryRow, v float64) { r.EigMin = v }),
	required("eig_max", plain, func(r *TrajectoryRow) float64 { return r.EigMax }, func(r *TrajectoryRow, v float64) { r.EigMax = v }),
	required("step", plain, func(r *TrajectoryRow) int64 { return r.Step }, func(r *TrajectoryRow, v int64) { r.Step = v }),
})

// PointSamples are the trajectory samples of one point.
type PointSamples struct {
	PointID string
	Samples []dynamics.Sample
}

// EncodePointSamples encodes the trajectories of the points of one chunk
// in partition p, all of sweep sweepID, as a Parquet part of the
// trajectories table (columns [TrajectoriesPartSchema]): one row per
// sample, numbered from 0 in each point, points in order; the partition
// is stored under [MetaPartition]. It returns the part and its number of
// rows.
func EncodePointSamples(sweepID string, p Partition, points []PointSamples) ([]byte, int64, error) {
	total := 0
	for _, pt := range points {
		if len(pt.Samples) > math.MaxInt32 {
			return nil, 0, fmt.Errorf("results: EncodePointSamples: point %q has %d samples, more than a sample index holds", pt.PointID, len(pt.Samples))
		}
		total += len(pt.Samples)
	}
	var extra []parquetwriter.KeyValue
	if total > 0 {
		if err := p.Check(); err != nil {
			return nil, 0, fmt.Errorf("results: EncodePointSamples: %w", err)
		}
		extra = append(extra, parquetwriter.KeyValue{Key: MetaPartition, Value: p.String()})
	}
	// The row groups are filled in order; point and sample are where the
	// next row group starts.
	point, sample := 0, 0
	body, err := trajectoriesTable.encode(total, func(buffers *partBuffers[TrajectoryRow], start, end int) error {
		for n := end - start; n > 0; {
			pt := &points[point]
			take := min(n, len(pt.Samples)-sample)
			for i, s := range pt.Samples[sample : sample+take] {
				r := buffers.next()
				r.SweepID, r.PointID, r.Algorithm, r.N, r.Sample = sweepID, pt.PointID, p.Algorithm, p.N, int32(sample+i)
				r.T, r.Step, r.Error, r.EigMin, r.EigMax = s.T, s.Step, s.Error, s.EigMin, s.EigMax
			}
			n -= take
			if sample += take; sample == len(pt.Samples) {
				point, sample = point+1, 0
			}
		}
		return nil
	}, extra...)
	return body, int64(total), err
}

// DecodeTrajectories decodes a Parquet part written by
// [EncodePointSamples]. The rows' Algorithm and N come from the part's
// [MetaPartition]. A nil alloc means memory.DefaultAllocator.
func DecodeTrajectories(data []byte, alloc memory.Allocator) ([]TrajectoryRow, error) {
	part, p, err := openPartitioned(data, TableTrajectories, TrajectoriesPartSchema, alloc, "DecodeTrajectories")
	if err != nil {
		return nil, err
	}
	defer part.close()
	return trajectoriesTable.decodeRows(part, TrajectoryRow{Algorithm: p.Algorithm, N: p.N}, nil)
}
