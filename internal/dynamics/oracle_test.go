package dynamics

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// referenceTable is the table of docs/model.md (ε = 0.01, one direction),
// given there to five decimals.
var referenceTable = []struct {
	s, m0               float64
	direct, interneuron float64
}{
	{s: 1, m0: 0.05, direct: 2.00314, interneuron: 1.15315},
	{s: 1, m0: 2, direct: 3.43888, interneuron: 1.42343},
	{s: 1, m0: 10, direct: 11.88785, interneuron: 2.29756},
	{s: 1, m0: 50, direct: 51.96818, interneuron: 3.10469},
	{s: 0.25, m0: 10, direct: 10.96907, interneuron: 2.64602},
	{s: 4, m0: 50, direct: 53.89633, interneuron: 2.75782},
}

// fiveDecimals is the rounding error of a value printed to five decimals,
// plus a little room for the last digit of a correctly rounded result.
const fiveDecimals = 5.1e-6

func TestOracleTimeReferenceTable(t *testing.T) {
	for _, row := range referenceTable {
		for _, c := range []struct {
			alg  Algorithm
			want float64
		}{{Direct, row.direct}, {Interneuron, row.interneuron}} {
			got := OracleTime(c.alg, row.s, row.m0, 0.01)
			if math.Abs(got-c.want) > fiveDecimals {
				t.Errorf("OracleTime(%s, s=%v, m0=%v, 0.01): got: %.6f want: %.5f", c.alg, row.s, row.m0, got, c.want)
			}
		}
	}
}

// TestRunReferenceTable integrates the flow with n = 1 and checks it against
// the same table: the integrator, not the closed form, has to produce it.
func TestRunReferenceTable(t *testing.T) {
	for _, row := range referenceTable {
		for _, c := range []struct {
			alg  Algorithm
			want float64
		}{{Direct, row.direct}, {Interneuron, row.interneuron}} {
			name := fmt.Sprintf("%s/s=%v/m0=%v", c.alg, row.s, row.m0)
			t.Run(name, func(t *testing.T) {
				p := Params{Algorithm: c.alg, N: 1, InputSpectrum: Spectrum{Values: []float64{row.s}}, InitScale: row.m0, Tol: 0.01}
				res, err := Run(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if res.ConvTime == nil {
					t.Fatalf("got: no convergence (final error %g) want: conv_time %.5f", res.FinalError, c.want)
				}
				if got := *res.ConvTime; math.Abs(got-c.want) > fiveDecimals {
					t.Errorf("conv_time: got: %.7f want: %.5f", got, c.want)
				}
			})
		}
	}
}

func TestOracleTimeEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		alg   Algorithm
		s, m0 float64
		want  float64
	}{
		{name: "at the fixed point", alg: Direct, s: 4, m0: 2, want: 0},
		{name: "inside tol from above", alg: Interneuron, s: 1, m0: 1.004, want: 0},
		{name: "inside tol from below", alg: Direct, s: 1, m0: 0.996, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OracleTime(tc.alg, tc.s, tc.m0, 0.01); got != tc.want {
				t.Errorf("got: %g want: %g", got, tc.want)
			}
		})
	}
	// Far from the fixed point: direct τ ≈ m₀; interneuron
	// τ ≈ ½ ln(m₀/a) + ¼ ln((1 − ε)/ε), the large-u₀ limit of the closed
	// form. (model.md prints ¼ ln(1/(2ε)) for the constant; the closed form
	// it gives, and the reference table, imply ¼ ln((1 − ε)/ε).)
	m0 := 1e4
	if got, want := OracleTime(Direct, 1, m0, 0.01), m0; math.Abs(got-want)/want > 1e-3 {
		t.Errorf("direct asymptote: got: %g want: ≈ %g", got, want)
	}
	if got, want := OracleTime(Interneuron, 1, m0, 0.01), 0.5*math.Log(m0)+0.25*math.Log(0.99/0.01); math.Abs(got-want) > 1e-6 {
		t.Errorf("interneuron asymptote: got: %g want: ≈ %g", got, want)
	}
}

func TestOracleTimeAlignedIsTheSlowestDirection(t *testing.T) {
	s := []float64{0.5, 1, 2}
	m0 := []float64{10, 10, 10}
	got := OracleTimeAligned(Direct, s, m0, 0.01)
	want := OracleTime(Direct, 0.5, 10, 0.01) // smallest a is the slowest from above
	for _, si := range s {
		want = math.Max(want, OracleTime(Direct, si, 10, 0.01))
	}
	if got != want {
		t.Errorf("got: %g want: %g", got, want)
	}
}
