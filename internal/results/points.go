package results

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
)

// EncodePoints encodes the rows of one chunk and one partition as a Parquet
// part of the points table (columns [PointsPartSchema]). All rows must share
// Params.Algorithm and Params.N (split a chunk with [SplitPoints]); the
// partition is stored under [MetaPartition]. A nil alloc means
// memory.DefaultAllocator.
//
// It returns an error, naming the row, for a row that cannot be stored
// faithfully: a Status outside [Statuses], an Error on a point that did not
// fail, a DivergeReason on a point that did not diverge, or a non-finite
// spectrum value.
func EncodePoints(rows []PointRow, alloc memory.Allocator) ([]byte, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	var partition string
	if len(rows) > 0 {
		p := Partition{Algorithm: rows[0].Params.Algorithm, N: rows[0].Params.N}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("results: EncodePoints: row 0 (point %q): %w", rows[0].PointID, err)
		}
		partition = p.String()
	}
	rec, err := pointsRecord(rows, alloc)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return writeParquet(rec, partition, alloc)
}

func checkPointRow(i int, r *PointRow, p Partition) error {
	if r.Params.Algorithm != p.Algorithm || r.Params.N != p.N {
		got := Partition{Algorithm: r.Params.Algorithm, N: r.Params.N}
		return fmt.Errorf("results: EncodePoints: row %d (point %q) is in partition %s but row 0 is in %s; a part holds one partition: split the rows with SplitPoints", i, r.PointID, got, p)
	}
	if !slices.Contains(Statuses, r.Status) {
		return fmt.Errorf("results: EncodePoints: row %d (point %q): status %q is not one of %q; set PointRow.Status to one of them", i, r.PointID, r.Status, Statuses)
	}
	if r.Error != "" && r.Status != StatusFailed {
		return fmt.Errorf("results: EncodePoints: row %d (point %q): error %q is set but status is %q; error is kept only for status %q: clear PointRow.Error or mark the point failed", i, r.PointID, r.Error, r.Status, StatusFailed)
	}
	if r.Result.DivergeReason != "" && !r.Result.Diverged {
		return fmt.Errorf("results: EncodePoints: row %d (point %q): diverge_reason %q is set but diverged is false; set Result.Diverged or clear Result.DivergeReason", i, r.PointID, r.Result.DivergeReason)
	}
	return nil
}

