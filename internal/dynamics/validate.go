package dynamics

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Names of the bases and shapes accepted by Params.InputBasis,
// Params.InitBasis and Params.InitShape.
const (
	// BasisIdentity makes C's eigenbasis the standard basis.
	BasisIdentity = "identity"
	// BasisRandom draws an eigenbasis from the Haar measure on O(n).
	BasisRandom = "random"
	// BasisAligned gives M₀ the eigenbasis of C, so that M₀ and C commute.
	BasisAligned = "aligned"

	// ShapeIdentity makes M₀ = μI.
	ShapeIdentity = "identity"
	// ShapeLogSpread gives M₀ eigenvalues μ·spread^(t−½), t evenly in [0, 1].
	ShapeLogSpread = "logspread"
	// ShapeSpectrum gives M₀ the eigenvalues μ·InitSpectrum.
	ShapeSpectrum = "spectrum"
	// ShapeWishart draws W₀ (k×n) with independent N(0, μ/k) entries, so that
	// E[M₀] = E[W₀ᵀW₀] = μI.
	ShapeWishart = "wishart"
)

// Defaults filled in by Params.WithDefaults.
const (
	DefaultEta           = 0.01
	DefaultBatch         = 1
	DefaultTol           = 0.01
	DefaultFlowHorizon   = 1e4
	DefaultOnlineHorizon = 1e5
	DefaultRecord        = 1000
	// DefaultHold is the hold of online runs, in time units (1/η steps):
	// long enough to tell convergence from a dip of the noise below tol,
	// short next to the times a sweep measures.
	DefaultHold       = 1.0
	DefaultInitScale  = 1.0
	DefaultInitSpread = 10.0
)

// Bounds on magnitudes accepted by Validate. Beyond them the products formed
// by the dynamics (s/m², WᵀW) leave the comfortable range of float64.
const (
	// MinMagnitude is the smallest accepted eigenvalue of C and init_scale.
	MinMagnitude = 1e-30
	// MaxMagnitude is the largest accepted eigenvalue of C, init_scale and
	// init_spread.
	MaxMagnitude = 1e30
)

// WithDefaults returns p with every zero field replaced by its documented
// default: mode flow, k the network's DefaultK(n) (n when the network is
// unknown), input_spectrum all ones ({min: 1, max: 1}),
// spacing log when min/max are given, input_basis identity, init_scale 1,
// init_shape identity, init_spread 10, init_basis aligned, eta 0.01, batch 1,
// tol 0.01, horizon 10⁴ (flow) or 10⁵ steps (online), hold 1 (online),
// record 1000, and each context's spectrum and basis those of the context
// before (see Context). Algorithm,
// N and Seed have no default (Seed's zero value is seed 0). WithDefaults is
// idempotent and does not allocate (but to fill in the contexts of a point
// that has them).
func (p Params) WithDefaults() Params {
	if p.Mode == "" {
		p.Mode = Flow
	}
	if p.K == 0 {
		p.K = p.N
		if net, ok := Lookup(p.Algorithm); ok {
			p.K = net.DefaultK(p.N)
		}
	}
	p.InputSpectrum = p.InputSpectrum.withDefaults()
	if !p.InitSpectrum.isZero() {
		p.InitSpectrum = p.InitSpectrum.withDefaults()
	}
	if p.InputBasis == "" {
		p.InputBasis = BasisIdentity
	}
	if p.InitScale == 0 {
		p.InitScale = DefaultInitScale
	}
	if p.InitShape == "" {
		p.InitShape = ShapeIdentity
	}
	if p.InitSpread == 0 {
		p.InitSpread = DefaultInitSpread
	}
	if p.InitBasis == "" {
		p.InitBasis = BasisAligned
	}
	if p.Eta == 0 {
		p.Eta = DefaultEta
	}
	if p.Batch == 0 {
		p.Batch = DefaultBatch
	}
	if p.Tol == 0 {
		p.Tol = DefaultTol
	}
	if p.Horizon == 0 {
		if p.Mode == Online {
			p.Horizon = DefaultOnlineHorizon
		} else {
			p.Horizon = DefaultFlowHorizon
		}
	}
	if p.Record == 0 {
		p.Record = DefaultRecord
	}
	if p.Hold == 0 && p.Mode == Online {
		p.Hold = DefaultHold
	}
	p.Contexts = contextsWithDefaults(p.Contexts, p.InputSpectrum, p.InputBasis)
	return p
}

