package schemas

import (
	"fmt"
	"testing"
)

// benchSpec returns a valid spec of about the given number of points over
// seven axes, a zip group and a list of spectra.
func benchSpec(b *testing.B, points int) *Spec {
	b.Helper()
	// 2 algorithms × 2 modes × 3 (n, k) × 2 spectra × 5 etas = 120 points
	// per seed.
	seeds := max(points/120, 1)
	spec := mustParse(b, fmt.Sprintf(`
apiVersion: isweep/v1
name: bench
output: results/bench
grid:
  algorithm: [direct, interneuron]
  mode: [flow, online]
  input_spectrum: [[0.5, 1, 2, 4], {min: 0.5, max: 2}]
  eta: {logspace: [-4, -2, 5]}
  seed: {range: [0, %d, 1]}
zip:
  - {n: [4, 4, 4], k: [4, 8, 16]}
fixed: {horizon: 1000, init_scale: 10}
`, seeds))
	return spec
}

// BenchmarkPoint measures Grid.Point: decoding an index, defaulting the
// parameters and hashing them into the point id.
func BenchmarkPoint(b *testing.B) {
	for _, points := range []int{120, 1_200_000} {
		b.Run(fmt.Sprintf("points=%d", points), func(b *testing.B) {
			g, err := benchSpec(b, points).Grid()
			if err != nil {
				b.Fatal(err)
			}
			n := g.Len()
			b.ReportAllocs()
			b.ResetTimer()
			var i int64
			for b.Loop() {
				_ = g.Point(i)
				i = (i + 7919) % n
			}
		})
	}
}

// BenchmarkValidate measures Spec.Validate, structure and every point.
func BenchmarkValidate(b *testing.B) {
	for _, points := range []int{1_200, 120_000, 1_200_000} {
		b.Run(fmt.Sprintf("points=%d", points), func(b *testing.B) {
			spec := benchSpec(b, points)
			b.ReportAllocs()
			for b.Loop() {
				if err := spec.Validate(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/point")
		})
	}
}

// BenchmarkParse measures Parse on the example specs.
func BenchmarkParse(b *testing.B) {
	src := []byte(`
apiVersion: isweep/v1
name: mu-scan
output: results/mu-scan
grid:
  init_scale: {logspace: [0, 3, 10]}
  algorithm: [direct, interneuron]
fixed:
  n: 4
  input_spectrum: {min: 0.5, max: 2, spacing: log}
  input_basis: random
  seed: 1
`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, "mu-scan.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
