//go:build !amd64 || purego

package dynamics

// haveVecKernels is false: this build has no vector kernels (another
// architecture, or the purego build tag), and the pure-Go kernels of
// dense.go run everywhere.
const haveVecKernels = false

// haveAVX512Kernels is false: this build has no vector kernels.
const haveAVX512Kernels = false

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

// dots2x2Asm is dots2x2Go: there is no assembly here.
func dots2x2Asm(m, k int, b []float64, ldb, bstep int, x []float64, ldx int, y []float64, ldy int) {
	dots2x2Go(m, k, b, ldb, bstep, x, ldx, y, ldy)
}

// rank4LowerAsm is rank4LowerGo: there is no assembly here.
func rank4LowerAsm(m, r0 int, a []float64, lda int, p []float64, ldp int, c *[10]float64) {
	rank4LowerGo(m, r0, a, lda, p, ldp, c)
}

// panel4Asm is panel4Go: there is no assembly here.
func panel4Asm(m int, a []float64, lda int, t []float64, ldt int, c *[10]float64) {
	panel4Go(m, a, lda, t, ldt, c)
}

// syrLowerAsm is syrLowerGo: there is no assembly here.
func syrLowerAsm(n int, a []float64, lda int, x []float64, alpha float64, d []float64, ldd int) {
	syrLowerGo(n, a, lda, x, alpha, d, ldd)
}

// rank2PassAsm is rank2PassGo: there is no assembly here.
func rank2PassAsm(n, i0 int, a []float64, lda int, vo, wo, v, p []float64) {
	rank2PassGo(n, i0, a, lda, vo, wo, v, p)
}

// solveLowerAsm is solveLowerVecGo: there is no assembly here.
func solveLowerAsm(l []float64, n int, rdiag, x []float64) {
	solveLowerVecGo(l, n, rdiag, x)
}

// mirrorTilesAsm is mirrorTilesGo: there is no assembly here.
func mirrorTilesAsm(a []float64, n, n8, n4 int) {
	mirrorTilesGo(a, n, n8, n4)
}
