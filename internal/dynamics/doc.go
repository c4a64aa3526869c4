// Package dynamics is isweep's numerical core: it integrates the learning
// dynamics of the whitening networks of docs/model.md for one sweep point.
//
// Each network is a Network, defined in a file of its own (direct.go,
// interneuron.go, gain.go) and registered by name: its parameter rules, its
// initial state from the shared M₀, the right-hand side of its flow, its
// online rule, its cost estimate and, when one is known, its closed-form
// convergence time. Run looks the network up once, where a point is set
// up; nothing else branches on Params.Algorithm, and an unknown name is
// refused by Validate before any numeric code runs. Networks lists them;
// the JSON Schema and the README derive their lists from it (a test fails
// when they drift).
//
// A point is described by Params (the public parameter names of the product)
// and produces a Result. Run defaults and validates the parameters, builds
// the input covariance C and the initial synaptic state from the point's
// seed, and then either
//
//   - integrates the mean (η → 0) matrix ODE with an adaptive
//     Dormand–Prince 5(4) scheme (mode "flow"), stopping at the first time the
//     whitening error e(t) = ‖M⁻¹CM⁻¹ − I‖₂ reaches Tol (located on the dense
//     output, between accepted steps) or at the horizon, or
//   - runs the stochastic online rule on samples x ~ N(0, C) for up to
//     Horizon steps (mode "online"), evaluating the error at Record evenly
//     spaced steps and stopping at the first one within tolerance.
//
// Divergence (lost positive definiteness, non-finite values, an error above
// the cap, and for a flow the step cap) is data: Result.Diverged and
// Result.DivergeReason say so, and Run never panics on valid parameters.
// Run is deterministic: the same Params give a bit-identical Result on the
// same machine and binary.
//
// The work of a point is bounded by Limits: an online point by its
// validated batch × horizon (MaxOnlineSamples), a flow point by a cap on
// its accepted steps (MaxFlowSteps; a stiff flow, with eigenvalues of C
// over many decades, would otherwise need steps without bound), which ends
// the run with ReasonStepCap. Every long loop looks at the context at a
// bounded interval — online between steps and every few blocks of samples
// inside a batched step, flow at every evaluation of the right-hand side —
// so a cancelled run returns ctx.Err() promptly.
//
// Every random draw of a point comes from its own PCG stream derived from
// Params.Seed and a fixed stream name (C's basis, M₀'s basis, the
// interneuron frame U, the Wishart draw W₀, the gain network's frame, the
// online samples), so changing
// one parameter, say Batch, leaves the bases of the point unchanged.
//
// Conventions fixed here (docs/model.md leaves them open):
//
//   - C = Q diag(s) Qᵀ with s = InputSpectrum.Eigenvalues(n) in the given
//     order; online samples are x = C^{1/2}g, g ~ N(0, I).
//   - M₀ = V diag(λ) Vᵀ, λ_i = μ (identity) or μ·spread^(t_i − ½) with t_i
//     evenly spaced in [0, 1] (logspread), V = Q (aligned: λ_i is paired with
//     s_i) or an independent Haar draw (random). The interneuron network
//     starts from W₀ = U diag(√λ) Vᵀ with U a Haar k×n frame. For the
//     wishart shape W₀ (k×n) has N(0, μ/k) entries and every network starts
//     from M₀ = W₀ᵀW₀, so the direct network uses k too. The gain network
//     starts from the gains whose M = I + W diag(g) Wᵀ is nearest M₀ (equal
//     when k ≥ n(n+1)/2), with a frame W drawn from the seed (gainFrame).
//   - A batch averages the Hebbian term over Batch samples drawn for the
//     same M (see onlineState); η keeps its meaning for every batch size.
//   - The interneuron network carries M⁻¹ across online steps and
//     recomputes it from W every RefreshPeriod steps.
//   - The flow works in the eigenbasis Q of C, where C is diagonal: its
//     state is QᵀMQ for the direct and interneuron networks (for the
//     interneuron network the flow of M = WᵀW, which depends on W only
//     through M) and the gains g for the gain network (with the frame
//     QᵀW). The error and the eigenvalues of M do not depend on the basis;
//     the integrator's error control, which is per entry of the state,
//     does. A right-hand side then costs 2n³ (direct), n³ (interneuron) or
//     about 4n²k + 2n³ (gain) flops.
//   - The error cap is max(ErrorCap, 100·e(0)).
//
// OracleTime and OracleTimeAligned give the closed-form convergence times of
// the aligned case (C and M₀ commute), which the tests use as an oracle and
// reports use as a reference.
//
// The package is pure Go over gonum (blas64, lapack64, and the kernels of
// dense.go and eigen.go, which are faster than the general routines at the
// sizes of a sweep point); it imports nothing from Temporal or storage.
package dynamics
