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
// OracleTime panics on an unknown algorithm or one without a closed form
// (HasOracle), on s ≤ 0, m0 ≤ 0 or tol outside
// (0, 1): these are programming errors.
func OracleTime(alg Algorithm, s, m0, tol float64) float64 {
	if !(s > 0) || !(m0 > 0) || !(tol > 0 && tol < 1) || math.IsInf(s, 0) || math.IsInf(m0, 0) {
		panic(fmt.Sprintf("dynamics: OracleTime(%v, s=%v, m0=%v, tol=%v): need s > 0, m0 > 0 finite and 0 < tol < 1", alg, s, m0, tol))
	}
	net, ok := Lookup(alg)
	if !ok {
		panic(fmt.Sprintf("dynamics: OracleTime: unknown algorithm %q", alg))
	}
	if math.Abs(s/(m0*m0)-1) <= tol {
		return 0
	}
	t, ok := net.oracle(s, m0, tol)
	if !ok {
		panic(fmt.Sprintf("dynamics: OracleTime: no closed form is known for the %s network (see HasOracle)", alg))
	}
	return t
}

// HasOracle reports whether OracleTime knows a closed form for the network
// alg.
func HasOracle(alg Algorithm) bool {
	net, ok := Lookup(alg)
	if !ok {
		return false
	}
	_, ok = net.oracle(1, 2, 0.5)
	return ok
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
