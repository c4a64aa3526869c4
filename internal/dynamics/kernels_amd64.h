// Macros shared by kernels_amd64.s and kernels_avx512_amd64.s: one
// definition of each step that both the AVX2 and the AVX-512 form of a
// kernel take, so that the two forms do the same operations.

// TRANSPOSE4 transposes the 4×4 block of doubles in rows a0…a3 into
// columns: o0 gets the first entries of a0…a3, o1 the second, o2 the
// third, o3 the fourth. t0…t3 are scratch; an output may reuse an input or
// a scratch register that the steps before it have consumed (o0 and o2
// are written before o1 and o3).
#define TRANSPOSE4(a0, a1, a2, a3, t0, t1, t2, t3, o0, o1, o2, o3) \
	VUNPCKLPD a1, a0, t0; \
	VUNPCKHPD a1, a0, t1; \
	VUNPCKLPD a3, a2, t2; \
	VUNPCKHPD a3, a2, t3; \
	VPERM2F128 $0x20, t2, t0, o0; \
	VPERM2F128 $0x31, t2, t0, o2; \
	VPERM2F128 $0x20, t3, t1, o1; \
	VPERM2F128 $0x31, t3, t1, o3

// ZERO8 clears the eight accumulators Y0…Y7 of the dot-product kernels.
#define ZERO8 \
	VXORPD Y0, Y0, Y0; \
	VXORPD Y1, Y1, Y1; \
	VXORPD Y2, Y2, Y2; \
	VXORPD Y3, Y3, Y3; \
	VXORPD Y4, Y4, Y4; \
	VXORPD Y5, Y5, Y5; \
	VXORPD Y6, Y6, Y6; \
	VXORPD Y7, Y7, Y7

// LANESUM sums the four lanes of y into the low double of x, the X
// register of y, as (l0 + l2) + (l1 + l3); it uses X8.
#define LANESUM(y, x) \
	VEXTRACTF128 $1, y, X8; \
	VADDPD X8, x, x; \
	VPERMILPD $1, x, X8; \
	VADDSD X8, x, x

// PANELROW is the panel step of panel4AVX on the row at row, for
// rank4LowerAVX: R14 the ten coefficients, DI, R9, R10, R11 the rows
// P0…P3, R13 the byte offset from them of the transposed entry; it uses
// X0…X3 only.
#define PANELROW(row) \
	VMOVSD 0(row), X0; \
	VMULSD 0(R14), X0, X0; \
	VMOVSD 8(row), X1; \
	VFNMADD231SD 32(R14), X0, X1; \
	VMULSD 8(R14), X1, X1; \
	VMOVSD 16(row), X2; \
	VFNMADD231SD 40(R14), X0, X2; \
	VFNMADD231SD 48(R14), X1, X2; \
	VMULSD 16(R14), X2, X2; \
	VMOVSD 24(row), X3; \
	VFNMADD231SD 56(R14), X0, X3; \
	VFNMADD231SD 64(R14), X1, X3; \
	VFNMADD231SD 72(R14), X2, X3; \
	VMULSD 24(R14), X3, X3; \
	VMOVSD X0, 0(row); \
	VMOVSD X1, 8(row); \
	VMOVSD X2, 16(row); \
	VMOVSD X3, 24(row); \
	VMOVSD X0, (DI)(R13*1); \
	VMOVSD X1, (R9)(R13*1); \
	VMOVSD X2, (R10)(R13*1); \
	VMOVSD X3, (R11)(R13*1)

// The steps of rank4LowerAVX and rank4LowerAVX512 narrower than a ZMM
// register, on their common registers: SI and R15 the rows r and r+1 of
// a, DI, R9, R10, R11 the rows P0…P3 of p, AX the column; the pair's
// coefficients in Y8…Y11 (row r) and Y12…Y15 (row r+1), a single row's
// in Y12…Y15.

