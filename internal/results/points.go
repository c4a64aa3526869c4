package results

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/parquetwriter"
)

// pointRecord is a points row as the points columns see it: the row, and
// the values derived from it that the part stores (the spectrum's
// canonical JSON and its extreme eigenvalues).
type pointRecord struct {
	*PointRow
	spectrum                 string
	spectrumMin, spectrumMax float64
	// initSpectrum is the canonical JSON of Params.InitSpectrum, "" when
	// the point has none (NULL).
	initSpectrum string
	// contexts and contextResults are the JSON of Params.Contexts and
	// Result.Contexts, "" when the point has none (NULL).
	contexts, contextResults string
}

// pointsTable is the points table, one column a line in schema order (see
// [PointsSchema]).
var pointsTable = newTable(TablePoints, []column[pointRecord]{
	required("sweep_id", dictionary, func(r *pointRecord) string { return r.SweepID }, func(r *pointRecord, v string) { r.SweepID = v }),
	required("point_id", plain, func(r *pointRecord) string { return r.PointID }, func(r *pointRecord, v string) { r.PointID = v }),
	required("point_index", plain, func(r *pointRecord) int64 { return r.PointIndex }, func(r *pointRecord, v int64) { r.PointIndex = v }),
	required("chunk", dictionary, func(r *pointRecord) int64 { return r.Chunk }, func(r *pointRecord, v int64) { r.Chunk = v }),
	partitionColumn(required("algorithm", plain, func(r *pointRecord) string { return string(r.Params.Algorithm) }, func(r *pointRecord, v string) { r.Params.Algorithm = dynamics.Algorithm(v) })),
	required("mode", dictionary, func(r *pointRecord) string { return string(r.Params.Mode) }, func(r *pointRecord, v string) { r.Params.Mode = dynamics.Mode(v) }),
	partitionColumn(required("n", plain, func(r *pointRecord) int64 { return int64(r.Params.N) }, func(r *pointRecord, v int64) { r.Params.N = int(v) })),
	required("k", dictionary, func(r *pointRecord) int64 { return int64(r.Params.K) }, func(r *pointRecord, v int64) { r.Params.K = int(v) }),
	required("input_spectrum", dictionary, func(r *pointRecord) string { return r.spectrum }, func(r *pointRecord, v string) { r.spectrum = v }),
	required("spectrum_min", dictionary, func(r *pointRecord) float64 { return r.spectrumMin }, func(r *pointRecord, v float64) { r.spectrumMin = v }),
	required("spectrum_max", dictionary, func(r *pointRecord) float64 { return r.spectrumMax }, func(r *pointRecord, v float64) { r.spectrumMax = v }),
	required("input_basis", dictionary, func(r *pointRecord) string { return r.Params.InputBasis }, func(r *pointRecord, v string) { r.Params.InputBasis = v }),
	required("init_shape", dictionary, func(r *pointRecord) string { return r.Params.InitShape }, func(r *pointRecord, v string) { r.Params.InitShape = v }),
	optional("init_spectrum", dictionary, func(r *pointRecord) (string, bool) { return r.initSpectrum, r.initSpectrum != "" }, func(r *pointRecord, v string) { r.initSpectrum = v }),
	required("init_basis", dictionary, func(r *pointRecord) string { return r.Params.InitBasis }, func(r *pointRecord, v string) { r.Params.InitBasis = v }),
	required("init_scale", dictionary, func(r *pointRecord) float64 { return r.Params.InitScale }, func(r *pointRecord, v float64) { r.Params.InitScale = v }),
	required("init_spread", dictionary, func(r *pointRecord) float64 { return r.Params.InitSpread }, func(r *pointRecord, v float64) { r.Params.InitSpread = v }),
	required("eta", dictionary, func(r *pointRecord) float64 { return r.Params.Eta }, func(r *pointRecord, v float64) { r.Params.Eta = v }),
	required("tol", dictionary, func(r *pointRecord) float64 { return r.Params.Tol }, func(r *pointRecord, v float64) { r.Params.Tol = v }),
	required("horizon", dictionary, func(r *pointRecord) float64 { return r.Params.Horizon }, func(r *pointRecord, v float64) { r.Params.Horizon = v }),
	required("batch", dictionary, func(r *pointRecord) int64 { return int64(r.Params.Batch) }, func(r *pointRecord, v int64) { r.Params.Batch = int(v) }),
	optional("hold", dictionary, func(r *pointRecord) (float64, bool) { return r.Params.Hold, r.Params.Mode == dynamics.Online }, func(r *pointRecord, v float64) { r.Params.Hold = v }),
	required("record", dictionary, func(r *pointRecord) int64 { return int64(r.Params.Record) }, func(r *pointRecord, v int64) { r.Params.Record = int(v) }),
	required("seed", plain, func(r *pointRecord) int64 { return r.Params.Seed }, func(r *pointRecord, v int64) { r.Params.Seed = v }),
	optional("noise", dictionary, func(r *pointRecord) (int64, bool) { return r.Params.Noise, true }, func(r *pointRecord, v int64) { r.Params.Noise = v }),
	optional("contexts", dictionary, func(r *pointRecord) (string, bool) { return r.contexts, r.contexts != "" }, func(r *pointRecord, v string) { r.contexts = v }),
	optional("conv_time", plain, func(r *pointRecord) (float64, bool) { return deref(r.Result.ConvTime) }, func(r *pointRecord, v float64) { r.Result.ConvTime = &v }),
	optional("conv_step", plain, func(r *pointRecord) (int64, bool) { return deref(r.Result.ConvStep) }, func(r *pointRecord, v int64) { r.Result.ConvStep = &v }),
	required("final_error", plain, func(r *pointRecord) float64 { return r.Result.FinalError }, func(r *pointRecord, v float64) { r.Result.FinalError = v }),
	required("min_error", plain, func(r *pointRecord) float64 { return r.Result.MinError }, func(r *pointRecord, v float64) { r.Result.MinError = v }),
	optional("floor_error", plain, func(r *pointRecord) (float64, bool) { return deref(r.Result.FloorError) }, func(r *pointRecord, v float64) { r.Result.FloorError = &v }),
	optional("context_results", plain, func(r *pointRecord) (string, bool) { return r.contextResults, r.contextResults != "" }, func(r *pointRecord, v string) { r.contextResults = v }),
	required("diverged", plain, func(r *pointRecord) bool { return r.Result.Diverged }, func(r *pointRecord, v bool) { r.Result.Diverged = v }),
	optional("diverge_reason", dictionary, func(r *pointRecord) (string, bool) { return r.Result.DivergeReason, r.Result.Diverged }, func(r *pointRecord, v string) { r.Result.DivergeReason = v }),
	required("steps", plain, func(r *pointRecord) int64 { return r.Result.Steps }, func(r *pointRecord, v int64) { r.Result.Steps = v }),
	required("rhs_evals", plain, func(r *pointRecord) int64 { return r.Result.RHSEvals }, func(r *pointRecord, v int64) { r.Result.RHSEvals = v }),
	required("status", dictionary, func(r *pointRecord) string { return string(r.Status) }, func(r *pointRecord, v string) { r.Status = Status(v) }),
	optional("error", dictionary, func(r *pointRecord) (string, bool) { return r.Error, r.Status == StatusFailed }, func(r *pointRecord, v string) { r.Error = v }),
	required("code_version", dictionary, func(r *pointRecord) string { return r.CodeVersion }, func(r *pointRecord, v string) { r.CodeVersion = v }),
	optional("numerics", plain, func(r *pointRecord) (int32, bool) { return r.Numerics, r.Numerics > 0 }, func(r *pointRecord, v int32) { r.Numerics = v }),
	required("worker_host", dictionary, func(r *pointRecord) string { return r.WorkerHost }, func(r *pointRecord, v string) { r.WorkerHost = v }),
	required("attempt", dictionary, func(r *pointRecord) int32 { return r.Attempt }, func(r *pointRecord, v int32) { r.Attempt = v }),
	required("wall_seconds", plain, func(r *pointRecord) float64 { return r.WallSeconds }, func(r *pointRecord, v float64) { r.WallSeconds = v }),
	timestamp("started_at", func(r *pointRecord) time.Time { return r.StartedAt }, func(r *pointRecord, v time.Time) { r.StartedAt = v }),
	timestamp("finished_at", func(r *pointRecord) time.Time { return r.FinishedAt }, func(r *pointRecord, v time.Time) { r.FinishedAt = v }),
})

