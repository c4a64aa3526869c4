package dynamics

// This file holds the public contract of the package: the parameter names of
// a sweep point and the shape of its result. Other packages (schemas,
// results, activities) build on these types; change them only with care.

// Algorithm names a network: the name of a registered Network (Networks
// lists them; each network's file defines its constant, such as Direct).
type Algorithm string

// Mode names how the synaptic dynamics are integrated.
type Mode string

const (
	// Flow integrates the mean (η → 0) matrix ODE with an adaptive,
	// error-controlled scheme; the horizon is a time.
	Flow Mode = "flow"
	// Online runs the stochastic rule on samples x ~ N(0, C); the horizon is
	// a number of steps and t = η·step.
	Online Mode = "online"
)

// Spacing names how a spectrum given by its end points is filled in.
type Spacing string

const (
	// LogSpacing spaces eigenvalues geometrically between Min and Max.
	LogSpacing Spacing = "log"
	// LinearSpacing spaces eigenvalues evenly between Min and Max.
	LinearSpacing Spacing = "linear"
)

// Spectrum describes the n eigenvalues of a symmetric positive definite
// matrix: either an explicit list (Values, length n) or end points Min ≤ Max
// filled in with Spacing (default log). In JSON it is written either as a
// list of numbers or as an object {"min":…, "max":…, "spacing":…}.
type Spectrum struct {
	Values  []float64 `json:"values,omitempty"`
	Min     float64   `json:"min,omitempty"`
	Max     float64   `json:"max,omitempty"`
	Spacing Spacing   `json:"spacing,omitempty"`
}

// Params are the parameters of one sweep point. The JSON names are the public
// parameter names of the whole product (specs, Parquet columns, reports).
// Zero values mean "use the default"; WithDefaults fills them in.
type Params struct {
	// Algorithm is the network, one of NetworkNames(). Required.
	Algorithm Algorithm `json:"algorithm"`
	// Mode is "flow" or "online". Default "flow".
	Mode Mode `json:"mode,omitempty"`
	// N is the input dimension, n ≥ 1. Required.
	N int `json:"n"`
	// K is the number of interneurons. Default: the network's DefaultK(n)
	// (n, or n(n+1)/2 for the gain network). Ignored by a network without
	// interneurons (Network.UsesK), except by the wishart shape, whose W₀
	// has k rows.
	K int `json:"k,omitempty"`
	// InputSpectrum holds the eigenvalues of the input covariance C.
	// Default: all ones.
	InputSpectrum Spectrum `json:"input_spectrum,omitempty"`
	// InputBasis is the eigenbasis of C: "identity" or "random" (Haar,
	// drawn from Seed). Default "identity".
	InputBasis string `json:"input_basis,omitempty"`
	// InitScale is μ, the scale of the initial M₀. Default 1.
	InitScale float64 `json:"init_scale,omitempty"`
	// InitShape is the shape of M₀'s spectrum: "identity" (M₀ = μI),
	// "logspread" (eigenvalues log-spaced over a ratio InitSpread, geometric
	// mean μ), "spectrum" (eigenvalues μ·InitSpectrum) or "wishart" (W₀
	// Gaussian, scaled so that E[M₀] = μI). Default "identity".
	InitShape string `json:"init_shape,omitempty"`
	// InitSpectrum is the spectrum of M₀ for the "spectrum" shape:
	// M₀'s eigenvalues are μ times its n values (a list, or end points
	// filled in like InputSpectrum). Used by that shape only, and required
	// by it.
	InitSpectrum Spectrum `json:"init_spectrum,omitzero"`
	// InitSpread is the ratio of largest to smallest eigenvalue of M₀ for
	// the "logspread" shape. Default 10.
	InitSpread float64 `json:"init_spread,omitempty"`
	// InitBasis is the eigenbasis of M₀: "aligned" (that of C, so M₀ and C
	// commute) or "random" (an independent Haar draw). Default "aligned".
	InitBasis string `json:"init_basis,omitempty"`
	// Eta is the learning rate η of the online rule. Default 0.01. Flow mode
	// records it but does not use it.
	Eta float64 `json:"eta,omitempty"`
	// Batch is the number of samples averaged per online step. Default 1.
	Batch int `json:"batch,omitempty"`
	// Tol is the whitening-error tolerance ε, 0 < tol < 1. Default 0.01.
	Tol float64 `json:"tol,omitempty"`
	// Horizon is the time limit (flow) or the step limit (online).
	// Default 10⁴ (flow) or 10⁵ steps (online).
	Horizon float64 `json:"horizon,omitempty"`
	// Hold is the time the whitening error must stay within Tol for an
	// online run to count as converged (a sustained criterion): the run
	// converges at the first check from which every check for Hold time
	// has error ≤ Tol, and measures its noise floor over that period
	// (Result.FloorError). A hold shorter than one step (η) is first
	// passage: the first check within Tol. Default DefaultHold (online);
	// flow runs ignore it (their error decreases monotonically).
	Hold float64 `json:"hold,omitempty"`
	// Record is the largest number of trajectory samples kept. Default 1000.
	Record int `json:"record,omitempty"`
	// Seed seeds every random draw of the point (bases, W₀, samples),
	// seed ≥ 0. Default 0.
	Seed int64 `json:"seed,omitempty"`
	// Noise selects the online samples: noise k ≥ 0 draws them from the
	// k-th sample stream of the seed, while the bases, the frames and W₀
	// (drawn from Seed alone) stay the same, so points that differ only
	// in Noise are the same network on the same inputs' statistics with
	// other samples. Default 0. Flow runs ignore it.
	Noise int64 `json:"noise,omitempty"`
	// Contexts are the input covariances presented after the point's own
	// (InputSpectrum and InputBasis, the first context, presented for
	// Horizon), each for its Duration, the network carrying its state
	// across every switch (docs/model.md, "Statistical adaptation:
	// switching contexts"). Default none: the point's C for Horizon. With
	// contexts every context but the last runs to its end, and
	// Result.Contexts holds one result per context presented.
	Contexts []Context `json:"contexts,omitempty"`
}

