package results

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
)

// EncodePoints encodes the rows of one chunk and one partition as a Parquet
// part of the points table (columns [PointsPartSchema]). All rows must share
// Params.Algorithm and Params.N (split a chunk with [SplitPoints]); the
// partition is stored under [MetaPartition].
//
// The part is written directly from the rows, without Arrow records, so
// alloc is not used: it is kept so that EncodePoints and [DecodePoints]
// take the same arguments.
//
// It returns an error, naming the row, for a row that cannot be stored
// faithfully: a Status outside [Statuses], an Error on a point that did not
// fail, a DivergeReason on a point that did not diverge, or a non-finite
// spectrum value.
func EncodePoints(rows []PointRow, alloc memory.Allocator) ([]byte, error) {
	var extra [][2]string
	var p Partition
	if len(rows) > 0 {
		p = Partition{Algorithm: rows[0].Params.Algorithm, N: rows[0].Params.N}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("results: EncodePoints: row 0 (point %q): %w", rows[0].PointID, err)
		}
		extra = append(extra, [2]string{MetaPartition, p.String()})
	}
	enc := pointsLayout().encoder()
	defer enc.release()
	cols := pointsColumnsPool.Get().(*pointsColumns)
	defer func() {
		cols.list.forget()
		pointsColumnsPool.Put(cols)
	}()

	enc.start()
	for start := 0; start < len(rows); start += RowGroupRows {
		group := rows[start:min(len(rows), start+RowGroupRows)]
		cols.list.reset(len(group))
		for i := range group {
			if err := cols.append(start+i, &group[i], p); err != nil {
				return nil, err
			}
		}
		if err := enc.writeRowGroup(cols.list, len(group)); err != nil {
			return nil, fmt.Errorf("results: EncodePoints: %w", err)
		}
	}
	return enc.finish(extra...), nil
}

// pointsDictionary are the points columns written with dictionary
// encoding: those that take few distinct values in a chunk (grid
// parameters, repeated strings). Columns with a value per point (ids,
// seeds, results, times) are written PLAIN: building a dictionary only to
// drop it costs time and saves nothing. A chunk in which a dictionary
// column has too many distinct values is written PLAIN (dictionaryLimit).
var pointsDictionary = []string{
	"sweep_id", "chunk", "mode", "k", "input_spectrum", "spectrum_min", "spectrum_max",
	"input_basis", "init_shape", "init_basis", "init_scale", "init_spread", "eta", "tol", "horizon",
	"batch", "record", "diverge_reason", "status", "error", "code_version", "worker_host", "attempt",
}

// pointsLayout is the layout of the points part files.
var pointsLayout = sync.OnceValue(func() *tableLayout {
	return newTableLayout(PointsPartSchema, pointsDictionary)
})

var pointsColumnsPool = sync.Pool{New: func() any { return newPointsColumns() }}

// pointsColumns are the columns of one row group of a points part, filled
// row by row; list holds them in PointsPartSchema order.
type pointsColumns struct {
	sweepID, pointID                              columnBuffer[string]
	pointIndex, chunk                             columnBuffer[int64]
	mode                                          columnBuffer[string]
	k                                             columnBuffer[int64]
	inputSpectrum                                 columnBuffer[string]
	spectrumMin, spectrumMax                      columnBuffer[float64]
	inputBasis, initShape, initBasis              columnBuffer[string]
	initScale, initSpread, eta, tol, horizon      columnBuffer[float64]
	batch, record, seed                           columnBuffer[int64]
	convTime                                      columnBuffer[float64]
	convStep                                      columnBuffer[int64]
	finalError, minError                          columnBuffer[float64]
	diverged                                      columnBuffer[bool]
	divergeReason                                 columnBuffer[string]
	steps, rhsEvals                               columnBuffer[int64]
	status, errorMessage, codeVersion, workerHost columnBuffer[string]
	attempt                                       columnBuffer[int32]
	wallSeconds                                   columnBuffer[float64]
	startedAt, finishedAt                         columnBuffer[int64]

	spectra spectrumCache // kept across parts: sweeps reuse a few spectra

	list tableColumns
}

