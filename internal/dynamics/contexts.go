package dynamics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// BasisPrevious, a value of Context.InputBasis, keeps the eigenbasis of the
// context before (for the first switch, the point's InputBasis).
const BasisPrevious = "previous"

// MaxContexts bounds the number of contexts of a point.
const MaxContexts = 1000

// Context is one input covariance presented after the point's own
// (docs/model.md, "Statistical adaptation: switching contexts"). The
// point's InputSpectrum and InputBasis are its first context, presented
// for Horizon; every Context in Params.Contexts follows in turn, for its
// Duration, the network carrying its state across each switch.
type Context struct {
	// InputSpectrum holds the eigenvalues of this context's C. Default:
	// the spectrum of the context before.
	InputSpectrum Spectrum `json:"input_spectrum,omitzero"`
	// InputBasis is the eigenbasis of this context's C: "identity",
	// "random" (Haar, drawn from Seed with a stream of the context's own)
	// or "previous" (that of the context before). Default "previous".
	InputBasis string `json:"input_basis,omitempty"`
	// Duration is how long the context is presented, in the units of
	// Horizon: a time in flow mode, a number of steps online. Required,
	// > 0.
	Duration float64 `json:"duration"`
}

// ContextResult is the outcome of one context of a point with contexts.
// Context 0 is the point's own input covariance (from t = 0), context
// i ≥ 1 is Params.Contexts[i−1].
type ContextResult struct {
	// Index is the context's number, 0 for the point's own C.
	Index int `json:"context"`
	// Start is the time of the switch to the context (0 for context 0);
	// StartStep its learning step online (the accepted steps before it
	// in flow mode).
	Start     float64 `json:"start"`
	StartStep int64   `json:"start_step"`
	// StartError is the whitening error of the carried state under the
	// context's C, at the switch.
	StartError float64 `json:"start_error"`
	// ScaleRatio is the geometric-mean scale of M at the switch over that
	// of the context's C^{1/2}, (det M / det C^{1/2})^{1/n): the
	// mismatch the network must undo, μ for a first context with M₀ = μI
	// and C = I, and √(s_old/s_new) after a switch from C_old = s_old·I,
	// adapted, to C_new = s_new·I.
	ScaleRatio float64 `json:"scale_ratio"`
	// ConvTime is the re-adaptation time: the convergence time of the
	// context (as Result.ConvTime) measured from its switch; nil when the
	// context ended first. ConvStep is it in learning steps (online only).
	ConvTime *float64 `json:"conv_time"`
	ConvStep *int64   `json:"conv_step"`
	// FinalError is the error at the end of the context (at the next
	// switch; for the last context where the run stopped), MinError the
	// smallest error evaluated in it.
	FinalError float64 `json:"final_error"`
	MinError   float64 `json:"min_error"`
	// FloorError is the context's noise floor (as Result.FloorError).
	FloorError *float64 `json:"floor_error"`
	// Diverged reports that the run diverged during this context (the
	// contexts after it were never presented and have no result).
	Diverged bool `json:"diverged"`
}

// segment is one context of a run: its point (C and its bases; the
// initial state of the first), where it starts and how long it lasts.
type segment struct {
	pt       *point
	start    float64 // time (flow) or step (online) of the switch
	duration float64
}

// contextBasisStream returns the stream of the random basis of context
// i ≥ 1: one beyond every named stream and every samples stream (which
// are 5 modulo 256).
func contextBasisStream(i int) stream { return 7 + stream(i)<<8 }

// contextsWithDefaults fills in the contexts' spectra and bases from the context
// before (prevSpectrum and prevBasis are the point's, defaulted): a
// "previous" basis whose previous is the identity is written "identity".
// It returns a new slice; nil for none.
func contextsWithDefaults(cs []Context, prevSpectrum Spectrum, prevBasis string) []Context {
	if len(cs) == 0 {
		return nil
	}
	if contextsDefaulted(cs, prevBasis) {
		return cs
	}
	out := make([]Context, len(cs))
	for i, c := range cs {
		if c.InputSpectrum.isZero() {
			c.InputSpectrum = prevSpectrum
		} else {
			c.InputSpectrum = c.InputSpectrum.withDefaults()
		}
		if c.InputBasis == "" {
			c.InputBasis = BasisPrevious
		}
		if c.InputBasis == BasisPrevious && prevBasis == BasisIdentity {
			c.InputBasis = BasisIdentity
		}
		out[i] = c
		prevSpectrum, prevBasis = c.InputSpectrum, c.InputBasis
	}
	return out
}

// contextsDefaulted reports whether contextsWithDefaults would leave cs
// as it is (so that defaulting defaulted parameters does not allocate).
func contextsDefaulted(cs []Context, prevBasis string) bool {
	for _, c := range cs {
		s := c.InputSpectrum
		if s.isZero() || (len(s.Values) == 0 && s.Spacing == "") || c.InputBasis == "" ||
			(c.InputBasis == BasisPrevious && prevBasis == BasisIdentity) {
			return false
		}
		prevBasis = c.InputBasis
	}
	return true
}

