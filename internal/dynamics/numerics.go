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
// version 2 was released, so they share one number.
const NumericsVersion = 2
