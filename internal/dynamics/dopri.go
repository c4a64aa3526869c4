package dynamics

import "math"

// This file implements the Dormand–Prince 5(4) embedded Runge–Kutta pair
// with a PI step-size controller and the fourth-order continuous extension
// (dense output) of Dormand and Prince, for autonomous systems y' = f(y) on a
// flat []float64 state. The coefficients are the published ones (Dormand &
// Prince 1980; Hairer, Nørsett & Wanner, Solving ODEs I, §II.5–6).

// Butcher tableau of DOPRI5.
const (
	dpC2 = 1.0 / 5
	dpC3 = 3.0 / 10
	dpC4 = 4.0 / 5
	dpC5 = 8.0 / 9

	dpA21 = 1.0 / 5
	dpA31 = 3.0 / 40
	dpA32 = 9.0 / 40
	dpA41 = 44.0 / 45
	dpA42 = -56.0 / 15
	dpA43 = 32.0 / 9
	dpA51 = 19372.0 / 6561
	dpA52 = -25360.0 / 2187
	dpA53 = 64448.0 / 6561
	dpA54 = -212.0 / 729
	dpA61 = 9017.0 / 3168
	dpA62 = -355.0 / 33
	dpA63 = 46732.0 / 5247
	dpA64 = 49.0 / 176
	dpA65 = -5103.0 / 18656
	// The fifth-order weights (row 7 of the tableau, FSAL).
	dpA71 = 35.0 / 384
	dpA73 = 500.0 / 1113
	dpA74 = 125.0 / 192
	dpA75 = -2187.0 / 6784
	dpA76 = 11.0 / 84

	// Error weights: fifth-order minus fourth-order weights.
	dpE1 = 71.0 / 57600
	dpE3 = -71.0 / 16695
	dpE4 = 71.0 / 1920
	dpE5 = -17253.0 / 339200
	dpE6 = 22.0 / 525
	dpE7 = -1.0 / 40

	// Dense output weights.
	dpD1 = -12715105075.0 / 11282082432
	dpD3 = 87487479700.0 / 32700410799
	dpD4 = -10690763975.0 / 1880347072
	dpD5 = 701980252875.0 / 199316789632
	dpD6 = -1453857185.0 / 822651844
	dpD7 = 69997945.0 / 29380423
)

// Step-size control parameters (Hairer's DOPRI5 defaults).
const (
	dpSafety = 0.9
	dpFacMin = 0.2  // largest shrink per step
	dpFacMax = 10.0 // largest growth per step
	dpBeta   = 0.04 // PI controller: weight of the previous error
	dpAlpha  = 0.2 - 0.75*dpBeta
)

// rhsFunc evaluates dy = f(y). It returns false when f is undefined at y
// (here: M not positive definite); the integrator then shrinks the step.
type rhsFunc func(y, dy []float64) bool

// stepStatus is the outcome of dopri5.advance.
type stepStatus int

const (
	stepAccepted stepStatus = iota
	// stepUndefined: the step size underflowed while f kept failing.
	stepUndefined
	// stepNonFinite: the step size underflowed on non-finite error
	// estimates or large errors.
	stepNonFinite
	// stepHalted: halt reported true after f failed (the run was
	// cancelled).
	stepHalted
)

// dopri5 is the integrator state. After a successful advance, y holds the
// new state at t, and yOld, k and hLast describe the step just taken, so that
// dense can interpolate inside it until the next call to advance.
type dopri5 struct {
	f          rhsFunc
	rtol, atol float64
	// halt, when set, is asked after every failed evaluation of f whether
	// to give up at once (stepHalted) instead of shrinking the step.
	halt func() bool

	t, h    float64
	y, yOld []float64
	k       [7][]float64
	stage   []float64
	// vec makes attempt combine the stages with gemvT (the vector
	// kernels, from dim = vecMinStages on): the k are then the rows of
	// kRows in order (advance copies k[6] into k[0] instead of swapping
	// them), and errs holds the error estimate.
	vec       bool
	kRows     []float64
	errs      []float64
	errPrev   float64
	rejected  bool // the last attempt was rejected
	fsal      bool // k[6] holds f(y) for the next step
	hLast     float64
	evals     int64
	accepted  int64
	rejects   int64
	undefined bool // the last rejection came from f failing
}

