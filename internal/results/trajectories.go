package results

import (
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
)

// EncodeTrajectories encodes the trajectory rows of one chunk and one
// partition as a Parquet part of the trajectories table (columns
// [TrajectoriesPartSchema]). All rows must share Algorithm and N (split
// them with [SplitTrajectories]); the partition is stored under
// [MetaPartition]. Like [EncodePoints], it writes the part directly from
// the rows and does not use alloc.
func EncodeTrajectories(rows []TrajectoryRow, alloc memory.Allocator) ([]byte, error) {
	var p Partition
	if len(rows) > 0 {
		p = Partition{Algorithm: rows[0].Algorithm, N: rows[0].N}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("results: EncodeTrajectories: row 0 (point %q): %w", rows[0].PointID, err)
		}
	}
	return encodeTrajectories(p, len(rows), func(cols *trajectoriesColumns, start, end int) error {
		for i := start; i < end; i++ {
			r := &rows[i]
			if r.Algorithm != p.Algorithm || r.N != p.N {
				return fmt.Errorf("results: EncodeTrajectories: row %d (point %q) is in partition %s but row 0 is in %s; a part holds one partition: split the rows with SplitTrajectories",
					i, r.PointID, Partition{Algorithm: r.Algorithm, N: r.N}, p)
			}
			cols.sweepID.appendRequired(r.SweepID)
			cols.pointID.appendRequired(r.PointID)
			cols.sample.appendRequired(r.Sample)
			cols.t.appendRequired(r.T)
			cols.errorValue.appendRequired(r.Error)
			cols.eigMin.appendRequired(r.EigMin)
			cols.eigMax.appendRequired(r.EigMax)
			cols.step.appendRequired(r.Step)
		}
		return nil
	})
}

// PointSamples are the trajectory samples of one point.
type PointSamples struct {
	PointID string
	Samples []dynamics.Sample
}

// EncodePointSamples encodes the trajectories of the points of one chunk
// in partition p, all of sweep sweepID, as a Parquet part of the
// trajectories table. The part is the one [EncodeTrajectories] writes for
// the rows [TrajectoryRows] gives for each point in order, byte for byte,
// but the rows are never built: this is the encoder a worker uses. It
// returns the part and its number of rows, and does not use alloc.
func EncodePointSamples(sweepID string, p Partition, points []PointSamples, alloc memory.Allocator) ([]byte, int64, error) {
	total := 0
	for _, pt := range points {
		if len(pt.Samples) > math.MaxInt32 {
			return nil, 0, fmt.Errorf("results: EncodePointSamples: point %q has %d samples, more than a sample index holds", pt.PointID, len(pt.Samples))
		}
		total += len(pt.Samples)
	}
	if total > 0 {
		if err := p.Check(); err != nil {
			return nil, 0, fmt.Errorf("results: EncodePointSamples: %w", err)
		}
	}
	// The row groups are filled in order; point and sample are where the
	// next row group starts.
	point, sample := 0, 0
	body, err := encodeTrajectories(p, total, func(cols *trajectoriesColumns, start, end int) error {
		for n := end - start; n > 0; {
			pt := &points[point]
			take := min(n, len(pt.Samples)-sample)
			for i, s := range pt.Samples[sample : sample+take] {
				cols.sweepID.appendRequired(sweepID)
				cols.pointID.appendRequired(pt.PointID)
				cols.sample.appendRequired(int32(sample + i))
				cols.t.appendRequired(s.T)
				cols.errorValue.appendRequired(s.Error)
				cols.eigMin.appendRequired(s.EigMin)
				cols.eigMax.appendRequired(s.EigMax)
				cols.step.appendRequired(s.Step)
			}
			n -= take
			if sample += take; sample == len(pt.Samples) {
				point, sample = point+1, 0
			}
		}
		return nil
	})
	return body, int64(total), err
}

