package dynamics

import (
	"fmt"
	"math"
)

// OracleTime returns the closed-form flow convergence time of one
// eigen-direction in the aligned case (docs/model.md): the time for the
// eigenvalue m of M, starting at m0, to bring the direction's error
// |s/m² − 1| down to tol, where s is the matching eigenvalue of C. It is zero
// when the direction starts within tol.
//
// Direct: dm/dt = s/m² − 1, τ = G(m_ε) − G(m₀) with
// G(m) = −m + (a/2) ln|(a + m)/(a − m)|, a = √s. Interneuron: u = m² obeys
// du/dt = 4(s − u), τ = ¼ ln(|u₀ − s|(1 ∓ ε)/(sε)). In both, m_ε = a/√(1 ∓ ε)
// from above (m₀ > a) and below.
//
// OracleTime panics on an unknown algorithm, s ≤ 0, m0 ≤ 0 or tol outside
// (0, 1): these are programming errors.
func OracleTime(alg Algorithm, s, m0, tol float64) float64 {
	if !(s > 0) || !(m0 > 0) || !(tol > 0 && tol < 1) || math.IsInf(s, 0) || math.IsInf(m0, 0) {
		panic(fmt.Sprintf("dynamics: OracleTime(%v, s=%v, m0=%v, tol=%v): need s > 0, m0 > 0 finite and 0 < tol < 1", alg, s, m0, tol))
	}
	u0 := m0 * m0
	if math.Abs(s/u0-1) <= tol {
		return 0
	}
	above := u0 > s
	switch alg {
	case Direct:
		a := math.Sqrt(s)
		var mEps float64
		if above {
			mEps = a / math.Sqrt(1-tol)
		} else {
			mEps = a / math.Sqrt(1+tol)
		}
		return directG(mEps, a) - directG(m0, a)
	case Interneuron:
		if above {
			return 0.25 * math.Log((u0-s)*(1-tol)/(s*tol))
		}
		return 0.25 * math.Log((s-u0)*(1+tol)/(s*tol))
	default:
		panic(fmt.Sprintf("dynamics: OracleTime: unknown algorithm %q", alg))
	}
}

// directG is G(m) = −m + (a/2) ln|(a + m)/(a − m)|, written with log1p so
// that it stays accurate far from and close to a.
func directG(m, a float64) float64 {
	var l float64
	if m > a {
		l = math.Log1p(2 * a / (m - a))
	} else {
		l = math.Log1p(2 * m / (a - m))
	}
	return -m + 0.5*a*l
}

// OracleTimeAligned returns the closed-form flow convergence time of the
// matrix dynamics when M₀ and C commute: the largest OracleTime over the
// eigen-directions, eigenvalue s[i] of C paired with eigenvalue m0[i] of M₀.
// The error ‖M⁻¹CM⁻¹ − I‖₂ is the largest direction error and each decreases
// monotonically, so the matrix reaches tol when its slowest direction does.
// It panics when the slices differ in length or are empty.
func OracleTimeAligned(alg Algorithm, s, m0 []float64, tol float64) float64 {
	if len(s) != len(m0) || len(s) == 0 {
		panic(fmt.Sprintf("dynamics: OracleTimeAligned: %d eigenvalues of C and %d of M₀", len(s), len(m0)))
	}
	var worst float64
	for i := range s {
		worst = math.Max(worst, OracleTime(alg, s[i], m0[i], tol))
	}
	return worst
}
