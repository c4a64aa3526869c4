package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// axisRange is the scale and the bounds of one axis of a figure, chosen
// from the values the figure shows (see chooseAxis). gonum/plot left to
// itself pads an axis whose values are all equal by ±1, which puts 0 or
// less on a log axis for any value ≤ 1, and its log scale then panics; a
// figure sets every axis through an axisRange instead.
type axisRange struct {
	log      bool
	min, max float64
}

// maxLogLabels is the most decades a log axis labels; beyond it every
// k-th decade is labelled.
const maxLogLabels = 10

// chooseAxis picks the scale and the bounds of an axis that shows vals.
// An axis that prefers a log scale (wantLog) gets one when some value is
// finite and positive; it then spans the whole decades around its positive
// values, at least one decade, so that its ends carry labels, and the
// values it cannot show (≤ 0) are for the caller to leave out (see shows).
// Otherwise the axis is linear over the finite values, padded by half the
// magnitude (or ±1 around 0) when they are all equal, and [0, 1] when no
// value is finite. The bounds are always finite with min < max.
func chooseAxis(vals []float64, wantLog bool) axisRange {
	if wantLog {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			if finite(v) && v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if lo <= hi {
			if r, ok := decades(lo, hi); ok {
				return r
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return axisRange{min: 0, max: 1}
	}
	if hi-lo <= 1e-9*math.Max(math.Abs(lo), math.Abs(hi)) {
		pad := math.Abs(lo) / 2
		if pad == 0 {
			pad = 1
		}
		lo, hi = lo-pad, hi+pad
	}
	if math.IsInf(hi-lo, 0) {
		// Values of both signs near the largest float64: the span
		// overflows, and the ticks need a finite one.
		lo, hi = -math.MaxFloat64/2, math.MaxFloat64/2
	}
	return axisRange{min: lo, max: hi}
}

// chooseAxes picks the axes of a figure of the points xy, with the extra
// values extraY (a reference line) on the y axis: the scale of the y axis
// from the points' y values, the x axis from the points that y axis can
// place, and the bounds of the y axis from the points the x axis can place
// and the extra values. So a point left out for one coordinate (a
// non-finite time, say) does not stretch the other axis, and a reference
// line does not decide the scale.
func chooseAxes(xy plotter.XYs, logX, logY bool, extraY ...float64) (xr, yr axisRange) {
	vals := make([]float64, 0, len(xy)+len(extraY))
	for _, v := range xy {
		vals = append(vals, v.Y)
	}
	scale := chooseAxis(vals, logY)
	vals = vals[:0]
	for _, v := range xy {
		if scale.shows(v.Y) {
			vals = append(vals, v.X)
		}
	}
	xr = chooseAxis(vals, logX)
	vals = vals[:0]
	for _, v := range xy {
		if xr.shows(v.X) && scale.shows(v.Y) {
			vals = append(vals, v.Y)
		}
	}
	for _, v := range extraY {
		if scale.shows(v) {
			vals = append(vals, v)
		}
	}
	return xr, chooseAxis(vals, scale.log)
}

// decades returns the log axis over the whole decades around the positive
// finite lo ≤ hi: [10^k₀, 10^k₁] with 10^k₀ ≤ lo and hi ≤ 10^k₁, one decade
// more either side when that is a single power of ten. Beyond the range of
// float64 an end stays at the data; ok is false when no log axis fits.
func decades(lo, hi float64) (r axisRange, ok bool) {
	k0, k1 := decadeBelow(lo), decadeAbove(hi)
	if k0 == k1 {
		k0, k1 = k0-1, k1+1
	}
	a, b := math.Pow10(k0), math.Pow10(k1)
	if !(a > 0) {
		a = lo
	}
	if math.IsInf(b, 1) {
		b = hi
	}
	return axisRange{log: true, min: a, max: b}, a > 0 && a < b && !math.IsInf(b, 0)
}

// decadeBelow returns the largest k with 10^k ≤ v, for a positive finite
// v: ⌊log₁₀ v⌋, corrected for the rounding of Log10 (which puts
// log₁₀ 0.1 a hair above −1).
func decadeBelow(v float64) int {
	k := int(math.Floor(math.Log10(v)))
	for k > -400 && math.Pow10(k) > v {
		k--
	}
	for k < 400 && math.Pow10(k+1) <= v {
		k++
	}
	return k
}

// decadeAbove returns the smallest k with 10^k ≥ v, for a positive finite
// v.
func decadeAbove(v float64) int {
	k := decadeBelow(v)
	if math.Pow10(k) < v {
		k++
	}
	return k
}

// shows reports whether the axis can place v: v is finite, and positive
// on a log axis.
func (r axisRange) shows(v float64) bool {
	return finite(v) && (!r.log || v > 0)
}

// apply sets the scale, the tick marks and the bounds of a. Call it after
// the last Plot.Add, which widens the bounds to the data it adds.
func (r axisRange) apply(a *plot.Axis) {
	a.Min, a.Max = r.min, r.max
	if r.log {
		a.Scale = plot.LogScale{}
		a.Tick.Marker = logTicks{}
		return
	}
	a.Scale = plot.LinearScale{}
	a.Tick.Marker = plot.DefaultTicks{}
}

// logTicks mark the powers of ten of a log axis, labelling at most
// maxLogLabels of them (every k-th decade over a long range), with minor
// marks at 2…9 times each power when the axis spans at most
// maxMinorDecades decades. Unlike gonum/plot's LogTicks, they compute the
// decades exactly (LogTicks misses the label of 0.1) and do not accumulate
// rounding into their labels over many decades.
type logTicks struct{}

// maxMinorDecades is the longest log axis with minor tick marks.
const maxMinorDecades = 20

// Ticks returns the tick marks of [min, max], 0 < min < max.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) || math.IsInf(max, 0) {
		return nil
	}
	k0, k1 := decadeBelow(min), decadeAbove(max)
	every := (k1 - k0 + maxLogLabels) / maxLogLabels
	var ticks []plot.Tick
	for k := k0; k <= k1; k++ {
		v := math.Pow10(k)
		if v == 0 || math.IsInf(v, 0) {
			continue
		}
		t := plot.Tick{Value: v}
		if ((k%every)+every)%every == 0 {
			t.Label = strconv.FormatFloat(v, 'g', 6, 64)
		}
		ticks = append(ticks, t)
		if k < k1 && k1-k0 <= maxMinorDecades {
			for i := 2; i <= 9; i++ {
				ticks = append(ticks, plot.Tick{Value: float64(i) * v})
			}
		}
	}
	return ticks
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