// pointsRecord builds the Arrow record of rows with PointsPartSchema.
func pointsRecord(rows []PointRow, alloc memory.Allocator) (arrow.RecordBatch, error) {
	rb := array.NewRecordBuilder(alloc, PointsPartSchema)
	defer rb.Release()
	rb.Reserve(len(rows))

	var (
		sweepID       = builder[*array.StringBuilder](rb, "sweep_id")
		pointID       = builder[*array.StringBuilder](rb, "point_id")
		pointIndex    = builder[*array.Int64Builder](rb, "point_index")
		chunk         = builder[*array.Int64Builder](rb, "chunk")
		mode          = builder[*array.StringBuilder](rb, "mode")
		k             = builder[*array.Int64Builder](rb, "k")
		inputSpectrum = builder[*array.StringBuilder](rb, "input_spectrum")
		spectrumMin   = builder[*array.Float64Builder](rb, "spectrum_min")
		spectrumMax   = builder[*array.Float64Builder](rb, "spectrum_max")
		inputBasis    = builder[*array.StringBuilder](rb, "input_basis")
		initShape     = builder[*array.StringBuilder](rb, "init_shape")
		initBasis     = builder[*array.StringBuilder](rb, "init_basis")
		initScale     = builder[*array.Float64Builder](rb, "init_scale")
		initSpread    = builder[*array.Float64Builder](rb, "init_spread")
		eta           = builder[*array.Float64Builder](rb, "eta")
		tol           = builder[*array.Float64Builder](rb, "tol")
		horizon       = builder[*array.Float64Builder](rb, "horizon")
		batch         = builder[*array.Int64Builder](rb, "batch")
		record        = builder[*array.Int64Builder](rb, "record")
		seed          = builder[*array.Int64Builder](rb, "seed")
		convTime      = builder[*array.Float64Builder](rb, "conv_time")
		convStep      = builder[*array.Int64Builder](rb, "conv_step")
		finalError    = builder[*array.Float64Builder](rb, "final_error")
		minError      = builder[*array.Float64Builder](rb, "min_error")
		diverged      = builder[*array.BooleanBuilder](rb, "diverged")
		divergeReason = builder[*array.StringBuilder](rb, "diverge_reason")
		steps         = builder[*array.Int64Builder](rb, "steps")
		rhsEvals      = builder[*array.Int64Builder](rb, "rhs_evals")
		status        = builder[*array.StringBuilder](rb, "status")
		errorMessage  = builder[*array.StringBuilder](rb, "error")
		codeVersion   = builder[*array.StringBuilder](rb, "code_version")
		workerHost    = builder[*array.StringBuilder](rb, "worker_host")
		attempt       = builder[*array.Int32Builder](rb, "attempt")
		wallSeconds   = builder[*array.Float64Builder](rb, "wall_seconds")
		startedAt     = builder[*array.TimestampBuilder](rb, "started_at")
		finishedAt    = builder[*array.TimestampBuilder](rb, "finished_at")
	)
	// The fixed-width builders now have room for every row, so the loop
	// below appends with UnsafeAppend. Strings of one column have similar
	// lengths: reserving from the first row saves most regrowing.
	if len(rows) > 0 {
		r := &rows[0]
		for _, c := range []struct {
			b      *array.StringBuilder
			length int
		}{
			{sweepID, len(r.SweepID)}, {pointID, len(r.PointID)}, {mode, len(r.Params.Mode)},
			{inputBasis, len(r.Params.InputBasis)}, {initShape, len(r.Params.InitShape)}, {initBasis, len(r.Params.InitBasis)},
			{status, len(r.Status)}, {codeVersion, len(r.CodeVersion)}, {workerHost, len(r.WorkerHost)},
		} {
			c.b.ReserveData(len(rows) * c.length)
		}
	}

	var spectra spectrumCache
	var p Partition
	for i := range rows {
		r := &rows[i]
		if i == 0 {
			p = Partition{Algorithm: r.Params.Algorithm, N: r.Params.N}
		}
		if err := checkPointRow(i, r, p); err != nil {
			return nil, err
		}
		spectrum, err := spectra.json(r.Params.InputSpectrum)
		if err != nil {
			return nil, fmt.Errorf("results: EncodePoints: row %d (point %q): %w", i, r.PointID, err)
		}
		lo, hi := SpectrumRange(r.Params.InputSpectrum)

		sweepID.Append(r.SweepID)
		pointID.Append(r.PointID)
		pointIndex.UnsafeAppend(r.PointIndex)
		chunk.UnsafeAppend(r.Chunk)
		mode.Append(string(r.Params.Mode))
		k.UnsafeAppend(int64(r.Params.K))
		inputSpectrum.Append(spectrum)
		spectrumMin.UnsafeAppend(lo)
		spectrumMax.UnsafeAppend(hi)
		inputBasis.Append(r.Params.InputBasis)
		initShape.Append(r.Params.InitShape)
		initBasis.Append(r.Params.InitBasis)
		initScale.UnsafeAppend(r.Params.InitScale)
		initSpread.UnsafeAppend(r.Params.InitSpread)
		eta.UnsafeAppend(r.Params.Eta)
		tol.UnsafeAppend(r.Params.Tol)
		horizon.UnsafeAppend(r.Params.Horizon)
		batch.UnsafeAppend(int64(r.Params.Batch))
		record.UnsafeAppend(int64(r.Params.Record))
		seed.UnsafeAppend(r.Params.Seed)
		if r.Result.ConvTime != nil {
			convTime.UnsafeAppend(*r.Result.ConvTime)
		} else {
			convTime.AppendNull()
		}
		if r.Result.ConvStep != nil {
			convStep.UnsafeAppend(*r.Result.ConvStep)
		} else {
			convStep.AppendNull()
		}
		finalError.UnsafeAppend(r.Result.FinalError)
		minError.UnsafeAppend(r.Result.MinError)
		diverged.UnsafeAppend(r.Result.Diverged)
		if r.Result.Diverged {
			divergeReason.Append(r.Result.DivergeReason)
		} else {
			divergeReason.AppendNull()
		}
		steps.UnsafeAppend(r.Result.Steps)
		rhsEvals.UnsafeAppend(r.Result.RHSEvals)
		status.Append(r.Status)
		if r.Status == StatusFailed {
			errorMessage.Append(r.Error)
		} else {
			errorMessage.AppendNull()
		}
		codeVersion.Append(r.CodeVersion)
		workerHost.Append(r.WorkerHost)
		attempt.UnsafeAppend(r.Attempt)
		wallSeconds.UnsafeAppend(r.WallSeconds)
		appendTime(startedAt, r.StartedAt)
		appendTime(finishedAt, r.FinishedAt)
	}
	return rb.NewRecordBatch(), nil
}

// appendTime appends t in microseconds since the epoch, or NULL for the zero
// time, to a builder with room reserved.
func appendTime(b *array.TimestampBuilder, t time.Time) {
	if t.IsZero() {
		b.AppendNull()
		return
	}
	b.UnsafeAppend(arrow.Timestamp(t.UnixMicro()))
}

// timeAt returns the time of a timestamp[µs] value, in UTC; NULL is the zero
// time.
func timeAt(a *array.Timestamp, i int) time.Time {
	if a.IsNull(i) {
		return time.Time{}
	}
	return time.UnixMicro(int64(a.Value(i))).UTC()
}