func newDopri5(f rhsFunc, dim int, rtol, atol float64) *dopri5 {
	d := &dopri5{f: f, rtol: rtol, atol: atol, errPrev: 1e-4}
	d.y = make([]float64, dim)
	d.yOld = make([]float64, dim)
	d.stage = make([]float64, dim)
	d.vec = useVec(dim, vecMinStages)
	if d.vec {
		d.kRows = make([]float64, 7*dim)
		d.errs = make([]float64, dim)
		for i := range d.k {
			d.k[i] = d.kRows[i*dim : (i+1)*dim : (i+1)*dim]
		}
		return d
	}
	for i := range d.k {
		d.k[i] = make([]float64, dim)
	}
	return d
}

// start sets the initial state and picks the first step size. It returns
// false when f is undefined at y0.
func (d *dopri5) start(t0 float64, y0 []float64, hMax float64) bool {
	d.t = t0
	copy(d.y, y0)
	d.evals++
	if !d.f(d.y, d.k[0]) {
		return false
	}
	d.h = d.initialStep(hMax)
	return true
}

// initialStep is Hairer's starting step heuristic: a step with
// ‖h·f‖ ≈ 0.01‖y‖, refined by an estimate of the second derivative.
func (d *dopri5) initialStep(hMax float64) float64 {
	var dnf, dny float64
	for i, y := range d.y {
		sk := d.atol + d.rtol*math.Abs(y)
		dnf += (d.k[0][i] / sk) * (d.k[0][i] / sk)
		dny += (y / sk) * (y / sk)
	}
	dim := float64(len(d.y))
	dnf, dny = math.Sqrt(dnf/dim), math.Sqrt(dny/dim)
	h := 1e-6
	if dnf > 1e-10 && dny > 1e-10 {
		h = 0.01 * dny / dnf
	}
	h = math.Min(h, hMax)
	for range 40 {
		for i := range d.stage {
			d.stage[i] = d.y[i] + h*d.k[0][i]
		}
		d.evals++
		if d.f(d.stage, d.k[1]) {
			break
		}
		h *= 0.1
	}
	var der2 float64
	for i, y := range d.y {
		sk := d.atol + d.rtol*math.Abs(y)
		v := (d.k[1][i] - d.k[0][i]) / sk
		der2 += v * v
	}
	der2 = math.Sqrt(der2/dim) / h
	der12 := math.Max(der2, dnf)
	h1 := math.Max(1e-6, h*1e-3)
	if der12 > 1e-15 {
		h1 = powSmall(0.01/der12, 1.0/5)
	}
	out := math.Min(math.Min(100*h, h1), hMax)
	if !(out > 0) {
		out = h
	}
	return out
}

