package dynamics

// NumericsVersion identifies the numerical results of this package: it
// changes whenever an integrator's output for some point changes (a fixed
// bug, another scheme, another random stream). A sweep reuses only the
// points stored by the same version: a point computed by older numerics is
// computed again, never mixed in silently.
//
// Versions: 1, the first release; 2, online convergence decided on a grid
// of its own (CheckResolution) with a hold (Params.Hold), no longer at the
// recorded steps; 3, the vectorised AVX2/FMA dense kernels on amd64
// (kernels.go: from n = 8 for the symmetric products, larger n for the
// triangular kernels), which round differently; points with n < 8 keep
// their bits. With the purego build tag, or on a processor without AVX2/FMA,
// version 3 computes what version 2 did.
const NumericsVersion = 3
