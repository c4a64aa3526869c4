package report

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Laws a fit can name.
const (
	Linear      = "linear"
	Logarithmic = "logarithmic"
	Undecided   = "undecided"
)

// The rule that names a law: the law whose R² is at least MinR2 and
// exceeds the other's by at least R2Margin; otherwise Undecided.
const (
	MinR2    = 0.9
	R2Margin = 0.05
)

// Confidence is the level of the confidence interval on a slope.
const Confidence = 0.95

// What a fit's x is.
const (
	// XInitScale is init_scale μ.
	XInitScale = "init_scale"
	// XLambdaMax is λ_max(M₀), the largest eigenvalue of the initial M.
	XLambdaMax = "lambda_max"
)

// Law is a least-squares fit τ = A + B·x (or B·ln x) with its coefficient
// of determination and the half-width of the Confidence interval on B
// (Student's t with points − 2 degrees of freedom).
type Law struct {
	A, B, R2, CI float64
}

// Fit is the two laws fitted to the median times of the rows of a Table
// that share every By axis but init_scale.
type Fit struct {
	// Key holds the values of the Table's By axes but init_scale.
	Key []Value
	// X is XInitScale or XLambdaMax.
	X string
	// Points is the number of rows fitted: those with a converged median
	// and a positive x.
	Points int
	// Linear fits τ = A + B·x, Log fits τ = A + B·ln x.
	Linear, Log Law
	// Law names the law by the rule of MinR2 and R2Margin.
	Law string
}

// Fits fits both laws against x (XInitScale or XLambdaMax) to each set of
// rows of t that share every By axis but init_scale, in t's order. A fit
// needs three rows with a converged time and a finite positive x; a set
// with fewer has none. Without init_scale among the By axes there are no
// fits.
func Fits(t *Table, x string) []Fit {
	mu := t.index(AxisInitScale)
	if mu < 0 {
		return nil
	}
	var order []string
	keys := map[string][]Value{}
	xs, ys := map[string][]float64{}, map[string][]float64{}
	for _, r := range t.Rows {
		key := slices.Delete(slices.Clone(r.Key), mu, mu+1)
		k := keyString(key)
		if _, ok := keys[k]; !ok {
			order = append(order, k)
			keys[k] = key
		}
		v := r.Key[mu].Num
		if x == XLambdaMax {
			v = r.LambdaMax
		}
		if r.HasBest() && finite(r.Median) && finite(v) && v > 0 {
			xs[k] = append(xs[k], v)
			ys[k] = append(ys[k], r.Median)
		}
	}
	var out []Fit
	for _, k := range order {
		x0, y := xs[k], ys[k]
		if len(x0) < 3 {
			continue
		}
		out = append(out, fitBoth(keys[k], x, x0, y))
	}
	return out
}

// fitBoth fits both laws of y against the positive x (of kind xKind), and
// names the law.
func fitBoth(key []Value, xKind string, x, y []float64) Fit {
	lnx := make([]float64, len(x))
	for i, v := range x {
		lnx[i] = math.Log(v)
	}
	f := Fit{Key: key, X: xKind, Points: len(x), Linear: fitLaw(x, y), Log: fitLaw(lnx, y)}
	f.Law = decide(f.Linear.R2, f.Log.R2)
	return f
}

// decide names the law by the rule of MinR2 and R2Margin.
func decide(linear, log float64) string {
	switch {
	case linear >= MinR2 && linear-log >= R2Margin:
		return Linear
	case log >= MinR2 && log-linear >= R2Margin:
		return Logarithmic
	}
	return Undecided
}

// fitLaw fits y = a + b·x by least squares, for at least three points.
func fitLaw(x, y []float64) Law {
	a, b := stat.LinearRegression(x, y, nil, false)
	l := Law{A: a, B: b, R2: stat.RSquared(x, y, nil, a, b), CI: math.NaN()}
	n := float64(len(x))
	mx := stat.Mean(x, nil)
	var ssr, sxx float64
	for i := range x {
		r := y[i] - (a + b*x[i])
		ssr += r * r
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx > 0 {
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 2}.Quantile(1 - (1-Confidence)/2)
		l.CI = t * math.Sqrt(ssr/(n-2)/sxx)
	}
	return l
}