// R4ARGS loads the arguments of rank4LowerAVX and rank4LowerAVX512: CX m,
// BX the row r0, SI the row r0 of a, R8 lda in bytes, DI, R9, R10, R11 the
// rows P0…P3, R12 ldp in bytes.
#define R4ARGS \
	MOVQ m+0(FP), CX; \
	MOVQ r0+8(FP), BX; \
	MOVQ a+16(FP), SI; \
	MOVQ lda+24(FP), R8; \
	SHLQ $3, R8; \
	MOVQ p+32(FP), DI; \
	MOVQ ldp+40(FP), R12; \
	SHLQ $3, R12; \
	LEAQ (DI)(R12*1), R9; \
	LEAQ (R9)(R12*1), R10; \
	LEAQ (R10)(R12*1), R11; \
	MOVQ BX, AX; \
	IMULQ R8, AX; \
	ADDQ AX, SI

// R4COEFS broadcasts the coefficients P0[i]…P3[i] of the row i (a register)
// into c0…c3.
#define R4COEFS(i, c0, c1, c2, c3) \
	VBROADCASTSD (DI)(i*8), c0; \
	VBROADCASTSD (R9)(i*8), c1; \
	VBROADCASTSD (R10)(i*8), c2; \
	VBROADCASTSD (R11)(i*8), c3

// R4PAIR4 updates four columns of both rows of a pair.
#define R4PAIR4 \
	VMOVUPD (DI)(AX*8), Y2; \
	VMOVUPD (R9)(AX*8), Y3; \
	VMOVUPD (R10)(AX*8), Y4; \
	VMOVUPD (R11)(AX*8), Y5; \
	VMOVUPD (SI)(AX*8), Y0; \
	VMOVUPD (R15)(AX*8), Y1; \
	VFNMADD231PD Y2, Y8, Y0; \
	VFNMADD231PD Y2, Y12, Y1; \
	VFNMADD231PD Y3, Y9, Y0; \
	VFNMADD231PD Y3, Y13, Y1; \
	VFNMADD231PD Y4, Y10, Y0; \
	VFNMADD231PD Y4, Y14, Y1; \
	VFNMADD231PD Y5, Y11, Y0; \
	VFNMADD231PD Y5, Y15, Y1; \
	VMOVUPD Y0, (SI)(AX*8); \
	VMOVUPD Y1, (R15)(AX*8)

// R4PAIR1 updates one column of both rows of a pair.
#define R4PAIR1 \
	VMOVSD (DI)(AX*8), X2; \
	VMOVSD (R9)(AX*8), X3; \
	VMOVSD (R10)(AX*8), X4; \
	VMOVSD (R11)(AX*8), X5; \
	VMOVSD (SI)(AX*8), X0; \
	VMOVSD (R15)(AX*8), X1; \
	VFNMADD231SD X2, X8, X0; \
	VFNMADD231SD X2, X12, X1; \
	VFNMADD231SD X3, X9, X0; \
	VFNMADD231SD X3, X13, X1; \
	VFNMADD231SD X4, X10, X0; \
	VFNMADD231SD X4, X14, X1; \
	VFNMADD231SD X5, X11, X0; \
	VFNMADD231SD X5, X15, X1; \
	VMOVSD X0, (SI)(AX*8); \
	VMOVSD X1, (R15)(AX*8)

// R4PAIRLAST updates the entry (r+1, r+1), at column AX of row r+1,
// which row r does not have.
#define R4PAIRLAST \
	VMOVSD (R15)(AX*8), X1; \
	VFNMADD231SD (DI)(AX*8), X12, X1; \
	VFNMADD231SD (R9)(AX*8), X13, X1; \
	VFNMADD231SD (R10)(AX*8), X14, X1; \
	VFNMADD231SD (R11)(AX*8), X15, X1; \
	VMOVSD X1, (R15)(AX*8)

// R4ROW4 updates four columns of a single row.
#define R4ROW4 \
	VMOVUPD (SI)(AX*8), Y0; \
	VFNMADD231PD (DI)(AX*8), Y12, Y0; \
	VFNMADD231PD (R9)(AX*8), Y13, Y0; \
	VFNMADD231PD (R10)(AX*8), Y14, Y0; \
	VFNMADD231PD (R11)(AX*8), Y15, Y0; \
	VMOVUPD Y0, (SI)(AX*8)

// R4ROW1 updates one column of a single row.
#define R4ROW1 \
	VMOVSD (SI)(AX*8), X0; \
	VFNMADD231SD (DI)(AX*8), X12, X0; \
	VFNMADD231SD (R9)(AX*8), X13, X0; \
	VFNMADD231SD (R10)(AX*8), X14, X0; \
	VFNMADD231SD (R11)(AX*8), X15, X0; \
	VMOVSD X0, (SI)(AX*8)

