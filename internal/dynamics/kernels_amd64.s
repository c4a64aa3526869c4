//go:build amd64 && !purego

#include "textflag.h"
#include "kernels_amd64.h"

// The AVX2/FMA kernels of kernels_amd64.go. Each keeps its accumulators in
// YMM registers (four doubles each), sums them in a fixed order and ends
// with VZEROUPPER, so a result depends only on its inputs.

// func gemvNAVX(m, k int, a *float64, lda int, x, y *float64, sub int)
//
// For i < m: s = Σ_{p<k} a[i*lda+p]·x[p]; y[i] = s, or y[i] − s when
// sub ≠ 0, one row at a time with two accumulators (the rows of a block of
// four go through dots4AVX, which does each dot product by the same
// operations): eight columns per iteration, then four, then the remaining
// columns one at a time after the lanes are summed.
TEXT ·gemvNAVX(SB), NOSPLIT, $0-56
	MOVQ m+0(FP), CX
	MOVQ k+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), BX
	MOVQ sub+48(FP), R15
	MOVQ DX, R13
	ANDQ $-8, R13 // columns in blocks of eight
	MOVQ DX, R14
	ANDQ $-4, R14 // columns in blocks of four

rows1:
	TESTQ CX, CX
	JZ    done
	VXORPD Y0, Y0, Y0
	VXORPD Y4, Y4, Y4
	XORQ AX, AX

rows1cols8:
	CMPQ AX, R13
	JGE  rows1cols4
	VMOVUPD (DI)(AX*8), Y8
	VMOVUPD 32(DI)(AX*8), Y9
	VFMADD231PD (SI)(AX*8), Y8, Y0
	VFMADD231PD 32(SI)(AX*8), Y9, Y4
	ADDQ $8, AX
	JMP  rows1cols8

rows1cols4:
	CMPQ AX, R14
	JGE  rows1sum
	VMOVUPD (DI)(AX*8), Y8
	VFMADD231PD (SI)(AX*8), Y8, Y0
	ADDQ $4, AX

rows1sum:
	VADDPD Y4, Y0, Y0
	LANESUM(Y0, X0)

rows1tail:
	CMPQ AX, DX
	JGE  rows1store
	VMOVSD (DI)(AX*8), X8
	VFMADD231SD (SI)(AX*8), X8, X0
	INCQ AX
	JMP  rows1tail

rows1store:
	TESTQ R15, R15
	JZ    rows1set
	VMOVSD (BX), X8
	VSUBSD X0, X8, X0

rows1set:
	VMOVSD X0, (BX)
	ADDQ $8, BX
	ADDQ R8, SI
	DECQ CX
	JMP  rows1

done:
	VZEROUPPER
	RET

// func gemvTAVX(m, n int, a *float64, lda int, x, y *float64, sub int)
//
// For j < n: y[j] += Σ_{r<m} x[r]·a[r*lda+j] (−x[r] when sub ≠ 0), the
// rows of a taken in order (y[j] += x0·a0[j]; += x1·a1[j]; …, each a fused
// multiply–add, four rows per pass over y), eight columns per iteration,
// then four, then one: every y[j] gets the same sequence of operations.
TEXT ·gemvTAVX(SB), NOSPLIT, $0-56
	MOVQ m+0(FP), CX
	MOVQ n+8(FP), DX
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), BX
	MOVQ sub+48(FP), R15
	MOVQ DX, R13
	ANDQ $-8, R13
	MOVQ DX, R14
	ANDQ $-4, R14
	// Y11: the sign bit in every lane when sub ≠ 0, else zero; the
	// coefficients are XORed with it (an exact negation).
	VXORPD Y11, Y11, Y11
	TESTQ R15, R15
	JZ    trows4
	VPCMPEQQ Y11, Y11, Y11
	VPSLLQ $63, Y11, Y11

trows4:
	CMPQ CX, $4
	JL   trows1
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	VBROADCASTSD (DI), Y12
	VBROADCASTSD 8(DI), Y13
	VBROADCASTSD 16(DI), Y14
	VBROADCASTSD 24(DI), Y15
	VXORPD Y11, Y12, Y12
	VXORPD Y11, Y13, Y13
	VXORPD Y11, Y14, Y14
	VXORPD Y11, Y15, Y15
	XORQ AX, AX

trows4cols8:
	CMPQ AX, R13
	JGE  trows4cols4
	VMOVUPD (BX)(AX*8), Y0
	VMOVUPD 32(BX)(AX*8), Y1
	VFMADD231PD (SI)(AX*8), Y12, Y0
	VFMADD231PD 32(SI)(AX*8), Y12, Y1
	VFMADD231PD (R9)(AX*8), Y13, Y0
	VFMADD231PD 32(R9)(AX*8), Y13, Y1
	VFMADD231PD (R10)(AX*8), Y14, Y0
	VFMADD231PD 32(R10)(AX*8), Y14, Y1
	VFMADD231PD (R11)(AX*8), Y15, Y0
	VFMADD231PD 32(R11)(AX*8), Y15, Y1
	VMOVUPD Y0, (BX)(AX*8)
	VMOVUPD Y1, 32(BX)(AX*8)
	ADDQ $8, AX
	JMP  trows4cols8