// Limits bound the cost of one point. A zero field means "use the value of
// DefaultLimits".
type Limits struct {
	// MaxN bounds n and k. Default 1024.
	MaxN int
	// MaxFlowHorizon bounds the horizon (a time) of flow points. Default 10⁷.
	MaxFlowHorizon float64
	// MaxOnlineSteps bounds the horizon (a step count) of online points.
	// Default 10⁹.
	MaxOnlineSteps float64
	// MaxOnlineSamples bounds the samples an online point may draw,
	// batch × horizon: the work of a point, which the step count alone
	// does not bound when the batch is large. Default 10¹⁰.
	MaxOnlineSamples float64
	// MaxFlowSteps caps the accepted integrator steps of a flow point. A
	// flow whose spectrum makes it stiff (eigenvalues of C over many
	// decades) needs a number of steps that no horizon bounds; at the cap
	// the run ends, diverged with ReasonStepCap. Unlike the other limits it
	// is not checked by Validate: it bounds a run, not its parameters.
	// Default 10⁷.
	MaxFlowSteps float64
}

// DefaultLimits returns the limits used by Run: n, k ≤ 1024, flow horizon
// ≤ 10⁷, online horizon ≤ 10⁹ steps, online batch × horizon ≤ 10¹⁰
// samples, and at most 10⁷ flow steps.
func DefaultLimits() Limits {
	return Limits{MaxN: 1024, MaxFlowHorizon: 1e7, MaxOnlineSteps: 1e9, MaxOnlineSamples: 1e10, MaxFlowSteps: 1e7}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxN == 0 {
		l.MaxN = d.MaxN
	}
	if l.MaxFlowHorizon == 0 {
		l.MaxFlowHorizon = d.MaxFlowHorizon
	}
	if l.MaxOnlineSteps == 0 {
		l.MaxOnlineSteps = d.MaxOnlineSteps
	}
	if l.MaxOnlineSamples == 0 {
		l.MaxOnlineSamples = d.MaxOnlineSamples
	}
	if l.MaxFlowSteps == 0 {
		l.MaxFlowSteps = d.MaxFlowSteps
	}
	return l
}

// FieldError reports one invalid parameter: the field (its JSON name, with a
// path for nested values such as "input_spectrum.values[2]"), the offending
// value, and why it is refused with what is allowed and how to fix it.
type FieldError struct {
	// Field is the JSON name of the parameter.
	Field string
	// Value is the value that was refused.
	Value any
	// Reason completes the sentence "<field>: <value> …".
	Reason string
}

// Error formats the error as "<field>: <value> <reason>", for example
// "eta: 1.5 is out of range: the interneuron rule needs 0 < eta < 1".
func (e *FieldError) Error() string {
	return e.Field + ": " + formatValue(e.Value) + " " + e.Reason
}

func formatValue(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string, Algorithm, Mode, Spacing:
		return fmt.Sprintf("%q", v)
	case []float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return fmt.Sprint(v)
	}
}

