package results

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/isweep/isweep/internal/dynamics"
)

// sweepRows returns count deterministic point rows of one chunk of a sweep,
// spread over both algorithms, several n, both modes and every status, with
// NULLs (no conv_time, no timestamps), unicode text and ties in conv_time.
func sweepRows(rng *rand.Rand, sweepID string, chunk, firstIndex int64, count int) []PointRow {
	algorithms := []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron}
	ns := []int{2, 4, 16}
	etas := []float64{0.001, 0.01, 0.05, 0.1}
	scales := []float64{0.5, 1, 10}
	spectra := []dynamics.Spectrum{
		{},
		{Values: []float64{0.25, 1, 4}},
		{Min: 0.1, Max: 10, Spacing: dynamics.LogSpacing},
		{Min: 1, Max: 2},
	}
	hosts := []string{"worker-1", "wörker-β", "节点-7"}
	base := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

	rows := make([]PointRow, count)
	for i := range rows {
		index := firstIndex + int64(i)
		algo := algorithms[rng.IntN(len(algorithms))]
		n := ns[rng.IntN(len(ns))]
		mode := dynamics.Flow
		if rng.IntN(2) == 0 {
			mode = dynamics.Online
		}
		r := PointRow{
			SweepID:    sweepID,
			PointID:    fmt.Sprintf("%s-p%07d", sweepID, index),
			PointIndex: index,
			Chunk:      chunk,
			Params: dynamics.Params{
				Algorithm:     algo,
				Mode:          mode,
				N:             n,
				K:             n + rng.IntN(3),
				InputSpectrum: spectra[rng.IntN(len(spectra))],
				InputBasis:    []string{"identity", "random"}[rng.IntN(2)],
				InitScale:     scales[rng.IntN(len(scales))],
				InitShape:     []string{"identity", "logspread", "wishart"}[rng.IntN(3)],
				InitSpread:    10,
				InitBasis:     []string{"aligned", "random"}[rng.IntN(2)],
				Eta:           etas[rng.IntN(len(etas))],
				Batch:         1 + rng.IntN(4),
				Tol:           0.01,
				Horizon:       1e4,
				Record:        1000,
				Seed:          rng.Int64N(1 << 40),
			},
			Numerics: int32(rng.IntN(3)),
			Result: dynamics.Result{
				FinalError: rng.Float64(),
				MinError:   rng.Float64() / 10,
				Steps:      rng.Int64N(1 << 20),
				RHSEvals:   rng.Int64N(1 << 22),
			},
			CodeVersion: "v0.1.0-test",
			WorkerHost:  hosts[rng.IntN(len(hosts))],
			Attempt:     int32(1 + rng.IntN(3)),
			WallSeconds: rng.ExpFloat64(),
		}
		if rng.IntN(4) == 0 {
			r.Params.InitShape, r.Params.InitSpectrum = dynamics.ShapeSpectrum, spectra[rng.IntN(len(spectra))]
			if v := r.Params.InitSpectrum.Values; v != nil {
				r.Params.InitSpectrum.Values = append([]float64(nil), v...)
			}
		}
		if mode == dynamics.Online {
			r.Params.Hold = []float64{1, 1e-9, 5}[rng.IntN(3)]
			if rng.IntN(2) == 0 {
				floor := rng.Float64() / 100
				r.Result.FloorError = &floor
			}
		}
		if r.Params.Seed%5 == 0 {
			// Contexts, without drawing (the other rows stay as they were).
			conv, floor := 0.5, 0.01
			r.Params.Contexts = []dynamics.Context{{InputSpectrum: dynamics.Spectrum{Min: 2, Max: 8}, InputBasis: "random", Duration: 30}, {InputSpectrum: dynamics.Spectrum{Values: []float64{1, 2}}, InputBasis: "previous", Duration: 7.5}}
			r.Result.Contexts = []dynamics.ContextResult{{Index: 0, StartError: 3, ScaleRatio: 2, FinalError: 0.001, MinError: 0.001},
				{Index: 1, Start: 10, StartStep: 1000, StartError: 0.5, ScaleRatio: 0.7, ConvTime: &conv, FinalError: 0.2, MinError: 0.01, FloorError: &floor, Diverged: true}}
		}
		// Copy explicit eigenvalues so rows do not share a backing array.
		if v := r.Params.InputSpectrum.Values; v != nil {
			r.Params.InputSpectrum.Values = append([]float64(nil), v...)
		}
		switch u := rng.Float64(); {
		case u < 0.55:
			r.Status = StatusConverged
			// Quarter steps make ties in conv_time across etas likely.
			t := float64(1+rng.IntN(12)) / 4
			r.Result.ConvTime = &t
			if mode == dynamics.Online {
				step := int64(t / r.Params.Eta)
				r.Result.ConvStep = &step
			}
		case u < 0.75:
			r.Status = StatusNotConverged
		case u < 0.9:
			r.Status = StatusDiverged
			r.Result.Diverged = true
			r.Result.DivergeReason = []string{"cholesky: M not positive definite", "non-finite values", ""}[rng.IntN(3)]
			r.Result.FinalError = math.Inf(1)
		default:
			r.Status = StatusFailed
			r.Error = "integrate: λ_min(M) = −1e-3 ≤ 0 — ✗ «échec»"
		}
		if rng.IntN(5) > 0 {
			r.StartedAt = base.Add(time.Duration(rng.Int64N(int64(time.Hour)))).Truncate(time.Microsecond)
			r.FinishedAt = r.StartedAt.Add(time.Duration(r.WallSeconds * float64(time.Second))).Truncate(time.Microsecond)
		}
		rows[i] = r
	}
	return rows
}