trows4cols4:
	CMPQ AX, R14
	JGE  trows4tail
	VMOVUPD (BX)(AX*8), Y0
	VFMADD231PD (SI)(AX*8), Y12, Y0
	VFMADD231PD (R9)(AX*8), Y13, Y0
	VFMADD231PD (R10)(AX*8), Y14, Y0
	VFMADD231PD (R11)(AX*8), Y15, Y0
	VMOVUPD Y0, (BX)(AX*8)
	ADDQ $4, AX

trows4tail:
	CMPQ AX, DX
	JGE  trows4next
	VMOVSD (BX)(AX*8), X0
	VFMADD231SD (SI)(AX*8), X12, X0
	VFMADD231SD (R9)(AX*8), X13, X0
	VFMADD231SD (R10)(AX*8), X14, X0
	VFMADD231SD (R11)(AX*8), X15, X0
	VMOVSD X0, (BX)(AX*8)
	INCQ AX
	JMP  trows4tail

trows4next:
	ADDQ $32, DI
	LEAQ (R11)(R8*1), SI
	SUBQ $4, CX
	JMP  trows4

trows1:
	TESTQ CX, CX
	JZ    tdone
	VBROADCASTSD (DI), Y12
	VXORPD Y11, Y12, Y12
	XORQ AX, AX

trows1cols8:
	CMPQ AX, R13
	JGE  trows1cols4
	VMOVUPD (BX)(AX*8), Y0
	VMOVUPD 32(BX)(AX*8), Y1
	VFMADD231PD (SI)(AX*8), Y12, Y0
	VFMADD231PD 32(SI)(AX*8), Y12, Y1
	VMOVUPD Y0, (BX)(AX*8)
	VMOVUPD Y1, 32(BX)(AX*8)
	ADDQ $8, AX
	JMP  trows1cols8

trows1cols4:
	CMPQ AX, R14
	JGE  trows1tail
	VMOVUPD (BX)(AX*8), Y0
	VFMADD231PD (SI)(AX*8), Y12, Y0
	VMOVUPD Y0, (BX)(AX*8)
	ADDQ $4, AX

trows1tail:
	CMPQ AX, DX
	JGE  trows1next
	VMOVSD (BX)(AX*8), X0
	VFMADD231SD (SI)(AX*8), X12, X0
	VMOVSD X0, (BX)(AX*8)
	INCQ AX
	JMP  trows1tail

trows1next:
	ADDQ $8, DI
	ADDQ R8, SI
	DECQ CX
	JMP  trows1

tdone:
	VZEROUPPER
	RET

// func dots4AVX(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int, sub int)
//
// For r < m and c < 4, with B = b + r·bstep, X = x + r·ldx, Y = y + r·ldy:
// s = Σ_{p<k} B[c*ldb+p]·X[p]; Y[c] = s, or Y[c] − s when sub ≠ 0. Each
// dot product has two accumulators of four lanes (eight independent FMA
// chains in all), eight columns per iteration, then four, then the
// remaining columns one at a time after the lanes are summed, as in
// gemvNAVX. bstep = 0 is four rows against m vectors; ldx = 0 and
// bstep = 4·ldb is the matrix–vector product of 4m rows.
TEXT ·dots4AVX(SB), NOSPLIT, $0-80
	DOTS4ARGS

drow:
	TESTQ CX, CX
	JZ    ddone
	ZERO8
	XORQ AX, AX

dcols8:
	CMPQ AX, R13
	JGE  dcols4
	DOTS4STEP8(SI, R10, R11, R8)
	ADDQ $8, AX
	JMP  dcols8

dcols4:
	CMPQ AX, R14
	JGE  dsum
	DOTS4STEP4(SI, R10, R11, R8)
	ADDQ $4, AX

dsum:
	DOTS4SUM

dtail:
	CMPQ AX, DX
	JGE  dstore
	DOTS4STEP1
	INCQ AX
	JMP  dtail

dstore:
	CMPQ sub+72(FP), $0
	JEQ  dset
	DOTS4SUB

dset:
	DOTS4NEXT
	DECQ CX
	JMP  drow

ddone:
	VZEROUPPER
	RET

// func rank4LowerAVX(m, r0 int, a *float64, lda int, p *float64, ldp int, c *[10]float64)
//
// The rank-four update of a lower triangle by four rows P0…P3 of p (stride
// ldp): for r0 ≤ r < m and j ≤ r, with c = (P0[r], P1[r], P2[r], P3[r]),
// a[r*lda+j] −= c0·P0[j], then −= c1·P1[j], −= c2·P2[j], −= c3·P3[j], each
// a fused negated multiply–add (the same result as gemvTAVX's fused
// multiply–add with the negated coefficient): per entry the operations of
// gemvTAVX with four rows and sub ≠ 0. Rows go in pairs,
// which share the loads of p (four columns per iteration, then one, then
// the last column of the second row), a last odd row on its own. When c is
// not nil, each row then takes the panel step of panel4AVX on its first
// four entries (the same operations, in scalar registers), written
// transposed into the four rows of p after P3 (p + 4·ldp).
TEXT ·rank4LowerAVX(SB), NOSPLIT, $0-56
	R4ARGS // BX: the row r