// FieldErrors returns the *FieldError values held by err (as returned by
// Validate, possibly wrapped or joined), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Validate checks p.WithDefaults() against the rules of the model and the
// limits lim (zero fields of lim take DefaultLimits values). It returns nil,
// or one *FieldError per problem joined with errors.Join. It does not
// allocate when p is valid, so validating millions of points is cheap.
func (p Params) Validate(lim Limits) error {
	p = p.WithDefaults()
	lim = lim.withDefaults()
	var errs []error
	add := func(field string, value any, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: value, Reason: reason})
	}

	net, known := Lookup(p.Algorithm)
	switch {
	case known:
	case p.Algorithm == "":
		add("algorithm", p.Algorithm, "is required; set it to one of "+strings.Join(NetworkNames(), ", "))
	default:
		add("algorithm", p.Algorithm, "is not a known network; use one of "+strings.Join(NetworkNames(), ", "))
	}
	switch p.Mode {
	case Flow, Online:
	default:
		add("mode", p.Mode, "is not a known mode; use one of flow, online")
	}

	nOK := false
	switch {
	case p.N < 1:
		add("n", p.N, "is out of range: n must be at least 1; set n to the input dimension")
	case p.N > lim.MaxN:
		add("n", p.N, fmt.Sprintf("is above the limit %d; raise limits.max_n in the spec to allow it", lim.MaxN))
	default:
		nOK = true
	}
	kOK := false
	if nOK {
		wishart := p.InitShape == ShapeWishart
		switch {
		case known && !net.UsesK() && !wishart:
			// k means nothing to this point.
		case p.K < 1:
			add("k", p.K, kTooSmall)
		case p.K > lim.MaxN:
			why := kAboveLimit(lim)
			if known && p.K == net.DefaultK(p.N) && p.K != p.N {
				why = fmt.Sprintf("(the %s network's default for n = %d) is above the limit %d; raise limits.max_n in the spec to allow it, or set a smaller k", net.Name(), p.N, lim.MaxN)
			}
			add("k", p.K, why)
		case wishart && p.K < p.N:
			add("k", p.K, fmt.Sprintf("is below n = %d: the wishart shape draws W₀ with k rows, and M₀ = W₀ᵀW₀ needs k ≥ n; set k ≥ %d", p.N, p.N))
		default:
			kOK = true
		}
		errs = p.InputSpectrum.validate("input_spectrum", p.N, errs)
	}

	switch p.InputBasis {
	case BasisIdentity, BasisRandom:
	default:
		add("input_basis", p.InputBasis, "is not a known basis; use one of identity, random")
	}
	if !inRange(p.InitScale, MinMagnitude, MaxMagnitude) {
		add("init_scale", p.InitScale, "is out of range: init_scale (μ) must lie in [1e-30, 1e30]")
	}
	switch p.InitShape {
	case ShapeIdentity, ShapeLogSpread, ShapeWishart, ShapeSpectrum:
	default:
		add("init_shape", p.InitShape, "is not a known shape; use one of identity, logspread, spectrum, wishart")
	}
	switch {
	case p.InitShape == ShapeSpectrum && p.InitSpectrum.isZero():
		add("init_spectrum", "", "is required by init_shape spectrum: give M₀'s eigenvalues over μ, a list of n numbers or {min, max, spacing}")
	case p.InitShape == ShapeSpectrum && nOK:
		errs = p.InitSpectrum.validate("init_spectrum", p.N, errs)
	case p.InitShape != ShapeSpectrum && !p.InitSpectrum.isZero():
		add("init_spectrum", p.InitSpectrum.text(), "is used only by init_shape spectrum; set init_shape: spectrum, or leave init_spectrum out")
	}
	if !ValidInitSpread(p.InitSpread) {
		add("init_spread", p.InitSpread, "is out of range: init_spread is a ratio of eigenvalues and must lie in [1, 1e30]")
	}
	if !ValidInitBasis(p.InitBasis) {
		add("init_basis", p.InitBasis, "is not a known basis; use one of aligned, random")
	}

	etaOK := validEta(p.Eta)
	if !etaOK {
		add("eta", p.Eta, etaOutOfRange)
	}
	if known {
		errs = append(errs, net.validate(p, paramsChecked{k: kOK, eta: etaOK})...)
	}
	batchOK := p.Batch >= 1
	if !batchOK {
		add("batch", p.Batch, batchOutOfRange)
	}
	switch {
	case !(p.Tol > 0 && p.Tol < 1):
		add("tol", p.Tol, "is out of range: the tolerance needs 0 < tol < 1")
	case p.Mode == Flow && p.Tol < FlowMinTol:
		add("tol", p.Tol, fmt.Sprintf("is below %s, the smallest error a flow resolves in double precision; use tol ≥ %s (or online mode)", formatValue(FlowMinTol), formatValue(FlowMinTol)))
	}

	switch {
	case !(p.Horizon > 0) || math.IsInf(p.Horizon, 1):
		add("horizon", p.Horizon, "is out of range: the horizon must be a positive finite number (a time in flow mode, a step count online)")
	case p.Mode == Online && p.Horizon != math.Trunc(p.Horizon):
		add("horizon", p.Horizon, "is not a whole number: online the horizon counts learning steps; round it to an integer")
	case p.Mode == Online && p.Horizon > lim.MaxOnlineSteps:
		add("horizon", p.Horizon, fmt.Sprintf("is above the limit %s steps; raise limits.max_online_steps in the spec to allow it", formatValue(lim.MaxOnlineSteps)))
	case p.Mode == Flow && p.Horizon > lim.MaxFlowHorizon:
		add("horizon", p.Horizon, fmt.Sprintf("is above the limit %s; raise limits.max_flow_horizon in the spec to allow it", formatValue(lim.MaxFlowHorizon)))
	case p.Mode == Online && batchOK:
		// The work of an online point is its samples; the step limit
		// alone admits any batch.
		if samples := float64(p.Batch) * p.Horizon; samples > lim.MaxOnlineSamples {
			add("batch", p.Batch, fmt.Sprintf("× horizon %s = %s samples is above the limit limits.max_online_samples = %s; lower batch or horizon, or raise limits.max_online_samples in the spec",
				formatValue(p.Horizon), formatValue(samples), formatValue(lim.MaxOnlineSamples)))
		}
	}
	if !validHold(p.Hold) {
		add("hold", p.Hold, holdOutOfRange)
	}
	errs = validateContexts(p, lim, nOK, batchOK, errs)
	if p.Record < 2 {
		add("record", p.Record, "is out of range: record must be at least 2 (the start and the end of the trajectory)")
	}
	if p.Seed < 0 {
		add("seed", p.Seed, "is out of range: seed must be ≥ 0")
	}
	if !validNoise(p.Noise) {
		add("noise", p.Noise, noiseOutOfRange)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// paramsChecked tells a network's validate which shared parameters passed
// the shared rules, so that it adds its own rules only to those (one
// message per problem).
type paramsChecked struct{ k, eta bool }

func inRange(x, lo, hi float64) bool { return x >= lo && x <= hi }

// ValidInitSpread reports whether v is an init_spread Validate accepts
// (its rule involves no other parameter).
func ValidInitSpread(v float64) bool { return inRange(v, 1, MaxMagnitude) }

// ValidInitBasis reports whether b is an init_basis Validate accepts (its
// rule involves no other parameter).
func ValidInitBasis(b string) bool { return b == BasisAligned || b == BasisRandom }

// The reasons of the rules on the parameters a point may ignore (k, eta,
// batch, hold, noise) that involve no other parameter: Validate gives them
// for a point that uses the parameter, UnusableValue for a value that no
// point takes.
const (
	kTooSmall       = "is out of range: k (interneurons) must be at least 1; leave it out for the network's default"
	etaOutOfRange   = "is out of range: the learning rate needs 0 < eta (finite)"
	batchOutOfRange = "is out of range: batch (samples per step) must be at least 1"
	holdOutOfRange  = "is out of range: hold is a time ≥ 0 (a hold shorter than one step, eta, is first passage)"
	noiseOutOfRange = "is out of range: noise selects a sample stream, 0 ≤ noise < 2⁴⁰"
)

func kAboveLimit(lim Limits) string {
	return fmt.Sprintf("is above the limit %d; raise limits.max_n in the spec to allow it", lim.MaxN)
}

func validEta(v float64) bool  { return v > 0 && !math.IsInf(v, 1) }
func validHold(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }
func validNoise(v int64) bool  { return v >= 0 && v < 1<<40 }

// UnusableValue returns a *FieldError when no point, of any network or
// mode, takes v as the value of the parameter field (its JSON name),
// whatever the spec's limits, and nil otherwise. It knows the parameters a point may
// ignore (k, eta, batch, hold and noise) and applies their rules that
// involve no other parameter; for other fields it returns nil (Validate
// checks them on every point). A point that ignores the parameter takes
// its default, so Validate never sees such a value: a spec checks its
// values with UnusableValue, so that eta: -1 in a flow sweep is refused
// rather than silently replaced, while eta: 5 (which the direct network
// online takes) stays a value flow points ignore. Integer parameters (k,
// batch, noise) are passed as float64, which holds them exactly.
func UnusableValue(field string, v float64) error {
	var reason string
	var value any = v
	switch field {
	case "k":
		// Not the limit max_n: raising it admits a larger k.
		value = int(v)
		if v < 1 {
			reason = kTooSmall
		}
	case "eta":
		if !validEta(v) {
			reason = etaOutOfRange
		}
	case "batch":
		value = int(v)
		if v < 1 {
			reason = batchOutOfRange
		}
	case "hold":
		if !validHold(v) {
			reason = holdOutOfRange
		}
	case "noise":
		value = int64(v)
		if !(v >= 0 && v < 1<<40) {
			reason = noiseOutOfRange
		}
	}
	if reason == "" {
		return nil
	}
	return &FieldError{Field: field, Value: value, Reason: reason}
}
