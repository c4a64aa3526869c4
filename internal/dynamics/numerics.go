package dynamics

// NumericsVersion identifies the numerical results of this package: it
// changes whenever an integrator's output for some point changes (a fixed
// bug, another scheme, another random stream). A sweep reuses only the
// points stored by the same version: a point computed by older numerics is
// computed again, never mixed in silently.
//
// Versions: 1, the first release; 2, online convergence decided on a grid
// of its own (CheckResolution) with a hold (Params.Hold), no longer at the
// recorded steps, and the vectorised AVX2/FMA dense kernels on amd64
// (kernels.go: from n = 8 for the symmetric products, larger n for the
// triangular kernels), which round differently from the pure-Go ones used
// with the purego build tag or on a processor without AVX2/FMA (points
// with n < 8 have the same bits either way). Both changes landed before
// version 2 was released, so they share one number. 3, faster AVX2/FMA
// kernels on amd64 (issue 17), which round differently from version 2's
// vector path: a right-looking Cholesky factorisation (choleskyRank4, from
// n = 16), L⁻ᵀ and M⁻¹ (from n = 16), the rank-two update and the norms of
// the tridiagonalisation of the eigenvalue evaluations (from n = 16), the
// matrix–vector products and the rank-one update of the online steps
// (from n = 8), and the stage combinations of the flow integrator (states
// of 64 values or more); results agree with version 2 to rounding. The
// pure-Go path (the purego build tag, or a processor without AVX2/FMA)
// computes what it did in version 2, and so do points with n < 8 whose
// flow state has fewer than 64 values. 4, three corrections: a flow with
// tol < 1e-4 tightens the integrator's tolerances with tol (they stalled
// the computed error near 1e-9, so tol = 1e-8 was timed 2.7 % late and
// tol ≤ 1e-9 never converged; tol < FlowMinTol is refused now); an online
// min_error counts the errors of the recorded samples too (it could lie
// above one of them); and an exactly white state's error is 0 (it read
// 2.2e-308 from n = 2 on). Flows with tol ≥ 1e-4 and points that are never
// exactly white compute what they did in version 3, but for online
// min_error.
const NumericsVersion = 4

// SameResults reports whether numerics version v computed for the point p
// what this version computes, to rounding: the points an older version
// stored that a sweep of this version may reuse (-reuse-numerics v).
// Versions 1 to 3 differ from 4 in every online point (min_error; version
// 1 in convergence too) and in flows with tol < 1e-4; their flows with
// tol ≥ 1e-4 agree to rounding (an exactly white state's 2.2e-308 is 0
// now). Other versions (unknown, or from before versions were recorded)
// are never the same.
func SameResults(p Params, v int) bool {
	switch {
	case v == NumericsVersion:
		return true
	case v < 1 || v > NumericsVersion:
		return false
	}
	return (p.Mode == Flow || p.Mode == "") && p.Tol > 0 && flowTolScale(p.Tol) == 1
}

// SameResultsText says in words which points of an older version
// SameResults finds the same.
const SameResultsText = "flow points with tol ≥ 1e-4"