lpair:
	LEAQ 1(BX), DX // columns of row r
	CMPQ DX, CX
	JGE  lrow
	R4COEFS(BX, Y8, Y9, Y10, Y11)
	R4COEFS(DX, Y12, Y13, Y14, Y15)
	LEAQ (SI)(R8*1), R15 // row r+1
	MOVQ DX, R14
	ANDQ $-4, R14
	XORQ AX, AX

lpcols4:
	CMPQ AX, R14
	JGE  lptail
	R4PAIR4
	ADDQ $4, AX
	JMP  lpcols4

lptail:
	CMPQ AX, DX
	JGE  lplast
	R4PAIR1
	INCQ AX
	JMP  lptail

lplast:
	// The entry (r+1, r+1), which row r does not have.
	R4PAIRLAST
	MOVQ c+48(FP), R14
	TESTQ R14, R14
	JZ    lpnext
	MOVQ BX, R13
	SHLQ $3, R13
	LEAQ (R13)(R12*4), R13 // 4·ldp + 8r: the entry r of the rows after P3
	PANELROW(SI)
	ADDQ $8, R13
	PANELROW(R15)

lpnext:
	LEAQ (R15)(R8*1), SI
	ADDQ $2, BX
	JMP  lpair

lrow:
	CMPQ BX, CX
	JGE  ldone
	R4COEFS(BX, Y12, Y13, Y14, Y15)
	MOVQ DX, R14
	ANDQ $-4, R14
	XORQ AX, AX

lcols4:
	CMPQ AX, R14
	JGE  ltail
	R4ROW4
	ADDQ $4, AX
	JMP  lcols4

ltail:
	CMPQ AX, DX
	JGE  llast
	R4ROW1
	INCQ AX
	JMP  ltail

llast:
	MOVQ c+48(FP), R14
	TESTQ R14, R14
	JZ    ldone
	MOVQ BX, R13
	SHLQ $3, R13
	LEAQ (R13)(R12*4), R13
	PANELROW(SI)

ldone:
	VZEROUPPER
	RET

// func panel4AVX(m int, a *float64, lda int, t *float64, ldt int, c *[10]float64)
//
// The panel of a block of four columns of the Cholesky factor, four rows
// at a time (m a multiple of four): for r < m, with (a0, a1, a2, a3) the
// four entries at a + r·lda and c = (d0, d1, d2, d3, q10, q20, q21, q30,
// q31, q32), x0 = a0·d0, x1 = (a1 − q10·x0)·d1,
// x2 = (a2 − q20·x0 − q21·x1)·d2, x3 = (a3 − q30·x0 − q31·x1 − q32·x2)·d3
// (each subtraction a fused negated multiply–add, in that order), stored
// back over a0…a3 and, transposed, into t[c·ldt + r]. The four rows are
// transposed in registers so that each lane carries one row.
TEXT ·panel4AVX(SB), NOSPLIT, $0-48
	MOVQ m+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $3, R8
	MOVQ t+24(FP), DI
	MOVQ ldt+32(FP), R12
	SHLQ $3, R12
	MOVQ c+40(FP), AX
	LEAQ (R8)(R8*1), R9   // 2·lda
	LEAQ (R9)(R8*1), R10  // 3·lda
	LEAQ (R12)(R12*1), R13 // 2·ldt
	LEAQ (R13)(R12*1), R14 // 3·ldt
	LEAQ (R10)(R8*1), R11 // 4·lda
	VBROADCASTSD 0(AX), Y6
	VBROADCASTSD 8(AX), Y7
	VBROADCASTSD 16(AX), Y8
	VBROADCASTSD 24(AX), Y9
	VBROADCASTSD 32(AX), Y10
	VBROADCASTSD 40(AX), Y11
	VBROADCASTSD 48(AX), Y12
	VBROADCASTSD 56(AX), Y13
	VBROADCASTSD 64(AX), Y14
	VBROADCASTSD 72(AX), Y15