// Sample is one recorded point of a trajectory.
type Sample struct {
	// T is the time: flow time, or η·step online.
	T float64 `json:"t"`
	// Step is the accepted integrator step (flow) or learning step (online).
	Step int64 `json:"step"`
	// Error is the whitening error ‖M⁻¹CM⁻¹ − I‖₂.
	Error float64 `json:"error"`
	// EigMin and EigMax are the smallest and largest eigenvalues of M.
	EigMin float64 `json:"eig_min"`
	EigMax float64 `json:"eig_max"`
}

// Result is the outcome of one point. Divergence is data, not an error.
type Result struct {
	// ConvTime is the first time at which the error is ≤ Tol (online: the
	// first check from which the error stays within Tol for Hold); nil
	// when the run did not get there within its horizon.
	ConvTime *float64 `json:"conv_time"`
	// ConvStep is the learning step of convergence (online only); nil
	// otherwise.
	ConvStep *int64 `json:"conv_step"`
	// FinalError and MinError are the error at the end of the run and the
	// smallest error seen.
	FinalError float64 `json:"final_error"`
	MinError   float64 `json:"min_error"`
	// FloorError is the median whitening error over the hold period of a
	// converged online run with a hold of at least one step: the noise
	// floor the rule settles at. Nil otherwise (flow, first passage, not
	// converged).
	FloorError *float64 `json:"floor_error"`
	// Diverged reports that the run stopped early on lost positive
	// definiteness, non-finite values, an error above the cap or (flow)
	// the step cap; DivergeReason says which (empty when not diverged).
	Diverged      bool   `json:"diverged"`
	DivergeReason string `json:"diverge_reason,omitempty"`
	// Steps counts accepted integrator steps (flow) or learning steps
	// (online); RHSEvals counts right-hand-side evaluations (flow).
	Steps    int64 `json:"steps"`
	RHSEvals int64 `json:"rhs_evals"`
	// Trajectory holds at most Record samples (log-spaced in time in flow
	// mode, evenly spaced in steps online).
	Trajectory []Sample `json:"trajectory,omitempty"`
	// Contexts holds the outcome of each context presented, the point's
	// own first, for a point with Params.Contexts (nil without). ConvTime,
	// ConvStep and FloorError above are then those of context 0;
	// FinalError, MinError, Steps and RHSEvals cover the whole run.
	Contexts []ContextResult `json:"contexts,omitempty"`
}
