package dynamics_test

import (
	"context"
	"fmt"

	"github.com/isweep/isweep/internal/dynamics"
)

// ExampleRun integrates the mean dynamics of both networks from the same
// initial M₀ = 10·I, for an input with eigenvalues log-spaced in [0.5, 2] in
// a random basis, and compares the convergence times with the closed form of
// the aligned case.
func ExampleRun() {
	for _, alg := range []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron} {
		p := dynamics.Params{
			Algorithm:     alg,
			N:             4,
			InputSpectrum: dynamics.Spectrum{Min: 0.5, Max: 2},
			InputBasis:    dynamics.BasisRandom,
			InitScale:     10,
			Tol:           0.01,
			Seed:          1,
		}
		res, err := dynamics.Run(context.Background(), p)
		if err != nil {
			fmt.Println(err)
			return
		}
		s := p.InputSpectrum.Eigenvalues(p.N)
		m0 := []float64{10, 10, 10, 10}
		fmt.Printf("%-11s converged at t = %.4f (closed form %.4f)\n",
			alg, *res.ConvTime, dynamics.OracleTimeAligned(alg, s, m0, p.Tol))
	}

	// Invalid parameters are refused with field errors that say how to fix
	// them.
	_, err := dynamics.Run(context.Background(), dynamics.Params{Algorithm: dynamics.Interneuron, N: 4, Eta: 1.5})
	fmt.Println(err)

	// Output:
	// direct      converged at t = 12.6104 (closed form 12.6104)
	// interneuron converged at t = 2.4721 (closed form 2.4721)
	// eta: 1.5 is out of range: the interneuron rule needs 0 < eta < 1
}