// encodeTrajectories writes a trajectories part of partition p with rows
// rows; fill appends rows [start, end) to the columns, one row group at a
// time, in order.
func encodeTrajectories(p Partition, rows int, fill func(cols *trajectoriesColumns, start, end int) error) ([]byte, error) {
	var extra [][2]string
	if rows > 0 {
		extra = append(extra, [2]string{MetaPartition, p.String()})
	}
	enc := trajectoriesLayout().encoder()
	defer enc.release()
	cols := trajectoriesColumnsPool.Get().(*trajectoriesColumns)
	defer func() {
		cols.list.forget()
		trajectoriesColumnsPool.Put(cols)
	}()

	enc.start()
	for start := 0; start < rows; start += RowGroupRows {
		end := min(rows, start+RowGroupRows)
		cols.list.reset(end - start)
		if err := fill(cols, start, end); err != nil {
			return nil, err
		}
		if err := enc.writeRowGroup(cols.list, end-start); err != nil {
			return nil, fmt.Errorf("results: EncodeTrajectories: %w", err)
		}
	}
	return enc.finish(extra...), nil
}

// trajectoriesDictionary are the trajectories columns written with a
// dictionary: a part holds many samples of few points.
var trajectoriesDictionary = []string{"sweep_id", "point_id"}

// trajectoriesLayout is the layout of the trajectories part files.
var trajectoriesLayout = sync.OnceValue(func() *tableLayout {
	return newTableLayout(TrajectoriesPartSchema, trajectoriesDictionary)
})

var trajectoriesColumnsPool = sync.Pool{New: func() any { return newTrajectoriesColumns() }}

// trajectoriesColumns are the columns of one row group of a trajectories
// part; list holds them in TrajectoriesPartSchema order.
type trajectoriesColumns struct {
	sweepID, pointID              columnBuffer[string]
	sample                        columnBuffer[int32]
	t, errorValue, eigMin, eigMax columnBuffer[float64]
	step                          columnBuffer[int64]

	list tableColumns
}

func newTrajectoriesColumns() *trajectoriesColumns {
	c := &trajectoriesColumns{}
	c.list = checkColumns(trajectoriesLayout(), []namedColumn{
		{"sweep_id", &c.sweepID}, {"point_id", &c.pointID}, {"sample", &c.sample}, {"t", &c.t},
		{"error", &c.errorValue}, {"eig_min", &c.eigMin}, {"eig_max", &c.eigMax}, {"step", &c.step},
	})
	return c
}

// DecodeTrajectories decodes a Parquet part written by
// [EncodeTrajectories]. The rows' Algorithm and N come from the part's
// [MetaPartition]. A nil alloc means memory.DefaultAllocator.
func DecodeTrajectories(data []byte, alloc memory.Allocator) ([]TrajectoryRow, error) {
	part, p, err := openPartitioned(data, TableTrajectories, TrajectoriesPartSchema, alloc, "DecodeTrajectories")
	if err != nil {
		return nil, err
	}
	defer part.close()
	rows := make([]TrajectoryRow, 0, part.numRows)
	var sweepIDs, pointIDs stringCache
	err = part.each(func(rec arrow.RecordBatch) error {
		var (
			sweepID = column[*array.String](rec, "sweep_id")
			pointID = column[*array.String](rec, "point_id")
			sample  = column[*array.Int32](rec, "sample")
			t       = column[*array.Float64](rec, "t")
			errs    = column[*array.Float64](rec, "error")
			eigMin  = column[*array.Float64](rec, "eig_min")
			eigMax  = column[*array.Float64](rec, "eig_max")
			step    = column[*array.Int64](rec, "step")
		)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, TrajectoryRow{
				SweepID:   sweepIDs.get(sweepID.Value(i)),
				PointID:   pointIDs.get(pointID.Value(i)),
				Algorithm: p.Algorithm,
				N:         p.N,
				Sample:    sample.Value(i),
				T:         t.Value(i),
				Step:      step.Value(i),
				Error:     errs.Value(i),
				EigMin:    eigMin.Value(i),
				EigMax:    eigMax.Value(i),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
