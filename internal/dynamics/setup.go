package dynamics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// stream names an independent random stream of a point. The values are part
// of the reproducibility contract: changing them changes every result.
type stream uint64

const (
	streamInputBasis       stream = 1 // Haar eigenbasis of C
	streamInitBasis        stream = 2 // Haar eigenbasis of M₀ (init_basis random)
	streamInterneuronFrame stream = 3 // U, the k×n orthonormal frame of W₀
	streamWishart          stream = 4 // W₀ for init_shape wishart
	streamSamples          stream = 5 // online samples g ~ N(0, I)
	streamGainFrame        stream = 6 // the gain network's fixed frame W
)

// samplesStream returns the stream of the online samples of noise k: the
// stream streamSamples for k = 0, and one beyond every named stream (k·256
// above it) for k > 0.
func samplesStream(noise int64) stream { return streamSamples + stream(noise)<<8 }

// splitmix64 is the SplitMix64 finaliser, used to spread (seed, stream)
// pairs over PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newStream returns the PCG generator of stream s for seed.
func newStream(seed int64, s stream) *rand.Rand {
	hi := splitmix64(uint64(seed) ^ splitmix64(uint64(s)))
	lo := splitmix64(hi ^ uint64(s)<<32)
	return rand.New(rand.NewPCG(hi, lo))
}

// gaussian returns a rows×cols matrix of independent N(0, σ²) entries,
// drawn row by row.
func gaussian(rng *rand.Rand, rows, cols int, sigma float64) blas64.General {
	g := newGeneral(rows, cols)
	for i := range g.Data {
		g.Data[i] = sigma * rng.NormFloat64()
	}
	return g
}

// haarFrame returns a rows×cols matrix (rows ≥ cols) with orthonormal columns
// distributed uniformly (Haar) on the Stiefel manifold: the Q factor of a
// Gaussian matrix with the signs fixed so that R has a positive diagonal.
// For rows == cols it is a Haar-random orthogonal matrix.
func haarFrame(rng *rand.Rand, rows, cols int) blas64.General {
	if rows < cols {
		panic("dynamics: haarFrame: fewer rows than columns")
	}
	a := gaussian(rng, rows, cols, 1)
	tau := make([]float64, cols)
	query := make([]float64, 1)
	lapack64.Geqrf(a, tau, query, -1)
	lwork := max(int(query[0]), cols, 1)
	lapack64.Orgqr(a, tau, query, -1)
	lwork = max(lwork, int(query[0]))
	work := make([]float64, lwork)
	lapack64.Geqrf(a, tau, work, lwork)
	sign := make([]float64, cols)
	for j := range sign {
		sign[j] = 1
		if a.Data[j*a.Stride+j] < 0 {
			sign[j] = -1
		}
	}
	lapack64.Orgqr(a, tau, work, lwork)
	for i := 0; i < rows; i++ {
		row := a.Data[i*a.Stride : i*a.Stride+cols]
		for j := range row {
			row[j] *= sign[j]
		}
	}
	return a
}

func identity(n int) blas64.General {
	a := newGeneral(n, n)
	for i := 0; i < n; i++ {
		a.Data[i*a.Stride+i] = 1
	}
	return a
}

// scaleColumns returns a·diag(d).
func scaleColumns(a blas64.General, d []float64) blas64.General {
	out := newGeneral(a.Rows, a.Cols)
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < a.Cols; j++ {
			out.Data[i*out.Stride+j] = a.Data[i*a.Stride+j] * d[j]
		}
	}
	return out
}

// gram returns the full symmetric n×n matrix FFᵀ (trans false) or FᵀF
// (trans true), exactly symmetric.
func gram(f blas64.General, trans bool) blas64.General {
	t, n := blas.NoTrans, f.Rows
	if trans {
		t, n = blas.Trans, f.Cols
	}
	out := newGeneral(n, n)
	blas64.Syrk(t, 1, f, 0, upper(out))
	mirrorUpper(out)
	return out
}

// point is the fixed part of one sweep point: the input covariance and the
// initial synaptic state, built from Params and its seed.
type point struct {
	p    Params
	net  Network
	n, k int
	// s holds the eigenvalues of C, paired with the columns of q.
	s []float64
	q blas64.General
	// b = Q diag(√s), so that C = BBᵀ; cHalf = C^{1/2} = Q diag(√s) Qᵀ.
	b, cHalf blas64.General
	// m0 is M₀ (full symmetric). w0 is W₀ (k×n) with W₀ᵀW₀ = M₀: the
	// wishart shape's draw, or the interneuron network's start. m0Half is
	// V diag(√λ), so that M₀ = m0Half·m0Halfᵀ (nil for the wishart shape).
	m0, w0, m0Half blas64.General
	// start is the network's own initial state, set by its setup (the
	// gain network's frame and gains).
	start any
	// lambda holds the eigenvalues of M₀ paired with the columns of its
	// basis (nil for the Wishart shape).
	lambda []float64
}