// deref returns *p and true, or the zero value and false for nil.
func deref[T any](p *T) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}

// spectrumCaches keep the JSON of the spectra of the last parts encoded:
// sweeps reuse a few spectra.
var spectrumCaches = sync.Pool{New: func() any { return new(spectrumCache) }}

// EncodePoints encodes the rows of one chunk and one partition as a Parquet
// part of the points table (columns [PointsPartSchema]). All rows must share
// Params.Algorithm and Params.N; the partition is stored under
// [MetaPartition].
//
// It returns an error, naming the row, for a row that cannot be stored
// faithfully: a Status outside [Statuses], an Error on a point that did not
// fail, a DivergeReason on a point that did not diverge, or a non-finite
// spectrum value.
func EncodePoints(rows []PointRow) ([]byte, error) {
	var extra []parquetwriter.KeyValue
	var p Partition
	if len(rows) > 0 {
		p = Partition{Algorithm: rows[0].Params.Algorithm, N: rows[0].Params.N}
		if err := p.Check(); err != nil {
			return nil, fmt.Errorf("results: EncodePoints: row 0 (point %q): %w", rows[0].PointID, err)
		}
		extra = append(extra, parquetwriter.KeyValue{Key: MetaPartition, Value: p.String()})
	}
	spectra, initSpectra := spectrumCaches.Get().(*spectrumCache), spectrumCaches.Get().(*spectrumCache)
	defer spectrumCaches.Put(spectra)
	defer spectrumCaches.Put(initSpectra)
	return pointsTable.encode(len(rows), func(buffers *partBuffers[pointRecord], start, end int) error {
		for i := start; i < end; i++ {
			r := &rows[i]
			if err := checkPointRow(i, r, p); err != nil {
				return err
			}
			rec := buffers.next()
			rec.PointRow = r
			var err error
			if rec.spectrum, rec.spectrumMin, rec.spectrumMax, err = spectra.json(r.Params.InputSpectrum, r.Params.N); err != nil {
				return fmt.Errorf("results: EncodePoints: row %d (point %q): %w", i, r.PointID, err)
			}
			rec.initSpectrum = ""
			if !r.Params.InitSpectrum.IsZero() {
				if rec.initSpectrum, _, _, err = initSpectra.json(r.Params.InitSpectrum, r.Params.N); err != nil {
					return fmt.Errorf("results: EncodePoints: row %d (point %q): init_spectrum: %w", i, r.PointID, err)
				}
			}
			if rec.contexts, err = ContextsJSON(r.Params.Contexts); err != nil {
				return fmt.Errorf("results: EncodePoints: row %d (point %q): %w", i, r.PointID, err)
			}
			if rec.contextResults, err = ContextResultsJSON(r.Result.Contexts); err != nil {
				return fmt.Errorf("results: EncodePoints: row %d (point %q): %w", i, r.PointID, err)
			}
		}
		return nil
	}, extra...)
}

