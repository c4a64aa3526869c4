package results

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// EncodeTrajectories encodes the trajectory rows of one chunk and one
// partition as a Parquet part of the trajectories table (columns
// [TrajectoriesPartSchema]). All rows must share Algorithm and N (split
// them with [SplitTrajectories]); the partition is stored under
// [MetaPartition]. A nil alloc means memory.DefaultAllocator.
func EncodeTrajectories(rows []TrajectoryRow, alloc memory.Allocator) ([]byte, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	var partition string
	if len(rows) > 0 {
		p := Partition{Algorithm: rows[0].Algorithm, N: rows[0].N}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("results: EncodeTrajectories: row 0 (point %q): %w", rows[0].PointID, err)
		}
		partition = p.String()
	}
	rec, err := trajectoriesRecord(rows, alloc)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return writeParquet(rec, partition, alloc)
}

func trajectoriesRecord(rows []TrajectoryRow, alloc memory.Allocator) (arrow.RecordBatch, error) {
	rb := array.NewRecordBuilder(alloc, TrajectoriesPartSchema)
	defer rb.Release()
	rb.Reserve(len(rows))
	var (
		sweepID = builder[*array.StringBuilder](rb, "sweep_id")
		pointID = builder[*array.StringBuilder](rb, "point_id")
		sample  = builder[*array.Int32Builder](rb, "sample")
		t       = builder[*array.Float64Builder](rb, "t")
		errs    = builder[*array.Float64Builder](rb, "error")
		eigMin  = builder[*array.Float64Builder](rb, "eig_min")
		eigMax  = builder[*array.Float64Builder](rb, "eig_max")
		step    = builder[*array.Int64Builder](rb, "step")
	)
	for i := range rows {
		r := &rows[i]
		if r.Algorithm != rows[0].Algorithm || r.N != rows[0].N {
			return nil, fmt.Errorf("results: EncodeTrajectories: row %d (point %q) is in partition %s but row 0 is in %s; a part holds one partition: split the rows with SplitTrajectories",
				i, r.PointID, Partition{Algorithm: r.Algorithm, N: r.N}, Partition{Algorithm: rows[0].Algorithm, N: rows[0].N})
		}
		sweepID.Append(r.SweepID)
		pointID.Append(r.PointID)
		sample.Append(r.Sample)
		t.Append(r.T)
		errs.Append(r.Error)
		eigMin.Append(r.EigMin)
		eigMax.Append(r.EigMax)
		step.Append(r.Step)
	}
	return rb.NewRecordBatch(), nil
}

// DecodeTrajectories decodes a Parquet part written by
// [EncodeTrajectories]. The rows' Algorithm and N come from the part's
// [MetaPartition]. A nil alloc means memory.DefaultAllocator.
func DecodeTrajectories(data []byte, alloc memory.Allocator) ([]TrajectoryRow, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	part, err := openParquet(data, TableTrajectories, TrajectoriesPartSchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	var p Partition
	if part.numRows > 0 {
		if p, err = ParsePartition(part.partition); err != nil {
			return nil, fmt.Errorf("results: DecodeTrajectories: the file's %s: %w", MetaPartition, err)
		}
	}
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
