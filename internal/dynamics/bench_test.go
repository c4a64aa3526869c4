package dynamics

import (
	"context"
	"fmt"
	"testing"
)

// The benchmark problems are shared with the NumPy peer (bench/peer): input
// spectrum log-spaced in [0.5, 2], Haar-random input basis, M₀ = μI aligned,
// tol 0.01, seed 1; flow from μ = 10 to convergence, online from μ = 2 with
// eta 0.01, batch 1, 2000 steps, record 20.

var benchSizes = []int{4, 16, 64, 256}

func benchFlowParams(alg Algorithm, n int) Params {
	return Params{
		Algorithm: alg, Mode: Flow, N: n,
		InputSpectrum: Spectrum{Min: 0.5, Max: 2, Spacing: LogSpacing}, InputBasis: BasisRandom,
		InitScale: 10, InitShape: ShapeIdentity, InitBasis: BasisAligned,
		Tol: 0.01, Horizon: 1e4, Seed: 1,
	}.WithDefaults()
}

func benchOnlineParams(alg Algorithm, n int) Params {
	return Params{
		Algorithm: alg, Mode: Online, N: n,
		InputSpectrum: Spectrum{Min: 0.5, Max: 2, Spacing: LogSpacing}, InputBasis: BasisRandom,
		InitScale: 2, InitShape: ShapeIdentity, InitBasis: BasisAligned,
		Eta: 0.01, Batch: 1, Tol: 0.01, Horizon: 2000, Record: 20, Seed: 1,
	}.WithDefaults()
}

// BenchmarkOnlineStep measures one online learning step (batch 1) on a
// prepared state; the interneuron figure includes the amortised refresh of
// M⁻¹ every RefreshPeriod steps. The direct network of the standard problem
// loses positive definiteness after about 200 steps at n = 256 (the noise
// of η(r rᵀ − I) grows with n); the state is then reset to M₀ outside the
// timer, and the failed step, which did the same Cholesky work, counts.
func BenchmarkOnlineStep(b *testing.B) {
	for _, alg := range []Algorithm{Direct, Interneuron} {
		b.Run(string(alg), func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					pt := newPoint(benchOnlineParams(alg, n))
					s := newOnlineState(pt)
					if !s.start() {
						b.Fatal(s.failed)
					}
					resets := 0
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if !s.step() {
							if alg != Direct || s.failed != ReasonNotPositiveDefinite {
								b.Fatalf("step %d diverged: %s", s.steps, s.failed)
							}
							b.StopTimer()
							copy(s.rule.(*directOnline).m.Data, pt.m0.Data)
							resets++
							b.StartTimer()
						}
					}
					if resets > 0 {
						b.ReportMetric(float64(resets)/float64(b.N), "resets/op")
					}
				})
			}
		})
	}
}

// BenchmarkOnlineStepBatch measures one online learning step with a batch
// of 1024 samples on a prepared state, through the batched paths that
// loop over blocks of samples (direct, and the interneuron network's
// explicit step for batch ≥ n); ns/op divided by 1024 is the cost of a
// sample. The state is reset to M₀ outside the timer when a step loses
// positive definiteness, as in BenchmarkOnlineStep.
func BenchmarkOnlineStepBatch(b *testing.B) {
	const batch = 1024
	for _, alg := range []Algorithm{Direct, Interneuron} {
		b.Run(string(alg), func(b *testing.B) {
			for _, n := range []int{4, 16, 64} {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					p := benchOnlineParams(alg, n)
					p.Batch = batch
					pt := newPoint(p)
					s := newOnlineState(pt)
					if !s.start() {
						b.Fatal(s.failed)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if !s.step() {
							b.StopTimer()
							if alg == Direct {
								copy(s.rule.(*directOnline).m.Data, pt.m0.Data)
							} else {
								o := interneuronRule(s)
								copy(o.w.Data, pt.w0.Data)
								o.wScale = 1
								if !s.start() {
									b.Fatal(s.failed)
								}
							}
							b.StartTimer()
						}
					}
				})
			}
		})
	}
}