func checkPointRow(i int, r *PointRow, p Partition) error {
	if r.Params.Algorithm != p.Algorithm || r.Params.N != p.N {
		got := Partition{Algorithm: r.Params.Algorithm, N: r.Params.N}
		return fmt.Errorf("results: EncodePoints: row %d (point %q) is in partition %s but row 0 is in %s; a part holds one partition: write each partition's rows on their own", i, r.PointID, got, p)
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
	var spectra spectrumParseCache
	err = part.each(func(rec arrow.RecordBatch) error {
		read := readers(pointsTable.part, rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, PointRow{})
			r := pointRecord{PointRow: &rows[len(rows)-1]}
			readRow(read, i, &r)
			r.Params.Algorithm, r.Params.N = p.Algorithm, p.N
			spectrum, err := spectra.parse(r.spectrum)
			if err != nil {
				return fmt.Errorf("results: DecodePoints: row %d: %w", len(rows)-1, err)
			}
			r.Params.InputSpectrum = spectrum
			if r.initSpectrum != "" {
				if r.Params.InitSpectrum, err = spectra.parse(r.initSpectrum); err != nil {
					return fmt.Errorf("results: DecodePoints: row %d: init_spectrum: %w", len(rows)-1, err)
				}
			}
			if r.contexts != "" {
				if r.Params.Contexts, err = ParseContextsJSON(r.contexts); err != nil {
					return fmt.Errorf("results: DecodePoints: row %d: %w", len(rows)-1, err)
				}
			}
			if r.contextResults != "" {
				if r.Result.Contexts, err = ParseContextResultsJSON(r.contextResults); err != nil {
					return fmt.Errorf("results: DecodePoints: row %d: %w", len(rows)-1, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