// validateContexts appends the problems of p's (defaulted) contexts.
func validateContexts(p Params, lim Limits, nOK, batchOK bool, errs []error) []error {
	if len(p.Contexts) == 0 {
		return errs
	}
	add := func(field string, value any, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: reason})
	}
	if len(p.Contexts) > MaxContexts {
		return append(errs, &FieldError{"contexts", len(p.Contexts), fmt.Sprintf("contexts is too long: at most %d contexts follow the point's own", MaxContexts)})
	}
	total := p.Horizon
	unit := "a time"
	if p.Mode == Online {
		unit = "a whole number of learning steps"
	}
	prev := p.InputSpectrum
	for i, c := range p.Contexts {
		field := fmt.Sprintf("contexts[%d]", i)
		// A spectrum the same as the one before (the default: taken from
		// it) is checked where it was written.
		if nOK && !c.InputSpectrum.same(prev) {
			errs = c.InputSpectrum.validate(field+".input_spectrum", p.N, errs)
		}
		prev = c.InputSpectrum
		switch c.InputBasis {
		case BasisIdentity, BasisRandom, BasisPrevious:
		default:
			add(field+".input_basis", c.InputBasis, "is not a known basis; use one of identity, random, previous (the default)")
		}
		switch {
		case !(c.Duration > 0) || math.IsInf(c.Duration, 1):
			add(field+".duration", c.Duration, fmt.Sprintf("is out of range: every context needs a duration > 0, %s like horizon", unit))
		case p.Mode == Online && c.Duration != math.Trunc(c.Duration):
			add(field+".duration", c.Duration, "is not a whole number: online a duration counts learning steps; round it to an integer")
		default:
			total += c.Duration
		}
	}
	switch {
	case p.Mode == Online && total > lim.MaxOnlineSteps:
		add("contexts", formatValue(total), fmt.Sprintf("steps in all (horizon and the durations) are above the limit %s; shorten them or raise limits.max_online_steps in the spec", formatValue(lim.MaxOnlineSteps)))
	case p.Mode == Online && batchOK && float64(p.Batch)*total > lim.MaxOnlineSamples:
		add("contexts", formatValue(total), fmt.Sprintf("steps in all × batch %d are above the limit limits.max_online_samples = %s; shorten them or raise the limit", p.Batch, formatValue(lim.MaxOnlineSamples)))
	case p.Mode == Flow && total > lim.MaxFlowHorizon:
		add("contexts", formatValue(total), fmt.Sprintf("is the time of the whole run (horizon and the durations), above the limit %s; shorten them or raise limits.max_flow_horizon in the spec", formatValue(lim.MaxFlowHorizon)))
	}
	return errs
}

// RunLength returns the length of the run of the defaulted p: Horizon
// plus the durations of its contexts (a time in flow mode, steps online).
func (p Params) RunLength() float64 {
	total := p.Horizon
	for _, c := range p.Contexts {
		total += c.Duration
	}
	return total
}

// segments returns the contexts of pt in order: pt itself for Horizon,
// then one point per Context, sharing pt's initial state and network
// start (only the carried state matters after a switch).
func (pt *point) segments() []segment {
	p := pt.p
	segs := []segment{{pt: pt, start: 0, duration: p.Horizon}}
	prev := pt
	at := p.Horizon
	for i, c := range p.Contexts {
		next := *pt
		next.s = c.InputSpectrum.Eigenvalues(pt.n)
		switch c.InputBasis {
		case BasisIdentity:
			next.q = identity(pt.n)
		case BasisRandom:
			next.q = haarFrame(newStream(p.Seed, contextBasisStream(i+1)), pt.n, pt.n)
		default:
			next.q = prev.q
		}
		next.p.InputBasis = BasisRandom // its q is not the identity in general
		if c.InputBasis == BasisIdentity || (c.InputBasis == BasisPrevious && prev.p.InputBasis == BasisIdentity) {
			next.p.InputBasis = BasisIdentity
		}
		next.setC()
		segs = append(segs, segment{pt: &next, start: at, duration: c.Duration})
		at += c.Duration
		prev = &next
	}
	return segs
}

// setC sets b = Q diag(√s) and C^{1/2} from pt.q and pt.s.
func (pt *point) setC() {
	n := pt.n
	sqrtS := make([]float64, n)
	for i, v := range pt.s {
		sqrtS[i] = math.Sqrt(v)
	}
	pt.b = scaleColumns(pt.q, sqrtS)
	pt.cHalf = newGeneral(n, n)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, pt.b, pt.q, 0, pt.cHalf)
	symmetrize(pt.cHalf)
}

// toBasisOf returns Q̃ᵀMQ̃ (full symmetric) for the full symmetric M in the
// original basis and Q̃ the eigenbasis of next: the state of the direct and
// interneuron flows of next.
func toBasisOf(next *point, m blas64.General) []float64 {
	n := next.n
	out := newGeneral(n, n)
	if next.p.InputBasis == BasisIdentity {
		copy(out.Data, m.Data)
		return out.Data
	}
	tmp := newGeneral(n, n)
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, next.q, m, 0, tmp)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, tmp, next.q, 0, out)
	symmetrize(out)
	return out.Data
}

// scaleRatio returns (det M / det C^{1/2})^{1/n} for the full symmetric M
// and the eigenvalues s of C (see ContextResult.ScaleRatio); NaN when M is
// not positive definite.
func scaleRatio(m blas64.General, s []float64) float64 {
	n := m.Rows
	a := newGeneral(n, n)
	copy(a.Data, m.Data)
	if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: a.Stride, Data: a.Data}); !ok {
		return math.NaN()
	}
	var logRatio float64
	for i := 0; i < n; i++ {
		logRatio += 2*math.Log(a.Data[i*a.Stride+i]) - 0.5*math.Log(s[i])
	}
	return math.Exp(logRatio / float64(n))
}