// DecodePoints decodes a Parquet part written by [EncodePoints]. The rows'
// Params.Algorithm and Params.N come from the part's [MetaPartition]. A nil
// alloc means memory.DefaultAllocator. It returns an error when data is not
// a points part of this [SchemaVersion].
func DecodePoints(data []byte, alloc memory.Allocator) ([]PointRow, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	part, err := openParquet(data, TablePoints, PointsPartSchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	var p Partition
	if part.numRows > 0 {
		if p, err = ParsePartition(part.partition); err != nil {
			return nil, fmt.Errorf("results: DecodePoints: the file's %s: %w", MetaPartition, err)
		}
	}
	rows := make([]PointRow, 0, part.numRows)
	var (
		sweepIDs, modes, bases, shapes, initBases, reasons,
		statuses, codeVersions, hosts stringCache
		spectra spectrumParseCache
	)
	err = part.each(func(rec arrow.RecordBatch) error {
		var (
			sweepID       = column[*array.String](rec, "sweep_id")
			pointID       = column[*array.String](rec, "point_id")
			pointIndex    = column[*array.Int64](rec, "point_index")
			chunk         = column[*array.Int64](rec, "chunk")
			mode          = column[*array.String](rec, "mode")
			k             = column[*array.Int64](rec, "k")
			inputSpectrum = column[*array.String](rec, "input_spectrum")
			inputBasis    = column[*array.String](rec, "input_basis")
			initShape     = column[*array.String](rec, "init_shape")
			initBasis     = column[*array.String](rec, "init_basis")
			initScale     = column[*array.Float64](rec, "init_scale")
			initSpread    = column[*array.Float64](rec, "init_spread")
			eta           = column[*array.Float64](rec, "eta")
			tol           = column[*array.Float64](rec, "tol")
			horizon       = column[*array.Float64](rec, "horizon")
			batch         = column[*array.Int64](rec, "batch")
			record        = column[*array.Int64](rec, "record")
			seed          = column[*array.Int64](rec, "seed")
			convTime      = column[*array.Float64](rec, "conv_time")
			convStep      = column[*array.Int64](rec, "conv_step")
			finalError    = column[*array.Float64](rec, "final_error")
			minError      = column[*array.Float64](rec, "min_error")
			diverged      = column[*array.Boolean](rec, "diverged")
			divergeReason = column[*array.String](rec, "diverge_reason")
			steps         = column[*array.Int64](rec, "steps")
			rhsEvals      = column[*array.Int64](rec, "rhs_evals")
			status        = column[*array.String](rec, "status")
			errorMessage  = column[*array.String](rec, "error")
			codeVersion   = column[*array.String](rec, "code_version")
			workerHost    = column[*array.String](rec, "worker_host")
			attempt       = column[*array.Int32](rec, "attempt")
			wallSeconds   = column[*array.Float64](rec, "wall_seconds")
			startedAt     = column[*array.Timestamp](rec, "started_at")
			finishedAt    = column[*array.Timestamp](rec, "finished_at")
		)
		for i := 0; i < int(rec.NumRows()); i++ {
			spectrum, err := spectra.parse(inputSpectrum.Value(i))
			if err != nil {
				return fmt.Errorf("results: DecodePoints: row %d: %w", len(rows), err)
			}
			r := PointRow{
				SweepID:    sweepIDs.get(sweepID.Value(i)),
				PointID:    strings.Clone(pointID.Value(i)),
				PointIndex: pointIndex.Value(i),
				Chunk:      chunk.Value(i),
				Params: dynamics.Params{
					Algorithm:     p.Algorithm,
					Mode:          dynamics.Mode(modes.get(mode.Value(i))),
					N:             p.N,
					K:             int(k.Value(i)),
					InputSpectrum: spectrum,
					InputBasis:    bases.get(inputBasis.Value(i)),
					InitScale:     initScale.Value(i),
					InitShape:     shapes.get(initShape.Value(i)),
					InitSpread:    initSpread.Value(i),
					InitBasis:     initBases.get(initBasis.Value(i)),
					Eta:           eta.Value(i),
					Batch:         int(batch.Value(i)),
					Tol:           tol.Value(i),
					Horizon:       horizon.Value(i),
					Record:        int(record.Value(i)),
					Seed:          seed.Value(i),
				},
				Result: dynamics.Result{
					FinalError: finalError.Value(i),
					MinError:   minError.Value(i),
					Diverged:   diverged.Value(i),
					Steps:      steps.Value(i),
					RHSEvals:   rhsEvals.Value(i),
				},
				Status:      statuses.get(status.Value(i)),
				CodeVersion: codeVersions.get(codeVersion.Value(i)),
				WorkerHost:  hosts.get(workerHost.Value(i)),
				Attempt:     attempt.Value(i),
				WallSeconds: wallSeconds.Value(i),
				StartedAt:   timeAt(startedAt, i),
				FinishedAt:  timeAt(finishedAt, i),
			}
			if convTime.IsValid(i) {
				v := convTime.Value(i)
				r.Result.ConvTime = &v
			}
			if convStep.IsValid(i) {
				v := convStep.Value(i)
				r.Result.ConvStep = &v
			}
			if divergeReason.IsValid(i) {
				r.Result.DivergeReason = reasons.get(divergeReason.Value(i))
			}
			if errorMessage.IsValid(i) {
				r.Error = strings.Clone(errorMessage.Value(i))
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
