//go:build !amd64 || purego

package dynamics

// haveVecKernels is false: this build has no vector kernels (another
// architecture, or the purego build tag), and the pure-Go kernels of
// dense.go run everywhere.
const haveVecKernels = false

// gemvNAsm is gemvNGo: there is no assembly here.
func gemvNAsm(m, k int, a []float64, lda int, x, y []float64, sub bool) {
	gemvNGo(m, k, a, lda, x, y, sub)
}

// gemvTAsm is gemvTGo: there is no assembly here.
func gemvTAsm(m, n int, a []float64, lda int, x, y []float64, sub bool) {
	gemvTGo(m, n, a, lda, x, y, sub)
}

// dots4Asm is dots4Go: there is no assembly here.
func dots4Asm(m, k int, b []float64, ldb int, x []float64, ldx int, y []float64, ldy int, sub bool) {
	dots4Go(m, k, b, ldb, x, ldx, y, ldy, sub)
}