// initEigenvalues returns the eigenvalues of M₀ for the identity, logspread
// and spectrum shapes: μ, μ·spread^(t−½) with t evenly spaced in [0, 1], or
// μ·InitSpectrum.
func initEigenvalues(p Params) []float64 {
	out := make([]float64, p.N)
	for i := range out {
		out[i] = p.InitScale
	}
	if p.InitShape == ShapeLogSpread && p.N > 1 {
		for i := range out {
			t := float64(i) / float64(p.N-1)
			out[i] = p.InitScale * math.Pow(p.InitSpread, t-0.5)
		}
	}
	if p.InitShape == ShapeSpectrum {
		for i, v := range p.InitSpectrum.withDefaults().Eigenvalues(p.N) {
			out[i] = p.InitScale * v
		}
	}
	return out
}

// newPoint builds the point of the defaulted, valid p: C and M₀ from the
// shared parameters, then the network's own initial state (Network.setup).
func newPoint(p Params) *point {
	n, k := p.N, p.K
	net, ok := Lookup(p.Algorithm)
	if !ok {
		panic(fmt.Sprintf("dynamics: newPoint: unknown network %q (Validate refuses it)", p.Algorithm))
	}
	pt := &point{p: p, net: net, n: n, k: k, s: p.InputSpectrum.Eigenvalues(n)}
	pt.setM0()
	net.setup(pt)
	return pt
}

// setM0 sets the bases of C and M₀, C^{1/2}, and M₀ (with W₀ for the
// wishart shape).
func (pt *point) setM0() {
	p, n, k := pt.p, pt.n, pt.k

	if p.InputBasis == BasisRandom {
		pt.q = haarFrame(newStream(p.Seed, streamInputBasis), n, n)
	} else {
		pt.q = identity(n)
	}
	pt.setC()

	if p.InitShape == ShapeWishart {
		pt.w0 = gaussian(newStream(p.Seed, streamWishart), k, n, math.Sqrt(p.InitScale/float64(k)))
		pt.m0 = gram(pt.w0, true)
		return
	}

	pt.lambda = initEigenvalues(p)
	v := pt.q
	if p.InitBasis == BasisRandom {
		v = haarFrame(newStream(p.Seed, streamInitBasis), n, n)
	}
	sqrtL := make([]float64, n)
	for i, l := range pt.lambda {
		sqrtL[i] = math.Sqrt(l)
	}
	pt.m0Half = scaleColumns(v, sqrtL) // V diag(√λ)
	pt.m0 = gram(pt.m0Half, false)
}

// m0InBasisOfC returns M̃₀ = QᵀM₀Q, the initial state of the flow, which
// works in the eigenbasis Q of C (see flowSystem). In the aligned case it is
// exactly diag(λ); with the identity input basis it is M₀.
func (pt *point) m0InBasisOfC() blas64.General {
	n := pt.n
	out := newGeneral(n, n)
	switch {
	case pt.lambda != nil && pt.p.InitBasis == BasisAligned:
		for i, l := range pt.lambda {
			out.Data[i*n+i] = l
		}
	case pt.p.InputBasis == BasisIdentity:
		copy(out.Data, pt.m0.Data)
	default:
		tmp := newGeneral(n, n)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, pt.q, pt.m0, 0, tmp)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, tmp, pt.q, 0, out)
		symmetrize(out)
	}
	return out
}

// fromBasisOfC returns M = QM̃Qᵀ for the state y = M̃ of the flow, as a new
// full symmetric matrix.
func (pt *point) fromBasisOfC(y []float64) blas64.General {
	n := pt.n
	out := newGeneral(n, n)
	if pt.p.InputBasis == BasisIdentity {
		copy(out.Data, y[:n*n])
		return out
	}
	m := blas64.General{Rows: n, Cols: n, Stride: n, Data: y}
	tmp := newGeneral(n, n)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, pt.q, m, 0, tmp)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, tmp, pt.q, 0, out)
	symmetrize(out)
	return out
}

// symmetrize replaces the square a by (a + aᵀ)/2, exactly symmetric.
func symmetrize(a blas64.General) {
	n := a.Rows
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := 0.5 * (a.Data[i*a.Stride+j] + a.Data[j*a.Stride+i])
			a.Data[i*a.Stride+j], a.Data[j*a.Stride+i] = v, v
		}
	}
}