// advance takes one accepted step towards tEnd (never past it), retrying
// with smaller steps after rejections.
func (d *dopri5) advance(tEnd float64) stepStatus {
	if d.fsal {
		if d.vec {
			copy(d.k[0], d.k[6])
		} else {
			d.k[0], d.k[6] = d.k[6], d.k[0]
		}
		d.fsal = false
	}
	for {
		h := d.h
		last := false
		if d.t+h >= tEnd || d.t+1.01*h >= tEnd {
			h = tEnd - d.t
			last = true
		}
		if h <= 16*epsilon*math.Abs(d.t) || h < 1e-300 {
			if d.undefined {
				return stepUndefined
			}
			return stepNonFinite
		}
		errNorm, ok := d.attempt(h)
		if !ok && d.halt != nil && d.halt() {
			return stepHalted
		}
		if !ok {
			d.undefined = true
			d.rejects++
			d.rejected = true
			d.h = h * 0.25
			continue
		}
		if !(errNorm <= 1) {
			d.undefined = false
			d.rejects++
			d.rejected = true
			if math.IsNaN(errNorm) || math.IsInf(errNorm, 0) {
				d.h = h * 0.25
			} else {
				d.h = h / math.Min(1/dpFacMin, powSmall(errNorm, dpAlpha)/dpSafety)
			}
			continue
		}
		// Accepted.
		d.undefined = false
		d.y, d.yOld = d.yOld, d.y
		copy(d.y, d.stage)
		d.hLast = h
		if last {
			d.t = tEnd
		} else {
			d.t += h
		}
		fac := powSmall(errNorm, dpAlpha) / powSmall(d.errPrev, dpBeta) / dpSafety
		fac = math.Max(1/dpFacMax, math.Min(1/dpFacMin, fac))
		hNew := h / fac
		if d.rejected {
			hNew = math.Min(hNew, h)
		}
		d.errPrev = math.Max(errNorm, 1e-4)
		d.rejected = false
		d.h = hNew
		d.accepted++
		d.fsal = true
		return stepAccepted
	}
}

const epsilon = 0x1p-52

// attempt computes the stages of a step of size h from d.y, leaving the
// fifth-order solution in d.stage and f of it in d.k[6]. It returns the
// scaled RMS error estimate, and false when f failed at a stage.
func (d *dopri5) attempt(h float64) (float64, bool) {
	if d.vec {
		return d.attemptVec(h)
	}
	y, s := d.y, d.stage
	k1, k2, k3, k4, k5, k6, k7 := d.k[0], d.k[1], d.k[2], d.k[3], d.k[4], d.k[5], d.k[6]
	for i := range s {
		s[i] = y[i] + h*dpA21*k1[i]
	}
	d.evals++
	if !d.f(s, k2) {
		return 0, false
	}
	for i := range s {
		s[i] = y[i] + h*(dpA31*k1[i]+dpA32*k2[i])
	}
	d.evals++
	if !d.f(s, k3) {
		return 0, false
	}
	for i := range s {
		s[i] = y[i] + h*(dpA41*k1[i]+dpA42*k2[i]+dpA43*k3[i])
	}
	d.evals++
	if !d.f(s, k4) {
		return 0, false
	}
	for i := range s {
		s[i] = y[i] + h*(dpA51*k1[i]+dpA52*k2[i]+dpA53*k3[i]+dpA54*k4[i])
	}
	d.evals++
	if !d.f(s, k5) {
		return 0, false
	}
	for i := range s {
		s[i] = y[i] + h*(dpA61*k1[i]+dpA62*k2[i]+dpA63*k3[i]+dpA64*k4[i]+dpA65*k5[i])
	}
	d.evals++
	if !d.f(s, k6) {
		return 0, false
	}
	for i := range s {
		s[i] = y[i] + h*(dpA71*k1[i]+dpA73*k3[i]+dpA74*k4[i]+dpA75*k5[i]+dpA76*k6[i])
	}
	d.evals++
	if !d.f(s, k7) {
		return 0, false
	}
	var sum float64
	for i := range s {
		e := h * (dpE1*k1[i] + dpE3*k3[i] + dpE4*k4[i] + dpE5*k5[i] + dpE6*k6[i] + dpE7*k7[i])
		sk := d.atol + d.rtol*maxAbs2(y[i], s[i])
		sum += (e / sk) * (e / sk)
	}
	return math.Sqrt(sum / float64(len(s))), true
}