// The steps of syrLowerAVX and syrLowerAVX512 narrower than a ZMM
// register: SI the row of a, R10 the row of d, DI x, AX the column, the
// row's coefficient h in Y12.

// SYR4 updates four columns of the row and stores them in d too.
#define SYR4 \
	VMOVUPD (SI)(AX*8), Y0; \
	VFMADD231PD (DI)(AX*8), Y12, Y0; \
	VMOVUPD Y0, (SI)(AX*8); \
	VMOVUPD Y0, (R10)(AX*8)

// SYR1 updates one column of the row and stores it in d too.
#define SYR1 \
	VMOVSD (SI)(AX*8), X0; \
	VFMADD231SD (DI)(AX*8), X12, X0; \
	VMOVSD X0, (SI)(AX*8); \
	VMOVSD X0, (R10)(AX*8)

// DOTS4ARGS loads the arguments of dots4AVX and dots4AVX512: CX m, DX k,
// SI, R10, R11, R8 the four rows of b, R15 bstep, DI x, R12 ldx, BX y, R9
// ldy (strides in bytes), R13 and R14 k rounded down to eight and four.
#define DOTS4ARGS \
	MOVQ m+0(FP), CX; \
	MOVQ k+8(FP), DX; \
	MOVQ b+16(FP), SI; \
	MOVQ ldb+24(FP), R8; \
	SHLQ $3, R8; \
	MOVQ bstep+32(FP), R15; \
	SHLQ $3, R15; \
	MOVQ x+40(FP), DI; \
	MOVQ ldx+48(FP), R12; \
	SHLQ $3, R12; \
	MOVQ y+56(FP), BX; \
	MOVQ ldy+64(FP), R9; \
	SHLQ $3, R9; \
	MOVQ DX, R13; \
	ANDQ $-8, R13; \
	MOVQ DX, R14; \
	ANDQ $-4, R14; \
	LEAQ (SI)(R8*1), R10; \
	LEAQ (R10)(R8*1), R11; \
	LEAQ (R11)(R8*1), R8

// DOTS4STEP1 adds the column AX of dots4's rows times x into X0…X3.
#define DOTS4STEP1 \
	VMOVSD (DI)(AX*8), X8; \
	VFMADD231SD (SI)(AX*8), X8, X0; \
	VFMADD231SD (R10)(AX*8), X8, X1; \
	VFMADD231SD (R11)(AX*8), X8, X2; \
	VFMADD231SD (R8)(AX*8), X8, X3

// DOTS4SUB turns the sums X0…X3 into y[c] − sum (dots4's sub ≠ 0).
#define DOTS4SUB \
	VMOVSD (BX), X8; \
	VSUBSD X0, X8, X0; \
	VMOVSD 8(BX), X8; \
	VSUBSD X1, X8, X1; \
	VMOVSD 16(BX), X8; \
	VSUBSD X2, X8, X2; \
	VMOVSD 24(BX), X8; \
	VSUBSD X3, X8, X3

// DOTS4NEXT stores X0…X3 into y and moves x, y and the rows of b on to
// the next dots4 row.
#define DOTS4NEXT \
	VMOVSD X0, (BX); \
	VMOVSD X1, 8(BX); \
	VMOVSD X2, 16(BX); \
	VMOVSD X3, 24(BX); \
	ADDQ R12, DI; \
	ADDQ R9, BX; \
	ADDQ R15, SI; \
	ADDQ R15, R10; \
	ADDQ R15, R11; \
	ADDQ R15, R8

// DOTS2X2ARGS loads the arguments of dots2x2AVX and dots2x2AVX512: CX m,
// DX k, SI and R10 the pair of rows of b, R15 bstep, DI and R11 the two
// rows of x, BX and R9 the two rows of y (strides in bytes), R13 and R14 k
// rounded down to eight and four.
#define DOTS2X2ARGS \
	MOVQ m+0(FP), CX; \
	MOVQ k+8(FP), DX; \
	MOVQ b+16(FP), SI; \
	MOVQ ldb+24(FP), R8; \
	SHLQ $3, R8; \
	MOVQ bstep+32(FP), R15; \
	SHLQ $3, R15; \
	MOVQ x+40(FP), DI; \
	MOVQ ldx+48(FP), R11; \
	SHLQ $3, R11; \
	ADDQ DI, R11; \
	MOVQ y+56(FP), BX; \
	MOVQ ldy+64(FP), R9; \
	SHLQ $3, R9; \
	ADDQ BX, R9; \
	MOVQ DX, R13; \
	ANDQ $-8, R13; \
	MOVQ DX, R14; \
	ANDQ $-4, R14; \
	LEAQ (SI)(R8*1), R10