qrows:
	CMPQ CX, $4
	JL   qdone
	VMOVUPD (SI), Y0
	VMOVUPD (SI)(R8*1), Y1
	VMOVUPD (SI)(R9*1), Y2
	VMOVUPD (SI)(R10*1), Y3
	// Columns 0, 1, 2, 3 of the four rows into Y2, Y0, Y3, Y1.
	TRANSPOSE4(Y0, Y1, Y2, Y3, Y4, Y5, Y0, Y1, Y2, Y0, Y3, Y1)
	VMULPD Y6, Y2, Y2            // x0
	VFNMADD231PD Y2, Y10, Y0
	VMULPD Y7, Y0, Y0            // x1
	VFNMADD231PD Y2, Y11, Y3
	VFNMADD231PD Y0, Y12, Y3
	VMULPD Y8, Y3, Y3            // x2
	VFNMADD231PD Y2, Y13, Y1
	VFNMADD231PD Y0, Y14, Y1
	VFNMADD231PD Y3, Y15, Y1
	VMULPD Y9, Y1, Y1            // x3
	VMOVUPD Y2, (DI)
	VMOVUPD Y0, (DI)(R12*1)
	VMOVUPD Y3, (DI)(R13*1)
	VMOVUPD Y1, (DI)(R14*1)
	// Back to rows 0, 1, 2, 3 in Y1, Y0, Y3, Y4.
	TRANSPOSE4(Y2, Y0, Y3, Y1, Y4, Y5, Y0, Y2, Y1, Y0, Y3, Y4)
	VMOVUPD Y1, (SI)
	VMOVUPD Y0, (SI)(R8*1)
	VMOVUPD Y3, (SI)(R9*1)
	VMOVUPD Y4, (SI)(R10*1)
	ADDQ R11, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JMP  qrows

qdone:
	VZEROUPPER
	RET

