package dynamics

import (
	"context"
	"errors"
	"testing"
)

// fuzzLimits keep every fuzzed point cheap.
var fuzzLimits = Limits{MaxN: 6, MaxFlowHorizon: 100, MaxOnlineSteps: 3000}

func pickName(names []string, i uint8) string {
	// One index past the list gives the empty name (the default) and the
	// next one an unknown name, which Validate must refuse.
	switch j := int(i) % (len(names) + 2); {
	case j < len(names):
		return names[j]
	case j == len(names):
		return ""
	default:
		return "bogus"
	}
}

// FuzzRun builds Params from fuzzed fields (valid or not). Invalid ones must
// be refused with *FieldError values; valid ones must run without panicking
// and satisfy the invariants of checkOutcome. Run it with
//
//	go test -fuzz=FuzzRun ./internal/dynamics/
func FuzzRun(f *testing.F) {
	f.Add(uint8(0), uint8(0), 3, 0, 0.5, 2.0, false, uint8(1), 10.0, uint8(0), 10.0, uint8(0), 0.01, 1, 0.01, 50.0, 20, int64(1))
	f.Add(uint8(1), uint8(1), 4, 6, 0.1, 10.0, true, uint8(1), 0.05, uint8(1), 30.0, uint8(1), 0.3, 3, 0.05, 800.0, 30, int64(7))
	f.Add(uint8(0), uint8(1), 2, 2, 1.0, 1.0, false, uint8(0), 1.0, uint8(0), 1.0, uint8(0), 0.9, 1, 0.01, 500.0, 10, int64(3))
	f.Add(uint8(1), uint8(0), 5, 7, 0.2, 5.0, true, uint8(1), 3.0, uint8(2), 1.0, uint8(1), 0.5, 2, 0.2, 10.0, 5, int64(0))
	f.Add(uint8(1), uint8(1), 3, 3, 0.5, 2.0, false, uint8(0), 2.0, uint8(0), 10.0, uint8(0), 1.5, 1, 0.01, 10.5, 1, int64(-1))
	f.Fuzz(func(t *testing.T, alg, mode uint8, n, k int, sMin, sMax float64, explicit bool, basis uint8,
		scale float64, shape uint8, spread float64, initBasis uint8, eta float64, batch int, tol, horizon float64,
		record int, seed int64) {
		p := Params{
			Algorithm:  Algorithm(pickName(NetworkNames(), alg)),
			Mode:       Mode(pickName([]string{string(Flow), string(Online)}, mode)),
			N:          n,
			K:          k,
			InputBasis: pickName([]string{BasisIdentity, BasisRandom}, basis),
			InitScale:  scale,
			InitShape:  pickName([]string{ShapeIdentity, ShapeLogSpread, ShapeWishart}, shape),
			InitSpread: spread,
			InitBasis:  pickName([]string{BasisAligned, BasisRandom}, initBasis),
			Eta:        eta,
			Batch:      batch,
			Tol:        tol,
			Horizon:    horizon,
			Record:     record,
			Seed:       seed,
		}
		if explicit && n >= 1 && n <= fuzzLimits.MaxN {
			for i := range n {
				p.InputSpectrum.Values = append(p.InputSpectrum.Values, sMin+float64(i)*(sMax-sMin)/float64(n))
			}
		} else {
			p.InputSpectrum = Spectrum{Min: sMin, Max: sMax}
		}
		// Bound the cost of a point: batches beyond 64 add nothing new.
		if p.Batch > 64 {
			p.Batch = 64
		}
		if err := p.Validate(fuzzLimits); err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("Validate returned an error without *FieldError values: %v", err)
			}
			if _, runErr := RunWithLimits(context.Background(), p, fuzzLimits); runErr == nil {
				t.Fatal("Run accepted parameters that Validate refuses")
			}
			return
		}
		// Stiff spectra can make a flow point take very many steps; cap the
		// work through the context instead of a clock.
		ctx := &countdownContext{Context: context.Background(), left: 20000}
		out, err := run(ctx, p, fuzzLimits, nil)
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			t.Fatalf("Run on valid params %+v: %v", p, err)
		}
		checkOutcome(t, p, out)
	})
}
