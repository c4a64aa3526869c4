package dynamics

// NumericsVersion identifies the numerical results of this package: it
// changes whenever an integrator's output for some point changes (a fixed
// bug, another scheme, another random stream). A sweep reuses only the
// points stored by the same version: a point computed by older numerics is
// computed again, never mixed in silently.
const NumericsVersion = 1