// BenchmarkFlowRHS measures one evaluation of the right-hand side of the
// mean dynamics at M₀ (in the eigenbasis of C, where the flow works).
func BenchmarkFlowRHS(b *testing.B) {
	for _, alg := range []Algorithm{Direct, Interneuron} {
		b.Run(string(alg), func(b *testing.B) {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					pt := newPoint(benchFlowParams(alg, n))
					fs := newFlowSystem(context.Background(), pt)
					y := pt.m0InBasisOfC().Data
					dy := make([]float64, fs.dim())
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						if !fs.rhs(y, dy) {
							b.Fatal("right-hand side undefined at the start")
						}
					}
				})
			}
		})
	}
}

// BenchmarkPoint measures one whole point per op, setup included. A point
// that diverges (the direct online point at n = 256, see
// BenchmarkOnlineStep) ends early, as it does in a sweep; steps/op reports
// the learning steps (online) or accepted integrator steps (flow) of the
// point.
func BenchmarkPoint(b *testing.B) {
	for _, mode := range []Mode{Flow, Online} {
		b.Run(string(mode), func(b *testing.B) {
			for _, alg := range []Algorithm{Direct, Interneuron} {
				b.Run(string(alg), func(b *testing.B) {
					for _, n := range benchSizes {
						b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
							p := benchFlowParams(alg, n)
							if mode == Online {
								p = benchOnlineParams(alg, n)
							}
							b.ReportAllocs()
							var steps int64
							for range b.N {
								res, err := Run(context.Background(), p)
								if err != nil {
									b.Fatal(err)
								}
								if mode == Flow && res.ConvTime == nil {
									b.Fatalf("flow point did not converge: %+v", res)
								}
								steps = res.Steps
							}
							b.ReportMetric(float64(steps), "steps/op")
						})
					}
				})
			}
		})
	}
}

// BenchmarkValidate measures Validate on a valid point, the per-point cost of
// validating a sweep before it starts.
func BenchmarkValidate(b *testing.B) {
	p := benchOnlineParams(Interneuron, 64)
	lim := DefaultLimits()
	b.ReportAllocs()
	for range b.N {
		if err := p.Validate(lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOnlineRun measures an online point that runs its whole horizon
// (tol out of reach), per learning step: the step plus the convergence
// checks (CheckResolution) and 20 recorded samples.
func BenchmarkOnlineRun(b *testing.B) {
	for _, alg := range NetworkNames() {
		for _, n := range []int{4, 16, 64} {
			if alg == string(Gain) && n > 16 {
				continue
			}
			b.Run(fmt.Sprintf("%s/n=%d", alg, n), func(b *testing.B) {
				p := Params{Algorithm: Algorithm(alg), Mode: Online, N: n, InputSpectrum: Spectrum{Min: 0.5, Max: 2}, InputBasis: BasisRandom,
					InitScale: 2, Eta: 0.001, Tol: 1e-6, Horizon: 20000, Record: 20, Seed: 1}
				var steps int64
				for range b.N {
					r, err := Run(context.Background(), p)
					if err != nil {
						b.Fatal(err)
					}
					steps += r.Steps
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
			})
		}
	}
}

// BenchmarkFlowTol measures a flow point (the standard problem at n = 16)
// against its tol: below 1e-4 the integrator's tolerances follow tol
// (flowTolerances), and the steps grow as about tol^(−1/5).
func BenchmarkFlowTol(b *testing.B) {
	for _, alg := range []Algorithm{Direct, Interneuron} {
		for _, tol := range []float64{1e-2, 1e-4, 1e-6, 1e-8, FlowMinTol} {
			b.Run(fmt.Sprintf("%s/tol=%g", alg, tol), func(b *testing.B) {
				p := benchFlowParams(alg, 16)
				p.Tol = tol
				var steps int64
				for range b.N {
					res, err := Run(context.Background(), p)
					if err != nil || res.ConvTime == nil {
						b.Fatalf("got: %v, conv_time %v want: converged", err, res.ConvTime)
					}
					steps = res.Steps
				}
				b.ReportMetric(float64(steps), "steps/op")
			})
		}
	}
}