func newPointsColumns() *pointsColumns {
	c := &pointsColumns{}
	c.list = checkColumns(pointsLayout(), []namedColumn{
		{"sweep_id", &c.sweepID}, {"point_id", &c.pointID}, {"point_index", &c.pointIndex}, {"chunk", &c.chunk},
		{"mode", &c.mode}, {"k", &c.k}, {"input_spectrum", &c.inputSpectrum},
		{"spectrum_min", &c.spectrumMin}, {"spectrum_max", &c.spectrumMax},
		{"input_basis", &c.inputBasis}, {"init_shape", &c.initShape}, {"init_basis", &c.initBasis},
		{"init_scale", &c.initScale}, {"init_spread", &c.initSpread}, {"eta", &c.eta}, {"tol", &c.tol}, {"horizon", &c.horizon},
		{"batch", &c.batch}, {"record", &c.record}, {"seed", &c.seed},
		{"conv_time", &c.convTime}, {"conv_step", &c.convStep}, {"final_error", &c.finalError}, {"min_error", &c.minError},
		{"diverged", &c.diverged}, {"diverge_reason", &c.divergeReason}, {"steps", &c.steps}, {"rhs_evals", &c.rhsEvals},
		{"status", &c.status}, {"error", &c.errorMessage}, {"code_version", &c.codeVersion}, {"worker_host", &c.workerHost},
		{"attempt", &c.attempt}, {"wall_seconds", &c.wallSeconds}, {"started_at", &c.startedAt}, {"finished_at", &c.finishedAt},
	})
	return c
}

// append checks row i of a part in partition p and appends it.
func (c *pointsColumns) append(i int, r *PointRow, p Partition) error {
	if err := checkPointRow(i, r, p); err != nil {
		return err
	}
	spectrum, lo, hi, err := c.spectra.json(r.Params.InputSpectrum)
	if err != nil {
		return fmt.Errorf("results: EncodePoints: row %d (point %q): %w", i, r.PointID, err)
	}

	c.sweepID.appendRequired(r.SweepID)
	c.pointID.appendRequired(r.PointID)
	c.pointIndex.appendRequired(r.PointIndex)
	c.chunk.appendRequired(r.Chunk)
	c.mode.appendRequired(string(r.Params.Mode))
	c.k.appendRequired(int64(r.Params.K))
	c.inputSpectrum.appendRequired(spectrum)
	c.spectrumMin.appendRequired(lo)
	c.spectrumMax.appendRequired(hi)
	c.inputBasis.appendRequired(r.Params.InputBasis)
	c.initShape.appendRequired(r.Params.InitShape)
	c.initBasis.appendRequired(r.Params.InitBasis)
	c.initScale.appendRequired(r.Params.InitScale)
	c.initSpread.appendRequired(r.Params.InitSpread)
	c.eta.appendRequired(r.Params.Eta)
	c.tol.appendRequired(r.Params.Tol)
	c.horizon.appendRequired(r.Params.Horizon)
	c.batch.appendRequired(int64(r.Params.Batch))
	c.record.appendRequired(int64(r.Params.Record))
	c.seed.appendRequired(r.Params.Seed)
	if r.Result.ConvTime != nil {
		c.convTime.append(*r.Result.ConvTime)
	} else {
		c.convTime.appendNull()
	}
	if r.Result.ConvStep != nil {
		c.convStep.append(*r.Result.ConvStep)
	} else {
		c.convStep.appendNull()
	}
	c.finalError.appendRequired(r.Result.FinalError)
	c.minError.appendRequired(r.Result.MinError)
	c.diverged.appendRequired(r.Result.Diverged)
	if r.Result.Diverged {
		c.divergeReason.append(r.Result.DivergeReason)
	} else {
		c.divergeReason.appendNull()
	}
	c.steps.appendRequired(r.Result.Steps)
	c.rhsEvals.appendRequired(r.Result.RHSEvals)
	c.status.appendRequired(r.Status)
	if r.Status == StatusFailed {
		c.errorMessage.append(r.Error)
	} else {
		c.errorMessage.appendNull()
	}
	c.codeVersion.appendRequired(r.CodeVersion)
	c.workerHost.appendRequired(r.WorkerHost)
	c.attempt.appendRequired(r.Attempt)
	c.wallSeconds.appendRequired(r.WallSeconds)
	appendTime(&c.startedAt, r.StartedAt)
	appendTime(&c.finishedAt, r.FinishedAt)
	return nil
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

// appendTime appends t in microseconds since the epoch, or NULL for the zero
// time.
func appendTime(c *columnBuffer[int64], t time.Time) {
	if t.IsZero() {
		c.appendNull()
		return
	}
	c.append(t.UnixMicro())
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
	part, p, err := openPartitioned(data, TablePoints, PointsPartSchema, alloc, "DecodePoints")
	if err != nil {
		return nil, err
	}
	defer part.close()
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