// attemptVec is attempt with each stage y + h·Σ aⱼkⱼ, and the error
// estimate h·Σ eⱼkⱼ, as gemvT over the rows of kRows (the coefficients
// h·aⱼ, in the order of j, each a fused multiply–add), and the error norm
// summed in four lanes.
func (d *dopri5) attemptVec(h float64) (float64, bool) {
	y, s, dim := d.y, d.stage, len(d.y)
	k := d.kRows
	row := func(j int) []float64 { return k[j*dim:] }
	// stage sets s = y + Σ c[j]·k[first+j].
	stage := func(first int, c ...float64) {
		copy(s, y)
		gemvT(len(c), dim, row(first), dim, c, s, false)
	}
	steps := []struct {
		first int
		c     []float64
	}{
		{0, []float64{h * dpA21}},
		{0, []float64{h * dpA31, h * dpA32}},
		{0, []float64{h * dpA41, h * dpA42, h * dpA43}},
		{0, []float64{h * dpA51, h * dpA52, h * dpA53, h * dpA54}},
		{0, []float64{h * dpA61, h * dpA62, h * dpA63, h * dpA64, h * dpA65}},
	}
	for j, st := range steps {
		stage(st.first, st.c...)
		d.evals++
		if !d.f(s, d.k[j+1]) {
			return 0, false
		}
	}
	// The fifth-order solution (no k2 term).
	stage(0, h*dpA71)
	c7 := [4]float64{h * dpA73, h * dpA74, h * dpA75, h * dpA76}
	gemvT(4, dim, row(2), dim, c7[:], s, false)
	d.evals++
	if !d.f(s, d.k[6]) {
		return 0, false
	}
	e := d.errs
	clear(e)
	c1 := [1]float64{h * dpE1}
	gemvT(1, dim, row(0), dim, c1[:], e, false)
	ce := [5]float64{h * dpE3, h * dpE4, h * dpE5, h * dpE6, h * dpE7}
	gemvT(5, dim, row(2), dim, ce[:], e, false)
	var sum [4]float64
	i := 0
	for ; i+4 <= dim; i += 4 {
		for l := range 4 {
			r := e[i+l] / (d.atol + d.rtol*maxAbs2(y[i+l], s[i+l]))
			sum[l] += r * r
		}
	}
	for ; i < dim; i++ {
		r := e[i] / (d.atol + d.rtol*maxAbs2(y[i], s[i]))
		sum[0] += r * r
	}
	return math.Sqrt(((sum[0] + sum[2]) + (sum[1] + sum[3])) / float64(dim)), true
}

// dense writes into out the continuous extension at t = tOld + θ·hLast,
// θ ∈ [0, 1], inside the step just accepted by advance.
func (d *dopri5) dense(theta float64, out []float64) {
	h := d.hLast
	k1, k3, k4, k5, k6, k7 := d.k[0], d.k[2], d.k[3], d.k[4], d.k[5], d.k[6]
	if !d.fsal {
		panic("dynamics: dopri5.dense called outside an accepted step")
	}
	th1 := 1 - theta
	for i := range out {
		y0 := d.yOld[i]
		diff := d.y[i] - y0
		bspl := h*k1[i] - diff
		r4 := diff - h*k7[i] - bspl
		r5 := h * (dpD1*k1[i] + dpD3*k3[i] + dpD4*k4[i] + dpD5*k5[i] + dpD6*k6[i] + dpD7*k7[i])
		out[i] = y0 + theta*(diff+th1*(bspl+theta*(r4+th1*r5)))
	}
}

// tOld is the start time of the step just accepted.
func (d *dopri5) tOld() float64 { return d.t - d.hLast }

// maxAbs2 returns max(|a|, |b|), NaN when either is NaN: math.Max(math.Abs(a),
// math.Abs(b)) without the call (math.Max is not inlined on amd64), for the
// error norm's inner loop.
func maxAbs2(a, b float64) float64 {
	a, b = math.Abs(a), math.Abs(b)
	if b > a || b != b {
		return b
	}
	return a
}

// powSmall returns math.Pow(x, y) for 0 < y < 0.5 and x ≠ −∞, bit for
// bit: for such y math.Pow computes exactly Exp(y·Log(x)) (0, 1, +∞, NaN
// and negative x come out the same), after a case analysis and a scaling
// by 2⁰ that were a quarter of its time, and 2 % of a flow point with
// n = 2 (TestPowSmallIsMathPow). The step control's errors are never
// negative.
func powSmall(x, y float64) float64 {
	return math.Exp(y * math.Log(x))
}