// DOTS2X2STEP4 adds four columns, from AX, of the four dots of dots2x2
// into Y0…Y3: (b0, x0), (b1, x0), (b0, x1), (b1, x1).
#define DOTS2X2STEP4 \
	VMOVUPD (DI)(AX*8), Y8; \
	VMOVUPD (R11)(AX*8), Y10; \
	VMOVUPD (SI)(AX*8), Y12; \
	VFMADD231PD Y12, Y8, Y0; \
	VFMADD231PD Y12, Y10, Y2; \
	VMOVUPD (R10)(AX*8), Y12; \
	VFMADD231PD Y12, Y8, Y1; \
	VFMADD231PD Y12, Y10, Y3

// DOTS2X2STEP1 adds the column AX of the four dots of dots2x2 into
// X0…X3.
#define DOTS2X2STEP1 \
	VMOVSD (DI)(AX*8), X8; \
	VMOVSD (R11)(AX*8), X10; \
	VMOVSD (SI)(AX*8), X12; \
	VFMADD231SD X12, X8, X0; \
	VFMADD231SD X12, X10, X2; \
	VMOVSD (R10)(AX*8), X12; \
	VFMADD231SD X12, X8, X1; \
	VFMADD231SD X12, X10, X3

// DOTS2X2NEXT stores the four dots X0…X3 of dots2x2 and moves on to the
// next pair of rows of b.
#define DOTS2X2NEXT \
	VMOVSD X0, (BX); \
	VMOVSD X1, 8(BX); \
	VMOVSD X2, (R9); \
	VMOVSD X3, 8(R9); \
	ADDQ $16, BX; \
	ADDQ $16, R9; \
	ADDQ R15, SI; \
	ADDQ R15, R10

// DOTS4SUM ends the four dot products of dots4AVX, dots4AVX512 and
// solveLowerAVX's blocks: the halves Y4…Y7 added to Y0…Y3, then the lanes
// of each summed into X0…X3.
#define DOTS4SUM \
	VADDPD Y4, Y0, Y0; \
	VADDPD Y5, Y1, Y1; \
	VADDPD Y6, Y2, Y2; \
	VADDPD Y7, Y3, Y3; \
	LANESUM(Y0, X0); \
	LANESUM(Y1, X1); \
	LANESUM(Y2, X2); \
	LANESUM(Y3, X3)

// DOTS4STEP4 adds four columns, from AX, of the rows r0…r3 times x (DI)
// into the accumulators Y0…Y3.
#define DOTS4STEP4(r0, r1, r2, r3) \
	VMOVUPD (DI)(AX*8), Y8; \
	VFMADD231PD (r0)(AX*8), Y8, Y0; \
	VFMADD231PD (r1)(AX*8), Y8, Y1; \
	VFMADD231PD (r2)(AX*8), Y8, Y2; \
	VFMADD231PD (r3)(AX*8), Y8, Y3

// DOTS4STEP8 adds eight columns, from AX, of the rows r0…r3 times x (DI):
// the first four into Y0…Y3, the next four into Y4…Y7.
#define DOTS4STEP8(r0, r1, r2, r3) \
	VMOVUPD (DI)(AX*8), Y8; \
	VMOVUPD 32(DI)(AX*8), Y9; \
	VFMADD231PD (r0)(AX*8), Y8, Y0; \
	VFMADD231PD 32(r0)(AX*8), Y9, Y4; \
	VFMADD231PD (r1)(AX*8), Y8, Y1; \
	VFMADD231PD 32(r1)(AX*8), Y9, Y5; \
	VFMADD231PD (r2)(AX*8), Y8, Y2; \
	VFMADD231PD 32(r2)(AX*8), Y9, Y6; \
	VFMADD231PD (r3)(AX*8), Y8, Y3; \
	VFMADD231PD 32(r3)(AX*8), Y9, Y7