// diffValues lists the differences between got and want, field by field,
// as "path: got: … want: …". Floats compare bit for bit and times with
// Equal.
func diffValues(path string, got, want reflect.Value) []string {
	if t, ok := got.Interface().(time.Time); ok {
		w := want.Interface().(time.Time)
		if !t.Equal(w) || t.Location().String() != w.Location().String() {
			return []string{fmt.Sprintf("%s: got: %v want: %v", path, t, w)}
		}
		return nil
	}
	switch got.Kind() {
	case reflect.Struct:
		var out []string
		for i := 0; i < got.NumField(); i++ {
			out = append(out, diffValues(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))...)
		}
		return out
	case reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return []string{fmt.Sprintf("%s: got: %s want: %s", path, show(got), show(want))}
			}
			return nil
		}
		return diffValues(path, got.Elem(), want.Elem())
	case reflect.Slice:
		if got.IsNil() != want.IsNil() || got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: got: %v want: %v", path, got.Interface(), want.Interface())}
		}
		var out []string
		for i := 0; i < got.Len(); i++ {
			out = append(out, diffValues(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))...)
		}
		return out
	case reflect.Float64:
		if math.Float64bits(got.Float()) != math.Float64bits(want.Float()) {
			return []string{fmt.Sprintf("%s: got: %v want: %v", path, got.Float(), want.Float())}
		}
		return nil
	default:
		if !got.Equal(want) {
			return []string{fmt.Sprintf("%s: got: %#v want: %#v", path, got.Interface(), want.Interface())}
		}
		return nil
	}
}

func show(v reflect.Value) string {
	if v.IsNil() {
		return "<nil>"
	}
	return fmt.Sprint(v.Elem().Interface())
}

// diffRows compares two row slices value by value and returns at most a few
// differences, joined for a test message.
func diffRows[R any](got, want []R) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got: %d rows want: %d rows", len(got), len(want))
	}
	var out []string
	for i := range got {
		out = append(out, diffValues(fmt.Sprintf("row %d", i), reflect.ValueOf(got[i]), reflect.ValueOf(want[i]))...)
		if len(out) > 10 {
			out = append(out[:10], "…")
			break
		}
	}
	return strings.Join(out, "\n")
}
