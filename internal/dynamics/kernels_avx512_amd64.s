//go:build amd64 && !purego

#include "textflag.h"
#include "kernels_amd64.h"

// The AVX-512 forms of some AVX2/FMA kernels of kernels_amd64.s, for the
// processors that have AVX-512 (kernels_amd64.go chooses at run time).
// Each does, entry for entry, the fused multiply–adds of its AVX2 form in
// the same order, eight doubles per instruction in its main loop, then
// four and one as the AVX2 form does: the results are bit for bit those of
// the AVX2 form and of its Go model. They use Z0…Z15 only, and end with
// VZEROUPPER. The ends of rows are not done by masked instructions: in a
// Cholesky factorisation the next kernel soon loads what they store, and
// loads from masked stores stalled it (at n = 64 the factorisation took
// 60 % longer than in AVX2, where the masked rank4Lower on its own was
// 1.9× faster).

// func rank4LowerAVX512(m, r0 int, a *float64, lda int, p *float64, ldp int, c *[10]float64)
//
// rank4LowerAVX in AVX-512: rows in pairs, which share the loads of p,
// eight columns per iteration, then four, then one, then the last column
// of the second row; a last odd row on its own. Per entry the four fused
// negated multiply–adds of rank4LowerAVX, P0 first. The coefficients of
// the pair are broadcast into Z8…Z15, whose low halves Y8…Y15 and X8…X15
// serve the narrower steps.
TEXT ·rank4LowerAVX512(SB), NOSPLIT, $0-56
	R4ARGS // BX: the row r

zpair:
	LEAQ 1(BX), DX // columns of row r
	CMPQ DX, CX
	JGE  zrow
	R4COEFS(BX, Z8, Z9, Z10, Z11)
	R4COEFS(DX, Z12, Z13, Z14, Z15)
	LEAQ (SI)(R8*1), R15 // row r+1
	MOVQ DX, R14
	ANDQ $-8, R14
	XORQ AX, AX

zpcols8:
	CMPQ AX, R14
	JGE  zpcols4
	VMOVUPD (DI)(AX*8), Z2
	VMOVUPD (R9)(AX*8), Z3
	VMOVUPD (R10)(AX*8), Z4
	VMOVUPD (R11)(AX*8), Z5
	VMOVUPD (SI)(AX*8), Z0
	VMOVUPD (R15)(AX*8), Z1
	VFNMADD231PD Z2, Z8, Z0
	VFNMADD231PD Z2, Z12, Z1
	VFNMADD231PD Z3, Z9, Z0
	VFNMADD231PD Z3, Z13, Z1
	VFNMADD231PD Z4, Z10, Z0
	VFNMADD231PD Z4, Z14, Z1
	VFNMADD231PD Z5, Z11, Z0
	VFNMADD231PD Z5, Z15, Z1
	VMOVUPD Z0, (SI)(AX*8)
	VMOVUPD Z1, (R15)(AX*8)
	ADDQ $8, AX
	JMP  zpcols8

zpcols4:
	MOVQ DX, R14
	ANDQ $-4, R14
	CMPQ AX, R14
	JGE  zptail
	R4PAIR4
	ADDQ $4, AX

zptail:
	CMPQ AX, DX
	JGE  zplast
	R4PAIR1
	INCQ AX
	JMP  zptail

zplast:
	// The entry (r+1, r+1), which row r does not have.
	R4PAIRLAST
	MOVQ c+48(FP), R14
	TESTQ R14, R14
	JZ    zpnext
	MOVQ BX, R13
	SHLQ $3, R13
	LEAQ (R13)(R12*4), R13 // 4·ldp + 8r: the entry r of the rows after P3
	PANELROW(SI)
	ADDQ $8, R13
	PANELROW(R15)

zpnext:
	LEAQ (R15)(R8*1), SI
	ADDQ $2, BX
	JMP  zpair

zrow:
	CMPQ BX, CX
	JGE  zdone
	R4COEFS(BX, Z12, Z13, Z14, Z15)
	MOVQ DX, R14
	ANDQ $-8, R14
	XORQ AX, AX

zcols8:
	CMPQ AX, R14
	JGE  zcols4
	VMOVUPD (SI)(AX*8), Z0
	VFNMADD231PD (DI)(AX*8), Z12, Z0
	VFNMADD231PD (R9)(AX*8), Z13, Z0
	VFNMADD231PD (R10)(AX*8), Z14, Z0
	VFNMADD231PD (R11)(AX*8), Z15, Z0
	VMOVUPD Z0, (SI)(AX*8)
	ADDQ $8, AX
	JMP  zcols8

zcols4:
	MOVQ DX, R14
	ANDQ $-4, R14
	CMPQ AX, R14
	JGE  ztail
	R4ROW4
	ADDQ $4, AX

ztail:
	CMPQ AX, DX
	JGE  zlast
	R4ROW1
	INCQ AX
	JMP  ztail

zlast:
	MOVQ c+48(FP), R14
	TESTQ R14, R14
	JZ    zdone
	MOVQ BX, R13
	SHLQ $3, R13
	LEAQ (R13)(R12*4), R13
	PANELROW(SI)

zdone:
	VZEROUPPER
	RET

