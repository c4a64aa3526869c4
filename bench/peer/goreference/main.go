// Command goreference runs isweep's Go dynamics (internal/dynamics.Run) once
// on each standard benchmark problem and prints one JSON object per point, so
// that bench/dynamics.sh can set the Go answers (convergence time, steps,
// divergence) beside those of the NumPy peer and the closed form.
//
// The standard problems are those of BenchmarkPoint in internal/dynamics and
// of bench/peer/whiten_numpy.py: input_spectrum log-spaced in [0.5, 2],
// input_basis random, init_shape identity, init_basis aligned, tol 0.01,
// seed 1; flow: init_scale 10, horizon 1e4; online: init_scale 2, eta 0.01,
// batch 1, horizon 2000 steps, record 20.
//
// Usage:
//
//	go run ./bench/peer/goreference -n 4,16,64,256
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/isweep/isweep/internal/dynamics"
)

// pointReport is the JSON line printed for one point.
type pointReport struct {
	Peer       string   `json:"peer"`
	Algorithm  string   `json:"algorithm"`
	Mode       string   `json:"mode"`
	N          int      `json:"n"`
	ConvTime   *float64 `json:"conv_time"`
	ConvStep   *int64   `json:"conv_step"`
	Steps      int64    `json:"steps"`
	RHSEvals   int64    `json:"rhs_evals"`
	FinalError float64  `json:"final_error"`
	MinError   float64  `json:"min_error"`
	Diverged   string   `json:"diverged"`
	// ClosedFormConvTime is the aligned-case oracle (flow only).
	ClosedFormConvTime *float64 `json:"closed_form_conv_time,omitempty"`
}

// standardParams returns the benchmark problem for one network, mode and n.
func standardParams(alg dynamics.Algorithm, mode dynamics.Mode, n int) dynamics.Params {
	p := dynamics.Params{
		Algorithm:     alg,
		Mode:          mode,
		N:             n,
		InputSpectrum: dynamics.Spectrum{Min: 0.5, Max: 2, Spacing: dynamics.LogSpacing},
		InputBasis:    "random",
		InitShape:     "identity",
		InitBasis:     "aligned",
		Tol:           0.01,
		Seed:          1,
	}
	if mode == dynamics.Flow {
		p.InitScale = 10
		p.Horizon = 1e4
		return p
	}
	p.InitScale = 2
	p.Eta = 0.01
	p.Batch = 1
	p.Horizon = 2000
	p.Record = 20
	return p
}

func parseDimensions(list string) ([]int, error) {
	var dims []int
	for _, field := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a dimension; give a comma-separated list of integers ≥ 1, e.g. -n 4,16", field)
		}
		dims = append(dims, n)
	}
	return dims, nil
}

func main() {
	dimensions := flag.String("n", "4,16,64,256", "comma-separated dimensions n")
	flag.Parse()
	dims, err := parseDimensions(*dimensions)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for _, alg := range []dynamics.Algorithm{dynamics.Direct, dynamics.Interneuron} {
		for _, mode := range []dynamics.Mode{dynamics.Flow, dynamics.Online} {
			for _, n := range dims {
				p := standardParams(alg, mode, n)
				res, err := dynamics.Run(context.Background(), p)
				if err != nil {
					fmt.Fprintf(os.Stderr, "goreference: %s %s n=%d: %v\n", alg, mode, n, err)
					os.Exit(1)
				}
				report := pointReport{
					Peer: "go", Algorithm: string(alg), Mode: string(mode), N: n,
					ConvTime: res.ConvTime, ConvStep: res.ConvStep,
					Steps: res.Steps, RHSEvals: res.RHSEvals,
					FinalError: res.FinalError, MinError: res.MinError,
					Diverged: res.DivergeReason,
				}
				if mode == dynamics.Flow {
					s := p.InputSpectrum.Eigenvalues(n)
					m0 := make([]float64, n)
					for i := range m0 {
						m0[i] = p.InitScale
					}
					tau := dynamics.OracleTimeAligned(alg, s, m0, p.Tol)
					report.ClosedFormConvTime = &tau
				}
				if err := out.Encode(report); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		}
	}
}