// func syrLowerAVX(n int, a *float64, lda int, x *float64, alpha float64, d *float64, ldd int)
//
// The symmetric rank-one update of a lower triangle: for i < n, with
// h = alpha·x[i], a[i*lda+j] += h·x[j] for j ≤ i, each a fused
// multiply–add (eight columns per iteration, then four, then one), and
// each updated entry stored at d[i*ldd+j] too.
TEXT ·syrLowerAVX(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $3, R8
	MOVQ x+24(FP), DI
	VBROADCASTSD alpha+32(FP), Y15
	MOVQ d+40(FP), R10
	MOVQ ldd+48(FP), R9
	SHLQ $3, R9
	XORQ BX, BX

srow:
	CMPQ BX, CX
	JGE  sdone
	VBROADCASTSD (DI)(BX*8), Y12
	VMULPD Y15, Y12, Y12
	LEAQ 1(BX), DX
	MOVQ DX, R13
	ANDQ $-8, R13
	MOVQ DX, R14
	ANDQ $-4, R14
	XORQ AX, AX

scols8:
	CMPQ AX, R13
	JGE  scols4
	VMOVUPD (SI)(AX*8), Y0
	VMOVUPD 32(SI)(AX*8), Y1
	VFMADD231PD (DI)(AX*8), Y12, Y0
	VFMADD231PD 32(DI)(AX*8), Y12, Y1
	VMOVUPD Y0, (SI)(AX*8)
	VMOVUPD Y1, 32(SI)(AX*8)
	VMOVUPD Y0, (R10)(AX*8)
	VMOVUPD Y1, 32(R10)(AX*8)
	ADDQ $8, AX
	JMP  scols8

scols4:
	CMPQ AX, R14
	JGE  stail
	SYR4
	ADDQ $4, AX

stail:
	CMPQ AX, DX
	JGE  snext
	SYR1
	INCQ AX
	JMP  stail

snext:
	ADDQ R8, SI
	ADDQ R9, R10
	INCQ BX
	JMP  srow

sdone:
	VZEROUPPER
	RET

// func rank2PassAVX(n, i0 int, a *float64, lda int, vo, wo, v, p *float64)
//
// One pass of symEig.tridiagonalize over the rows i0 ≤ i < n of the upper
// triangle of a, in pairs (i, i+1) while i+1 < n (a last odd row is left
// to the caller). For a pair, with nv0 = −vo[i], nw0 = −wo[i],
// nv1 = −vo[i+1], nw1 = −wo[i+1]: each entry x of row i from column i on,
// and of row i+1 from column i+1 on, becomes x + nv·wo[j] + nw·vo[j] (two
// fused multiply–adds, in that order); s0 = d0·v[i] (d0 the new diagonal
// entry of row i) then s0 += x·v[i+1] and p[i+1] += x·v[i] (fused) for its
// entry x at column i+1; s1 = d1·v[i+1]; the rest of both rows (from
// column i+2) as in rank2PairAVX, whose sums t0, t1 end the pair:
// p[i] += s0 + t0, p[i+1] += s1 + t1.
TEXT ·rank2PassAVX(SB), NOSPLIT, $0-64
	MOVQ i0+8(FP), BX
	MOVQ lda+24(FP), R12
	SHLQ $3, R12
	VPCMPEQQ Y9, Y9, Y9
	VPSLLQ $63, Y9, Y9 // the sign bit in every lane

rpair:
	MOVQ n+0(FP), CX
	LEAQ 1(BX), AX
	CMPQ AX, CX
	JGE  rdone
	SUBQ BX, CX
	SUBQ $2, CX // m = n − i − 2, the columns from i+2 on
	MOVQ a+16(FP), SI
	MOVQ BX, AX
	IMULQ R12, AX
	ADDQ AX, SI
	LEAQ (SI)(BX*8), SI    // row i at column i
	LEAQ 8(SI)(R12*1), DI  // row i+1 at column i+1
	MOVQ vo+32(FP), R8
	LEAQ (R8)(BX*8), R8
	MOVQ wo+40(FP), R9
	LEAQ (R9)(BX*8), R9
	MOVQ v+48(FP), R10
	LEAQ (R10)(BX*8), R10
	MOVQ p+56(FP), R11
	LEAQ (R11)(BX*8), R11
	VBROADCASTSD 0(R8), Y10
	VXORPD Y9, Y10, Y10 // nv0
	VBROADCASTSD 0(R9), Y11
	VXORPD Y9, Y11, Y11 // nw0
	VBROADCASTSD 8(R8), Y12
	VXORPD Y9, Y12, Y12 // nv1
	VBROADCASTSD 8(R9), Y13
	VXORPD Y9, Y13, Y13 // nw1
	VBROADCASTSD 0(R10), Y14 // u0 = v[i]
	VBROADCASTSD 8(R10), Y15 // u1 = v[i+1]

	// The entries (i, i), (i, i+1) and (i+1, i+1).
	VMOVSD 0(SI), X2
	VFMADD231SD 0(R9), X10, X2
	VFMADD231SD 0(R8), X11, X2
	VMOVSD X2, 0(SI)
	VMULSD X14, X2, X6 // s0
	VMOVSD 8(SI), X3
	VFMADD231SD 8(R9), X10, X3
	VFMADD231SD 8(R8), X11, X3
	VMOVSD X3, 8(SI)
	VFMADD231SD 8(R10), X3, X6
	VMOVSD 8(R11), X4
	VFMADD231SD X3, X14, X4
	VMOVSD X4, 8(R11)
	VMOVSD 0(DI), X5
	VFMADD231SD 8(R9), X12, X5
	VFMADD231SD 8(R8), X13, X5
	VMOVSD X5, 0(DI)
	VMULSD X15, X5, X7 // s1
	MOVQ X6, R13
	MOVQ X7, R15

	// The columns from i+2 on.
	ADDQ $16, SI
	ADDQ $8, DI
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $16, R11
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	MOVQ CX, R14
	ANDQ $-4, R14
	XORQ AX, AX

rcols4:
	CMPQ AX, R14
	JGE  rsum
	VMOVUPD (R9)(AX*8), Y4
	VMOVUPD (R8)(AX*8), Y5
	VMOVUPD (SI)(AX*8), Y2
	VMOVUPD (DI)(AX*8), Y3
	VFMADD231PD Y4, Y10, Y2
	VFMADD231PD Y5, Y11, Y2
	VFMADD231PD Y4, Y12, Y3
	VFMADD231PD Y5, Y13, Y3
	VMOVUPD Y2, (SI)(AX*8)
	VMOVUPD Y3, (DI)(AX*8)
	VMOVUPD (R10)(AX*8), Y6
	VFMADD231PD Y2, Y6, Y0
	VFMADD231PD Y3, Y6, Y1
	VMOVUPD (R11)(AX*8), Y7
	VFMADD231PD Y2, Y14, Y7
	VFMADD231PD Y3, Y15, Y7
	VMOVUPD Y7, (R11)(AX*8)
	ADDQ $4, AX
	JMP  rcols4

rsum:
	LANESUM(Y0, X0)
	LANESUM(Y1, X1)

rtail:
	CMPQ AX, CX
	JGE  rend
	VMOVSD (R9)(AX*8), X4
	VMOVSD (R8)(AX*8), X5
	VMOVSD (SI)(AX*8), X2
	VMOVSD (DI)(AX*8), X3
	VFMADD231SD X4, X10, X2
	VFMADD231SD X5, X11, X2
	VFMADD231SD X4, X12, X3
	VFMADD231SD X5, X13, X3
	VMOVSD X2, (SI)(AX*8)
	VMOVSD X3, (DI)(AX*8)
	VMOVSD (R10)(AX*8), X6
	VFMADD231SD X2, X6, X0
	VFMADD231SD X3, X6, X1
	VMOVSD (R11)(AX*8), X7
	VFMADD231SD X2, X14, X7
	VFMADD231SD X3, X15, X7
	VMOVSD X7, (R11)(AX*8)
	INCQ AX
	JMP  rtail

rend:
	MOVQ R13, X6
	MOVQ R15, X7
	VADDSD X0, X6, X6 // s0 + t0
	VADDSD X1, X7, X7 // s1 + t1
	VMOVSD -16(R11), X2
	VADDSD X6, X2, X2
	VMOVSD X2, -16(R11)
	VMOVSD -8(R11), X3
	VADDSD X7, X3, X3
	VMOVSD X3, -8(R11)
	ADDQ $2, BX
	JMP  rpair

rdone:
	VZEROUPPER
	RET

// func solveLowerAVX(n int, l *float64, ldl int, rdiag, x *float64)
//
// solveLowerVecGo in one call, operation for operation. Forward, by
// blocks of four rows from the top: each row i of a block first takes
// x[i] −= ⟨L[i][:i0], x[:i0]⟩ (i0 the block's first row; the dot product as
// in gemvNAVX), then its triangle x[i] = (x[i] − L[i][i0]·x[i0] − …)·rdiag[i]
// (separate multiplications and subtractions, as in Go). Backward, by
// blocks of four rows from the bottom: each row i of a block, last first,
// x[i] *= rdiag[i] and x[t] −= L[i][t]·x[i] for the rows t of the block
// above it, then the block is subtracted from the entries above it as in
// gemvTAVX with sub ≠ 0 (fused multiply–adds with the negated x, rows in
// order).
TEXT ·solveLowerAVX(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ l+8(FP), SI
	MOVQ ldl+16(FP), R8
	SHLQ $3, R8
	MOVQ rdiag+24(FP), R9
	MOVQ x+32(FP), DI
	XORQ BX, BX // i0

fblock:
	CMPQ BX, CX
	JGE  bstart
	LEAQ 4(BX), R11
	CMPQ R11, CX
	JLE  fquad
	MOVQ CX, R11 // a last block of fewer than four rows ends at n

fblock1:
	MOVQ BX, R13
	ANDQ $-8, R13
	MOVQ BX, R14
	ANDQ $-4, R14
	MOVQ BX, DX // the row i
	MOVQ BX, R10
	IMULQ R8, R10
	ADDQ SI, R10 // L[i]

frow:
	CMPQ DX, R11
	JGE  fnext
	VMOVSD (DI)(DX*8), X0 // x[i]
	TESTQ BX, BX
	JZ    ftri
	VXORPD Y1, Y1, Y1
	VXORPD Y4, Y4, Y4
	XORQ AX, AX

fcols8:
	CMPQ AX, R13
	JGE  fcols4
	VMOVUPD (DI)(AX*8), Y8
	VMOVUPD 32(DI)(AX*8), Y9
	VFMADD231PD (R10)(AX*8), Y8, Y1
	VFMADD231PD 32(R10)(AX*8), Y9, Y4
	ADDQ $8, AX
	JMP  fcols8

fcols4:
	CMPQ AX, R14
	JGE  fsum
	VMOVUPD (DI)(AX*8), Y8
	VFMADD231PD (R10)(AX*8), Y8, Y1
	ADDQ $4, AX

fsum:
	VADDPD Y4, Y1, Y1
	LANESUM(Y1, X1)

ftail:
	CMPQ AX, BX
	JGE  fsub
	VMOVSD (DI)(AX*8), X8
	VFMADD231SD (R10)(AX*8), X8, X1
	INCQ AX
	JMP  ftail

fsub:
	VSUBSD X1, X0, X0

ftri:
	MOVQ BX, AX

ftri1:
	CMPQ AX, DX
	JGE  fstore
	VMOVSD (R10)(AX*8), X9
	VMULSD (DI)(AX*8), X9, X9
	VSUBSD X9, X0, X0
	INCQ AX
	JMP  ftri1

fstore:
	VMULSD (R9)(DX*8), X0, X0
	VMOVSD X0, (DI)(DX*8)
	INCQ DX
	ADDQ R8, R10
	JMP  frow

fnext:
	MOVQ R11, BX
	JMP  fblock

fquad:
	// A block of four rows: the four dot products together, in Y0…Y3
	// and Y4…Y7 (columns 0…3 and 4…7 of each eight), each by the
	// operations of the row loop above; then the triangle.
	MOVQ BX, R10
	IMULQ R8, R10
	ADDQ SI, R10 // L[i0]
	LEAQ (R10)(R8*1), R12 // L[i0+1]
	LEAQ (R12)(R8*1), R15 // L[i0+2]
	LEAQ (R15)(R8*1), DX // L[i0+3]
	VMOVSD (DI)(BX*8), X12
	VMOVSD 8(DI)(BX*8), X13
	VMOVSD 16(DI)(BX*8), X14
	VMOVSD 24(DI)(BX*8), X15
	TESTQ BX, BX
	JZ    fqtri
	ZERO8
	MOVQ BX, R13
	ANDQ $-8, R13
	XORQ AX, AX

fq8:
	CMPQ AX, R13
	JGE  fq4
	DOTS4STEP8(R10, R12, R15, DX)
	ADDQ $8, AX
	JMP  fq8

fq4:
	CMPQ AX, BX // i0 is a multiple of four: no columns after these
	JGE  fqsum
	DOTS4STEP4(R10, R12, R15, DX)

fqsum:
	DOTS4SUM
	VSUBSD X0, X12, X12
	VSUBSD X1, X13, X13
	VSUBSD X2, X14, X14
	VSUBSD X3, X15, X15

fqtri:
	VMULSD (R9)(BX*8), X12, X12
	VMOVSD X12, (DI)(BX*8)
	VMOVSD (R12)(BX*8), X9
	VMULSD X12, X9, X9
	VSUBSD X9, X13, X13
	VMULSD 8(R9)(BX*8), X13, X13
	VMOVSD X13, 8(DI)(BX*8)
	VMOVSD (R15)(BX*8), X9
	VMULSD X12, X9, X9
	VSUBSD X9, X14, X14
	VMOVSD 8(R15)(BX*8), X9
	VMULSD X13, X9, X9
	VSUBSD X9, X14, X14
	VMULSD 16(R9)(BX*8), X14, X14
	VMOVSD X14, 16(DI)(BX*8)
	VMOVSD (DX)(BX*8), X9
	VMULSD X12, X9, X9
	VSUBSD X9, X15, X15
	VMOVSD 8(DX)(BX*8), X9
	VMULSD X13, X9, X9
	VSUBSD X9, X15, X15
	VMOVSD 16(DX)(BX*8), X9
	VMULSD X14, X9, X9
	VSUBSD X9, X15, X15
	VMULSD 24(R9)(BX*8), X15, X15
	VMOVSD X15, 24(DI)(BX*8)
	MOVQ R11, BX
	JMP  fblock

bstart:
	MOVQ CX, BX // i1

bblock:
	TESTQ BX, BX
	JLE  bdone
	LEAQ -4(BX), R11 // i0 = max(i1−4, 0)
	TESTQ R11, R11
	JGE  bblock1
	XORQ R11, R11

bblock1:
	LEAQ -1(BX), DX // the row i, last first
	MOVQ DX, R10
	IMULQ R8, R10
	ADDQ SI, R10 // L[i]

brow:
	CMPQ DX, R11
	JL   bupdate
	VMOVSD (DI)(DX*8), X0
	VMULSD (R9)(DX*8), X0, X0
	VMOVSD X0, (DI)(DX*8)
	MOVQ R11, AX

brow1:
	CMPQ AX, DX
	JGE  brownext
	VMOVSD (R10)(AX*8), X9
	VMULSD X0, X9, X9
	VMOVSD (DI)(AX*8), X8
	VSUBSD X9, X8, X8
	VMOVSD X8, (DI)(AX*8)
	INCQ AX
	JMP  brow1

brownext:
	DECQ DX
	SUBQ R8, R10
	JMP  brow

bupdate:
	// The entries above the block: x[j] −= Σ_r x[i0+r]·L[i0+r][j], four
	// rows (a block that does not start at 0 has four).
	TESTQ R11, R11
	JZ    bnext
	MOVQ R11, R10
	IMULQ R8, R10
	ADDQ SI, R10 // L[i0]
	LEAQ (R10)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	LEAQ (R13)(R8*1), R14
	VBROADCASTSD (DI)(R11*8), Y12
	VBROADCASTSD 8(DI)(R11*8), Y13
	VBROADCASTSD 16(DI)(R11*8), Y14
	VBROADCASTSD 24(DI)(R11*8), Y15
	MOVQ R11, R15
	ANDQ $-8, R15
	MOVQ R11, DX
	ANDQ $-4, DX
	XORQ AX, AX

bcols8:
	CMPQ AX, R15
	JGE  bcols4
	VMOVUPD (DI)(AX*8), Y0
	VMOVUPD 32(DI)(AX*8), Y1
	VFNMADD231PD (R10)(AX*8), Y12, Y0
	VFNMADD231PD 32(R10)(AX*8), Y12, Y1
	VFNMADD231PD (R12)(AX*8), Y13, Y0
	VFNMADD231PD 32(R12)(AX*8), Y13, Y1
	VFNMADD231PD (R13)(AX*8), Y14, Y0
	VFNMADD231PD 32(R13)(AX*8), Y14, Y1
	VFNMADD231PD (R14)(AX*8), Y15, Y0
	VFNMADD231PD 32(R14)(AX*8), Y15, Y1
	VMOVUPD Y0, (DI)(AX*8)
	VMOVUPD Y1, 32(DI)(AX*8)
	ADDQ $8, AX
	JMP  bcols8

bcols4:
	CMPQ AX, DX
	JGE  btail
	VMOVUPD (DI)(AX*8), Y0
	VFNMADD231PD (R10)(AX*8), Y12, Y0
	VFNMADD231PD (R12)(AX*8), Y13, Y0
	VFNMADD231PD (R13)(AX*8), Y14, Y0
	VFNMADD231PD (R14)(AX*8), Y15, Y0
	VMOVUPD Y0, (DI)(AX*8)
	ADDQ $4, AX

btail:
	CMPQ AX, R11
	JGE  bnext
	VMOVSD (DI)(AX*8), X0
	VFNMADD231SD (R10)(AX*8), X12, X0
	VFNMADD231SD (R12)(AX*8), X13, X0
	VFNMADD231SD (R13)(AX*8), X14, X0
	VFNMADD231SD (R14)(AX*8), X15, X0
	VMOVSD X0, (DI)(AX*8)
	INCQ AX
	JMP  btail

bnext:
	MOVQ R11, BX
	JMP  bblock

bdone:
	VZEROUPPER
	RET

// func mirrorTilesAVX(a *float64, n, n8, n4 int)
//
// For each band of eight rows i0 < n8 (a multiple of eight) and each
// j0 from i0+8 below n4 (multiples of four), the 8×4 block of a at rows
// i0…i0+7, columns j0…j0+3 is written transposed at rows j0…j0+3, columns
// i0…i0+7 (a has stride n): two 4×4 tiles by TRANSPOSE4, and every row
// written takes eight entries, a whole cache line when the rows are
// aligned.
TEXT ·mirrorTilesAVX(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ n+8(FP), DX
	MOVQ n8+16(FP), BX
	MOVQ n4+24(FP), CX
	MOVQ DX, R8
	SHLQ $3, R8               // R8: the stride in bytes
	LEAQ (R8)(R8*2), R13      // R13: three strides
	LEAQ (R8)(R8*4), R14      // R14: five strides
	XORQ R9, R9               // R9: i0

mband:
	CMPQ R9, BX
	JGE  mdone
	LEAQ 8(R9), R10           // R10: j0
	CMPQ R10, CX
	JGE  mdone
	MOVQ R9, AX
	IMULQ DX, AX
	ADDQ R10, AX
	LEAQ (SI)(AX*8), R11      // R11: &a[i0][j0], the block read
	LEAQ (R11)(R8*4), R15     // R15: &a[i0+4][j0]
	MOVQ R10, AX
	IMULQ DX, AX
	ADDQ R9, AX
	LEAQ (SI)(AX*8), R12      // R12: &a[j0][i0], the block written

mtile:
	VMOVUPD (R11), Y0
	VMOVUPD (R11)(R8*1), Y1
	VMOVUPD (R11)(R8*2), Y2
	VMOVUPD (R11)(R13*1), Y3
	TRANSPOSE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	VMOVUPD (R15), Y8
	VMOVUPD (R15)(R8*1), Y9
	VMOVUPD (R15)(R8*2), Y10
	VMOVUPD (R15)(R13*1), Y11
	TRANSPOSE4(Y8, Y9, Y10, Y11, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11)
	VMOVUPD Y0, (R12)
	VMOVUPD Y8, 32(R12)
	VMOVUPD Y1, (R12)(R8*1)
	VMOVUPD Y9, 32(R12)(R8*1)
	VMOVUPD Y2, (R12)(R8*2)
	VMOVUPD Y10, 32(R12)(R8*2)
	VMOVUPD Y3, (R12)(R13*1)
	VMOVUPD Y11, 32(R12)(R13*1)
	ADDQ $32, R11
	ADDQ $32, R15
	LEAQ (R12)(R8*4), R12
	ADDQ $4, R10
	CMPQ R10, CX
	JLT  mtile
	ADDQ $8, R9
	JMP  mband

mdone:
	VZEROUPPER
	RET

// func dots2x2AVX(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int)
//
// For each of m pairs of rows of b (b, b+ldb; the next pair bstep further
// on) and the two rows x, x+ldx: y[2j], y[2j+1] ← the dots of x with the
// pair, y[ldy+2j], y[ldy+2j+1] ← those of x+ldx. Each dot is summed as in
// dots4AVX (two four-lane accumulators over blocks of eight, one block of
// four into the first, the lanes reduced in the same order, then the tail
// fused one column at a time), so the results are bit for bit those of
// dots4AVX and gemvNAVX; the four dots of a block share their loads: one
// load per fused multiply–add instead of 1.25.
TEXT ·dots2x2AVX(SB), NOSPLIT, $0-72
	DOTS2X2ARGS

prow:
	TESTQ CX, CX
	JZ    pdone
	ZERO8
	XORQ AX, AX

pcols8:
	CMPQ AX, R13
	JGE  pcols4
	VMOVUPD (DI)(AX*8), Y8
	VMOVUPD 32(DI)(AX*8), Y9
	VMOVUPD (R11)(AX*8), Y10
	VMOVUPD 32(R11)(AX*8), Y11
	VMOVUPD (SI)(AX*8), Y12
	VFMADD231PD Y12, Y8, Y0
	VFMADD231PD Y12, Y10, Y2
	VMOVUPD 32(SI)(AX*8), Y13
	VFMADD231PD Y13, Y9, Y4
	VFMADD231PD Y13, Y11, Y6
	VMOVUPD (R10)(AX*8), Y12
	VFMADD231PD Y12, Y8, Y1
	VFMADD231PD Y12, Y10, Y3
	VMOVUPD 32(R10)(AX*8), Y13
	VFMADD231PD Y13, Y9, Y5
	VFMADD231PD Y13, Y11, Y7
	ADDQ $8, AX
	JMP  pcols8

pcols4:
	CMPQ AX, R14
	JGE  psum
	DOTS2X2STEP4
	ADDQ $4, AX

psum:
	DOTS4SUM

ptail:
	CMPQ AX, DX
	JGE  pstore
	DOTS2X2STEP1
	INCQ AX
	JMP  ptail

pstore:
	DOTS2X2NEXT
	DECQ CX
	JMP  prow

pdone:
	VZEROUPPER
	RET