// func syrLowerAVX512(n int, a *float64, lda int, x *float64, alpha float64, d *float64, ldd int)
//
// syrLowerAVX in AVX-512: for i < n, with h = alpha·x[i],
// a[i*lda+j] += h·x[j] for j ≤ i, each a fused multiply–add, eight
// columns per iteration, then four, then one; each updated entry stored at
// d[i*ldd+j] too.
TEXT ·syrLowerAVX512(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $3, R8
	MOVQ x+24(FP), DI
	VBROADCASTSD alpha+32(FP), Z15
	MOVQ d+40(FP), R10
	MOVQ ldd+48(FP), R9
	SHLQ $3, R9
	XORQ BX, BX

yrow:
	CMPQ BX, CX
	JGE  ydone
	VBROADCASTSD (DI)(BX*8), Z12
	VMULPD Z15, Z12, Z12
	LEAQ 1(BX), DX
	MOVQ DX, R13
	ANDQ $-8, R13
	MOVQ DX, R14
	ANDQ $-4, R14
	XORQ AX, AX

ycols8:
	CMPQ AX, R13
	JGE  ycols4
	VMOVUPD (SI)(AX*8), Z0
	VFMADD231PD (DI)(AX*8), Z12, Z0
	VMOVUPD Z0, (SI)(AX*8)
	VMOVUPD Z0, (R10)(AX*8)
	ADDQ $8, AX
	JMP  ycols8

ycols4:
	CMPQ AX, R14
	JGE  ytail
	SYR4
	ADDQ $4, AX

ytail:
	CMPQ AX, DX
	JGE  ynext
	SYR1
	INCQ AX
	JMP  ytail

ynext:
	ADDQ R8, SI
	ADDQ R9, R10
	INCQ BX
	JMP  yrow

ydone:
	VZEROUPPER
	RET

// func dots4AVX512(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int, sub int)
//
// dots4AVX in AVX-512: each dot product's two accumulators of four lanes
// (columns 0…3 and 4…7 of each eight) are the two halves of one ZMM
// register while eight columns go per iteration; their upper halves are
// then taken out into Y4…Y7, and the rest is dots4AVX's: four columns,
// the halves summed, the lanes summed, the remaining columns one at a
// time.
TEXT ·dots4AVX512(SB), NOSPLIT, $0-80
	DOTS4ARGS

wrow:
	TESTQ CX, CX
	JZ    wdone
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	XORQ AX, AX

wcols8:
	CMPQ AX, R13
	JGE  whalves
	VMOVUPD (DI)(AX*8), Z8
	VFMADD231PD (SI)(AX*8), Z8, Z0
	VFMADD231PD (R10)(AX*8), Z8, Z1
	VFMADD231PD (R11)(AX*8), Z8, Z2
	VFMADD231PD (R8)(AX*8), Z8, Z3
	ADDQ $8, AX
	JMP  wcols8

whalves:
	VEXTRACTF64X4 $1, Z0, Y4
	VEXTRACTF64X4 $1, Z1, Y5
	VEXTRACTF64X4 $1, Z2, Y6
	VEXTRACTF64X4 $1, Z3, Y7
	CMPQ AX, R14
	JGE  wsum
	DOTS4STEP4(SI, R10, R11, R8)
	ADDQ $4, AX

wsum:
	DOTS4SUM

wtail:
	CMPQ AX, DX
	JGE  wstore
	DOTS4STEP1
	INCQ AX
	JMP  wtail

wstore:
	CMPQ sub+72(FP), $0
	JEQ  wset
	DOTS4SUB

wset:
	DOTS4NEXT
	DECQ CX
	JMP  wrow

wdone:
	VZEROUPPER
	RET

// func dots2x2AVX512(m, k int, b *float64, ldb, bstep int, x *float64, ldx int, y *float64, ldy int)
//
// dots2x2AVX in AVX-512: each dot's two accumulators of four lanes are the
// two halves of one ZMM register while eight columns go per iteration;
// their upper halves are then taken out into Y4…Y7, and the rest is
// dots2x2AVX's.
TEXT ·dots2x2AVX512(SB), NOSPLIT, $0-72
	DOTS2X2ARGS

qrow:
	TESTQ CX, CX
	JZ    qdone
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	XORQ AX, AX

qcols8:
	CMPQ AX, R13
	JGE  qhalves
	VMOVUPD (DI)(AX*8), Z8
	VMOVUPD (R11)(AX*8), Z10
	VMOVUPD (SI)(AX*8), Z12
	VFMADD231PD Z12, Z8, Z0
	VFMADD231PD Z12, Z10, Z2
	VMOVUPD (R10)(AX*8), Z13
	VFMADD231PD Z13, Z8, Z1
	VFMADD231PD Z13, Z10, Z3
	ADDQ $8, AX
	JMP  qcols8

qhalves:
	VEXTRACTF64X4 $1, Z0, Y4
	VEXTRACTF64X4 $1, Z1, Y5
	VEXTRACTF64X4 $1, Z2, Y6
	VEXTRACTF64X4 $1, Z3, Y7
	CMPQ AX, R14
	JGE  qsum
	DOTS2X2STEP4
	ADDQ $4, AX

qsum:
	DOTS4SUM

qtail:
	CMPQ AX, DX
	JGE  qstore
	DOTS2X2STEP1
	INCQ AX
	JMP  qtail

qstore:
	DOTS2X2NEXT
	DECQ CX
	JMP  qrow

qdone:
	VZEROUPPER
	RET
