package dynamics

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/blas/blas64"
)

// Network is one whitening network of docs/model.md: everything isweep
// knows of it, in one value. A network supplies its own parameter rules,
// its initial state from the shared M₀, the right-hand side of its mean
// dynamics, its online rule, an estimate of its cost and, when one is
// known, the closed-form convergence time of its flow. Dispatch on
// Params.Algorithm happens once, where a point is set up (Lookup); no other
// code branches on the network. Adding a network is one file that defines
// a type implementing Network and registers it with register in an init
// function, plus its tests.
type Network interface {
	// Name is the network's value of Params.Algorithm.
	Name() Algorithm
	// Doc is a sentence describing the network, for the docs' parameter
	// table, the JSON Schema and messages.
	Doc() string
	// DefaultK is k's default for dimension n.
	DefaultK(n int) int
	// UsesK reports whether the network has interneurons, counted by k.
	// When it does not, k only matters to the wishart initial shape
	// (whose W₀ has k rows) and is otherwise ignored.
	UsesK() bool
	// Cost estimates, in µs, a whole flow point (its accepted steps, each
	// about seven right-hand sides and the error) and one online learning
	// step with batch b: the network's part of the cost model
	// (EstimateSeconds), fitted with bench/pointcost.
	Cost(n, k, b float64) (flowPoint, onlineStep float64)

	// validate appends the problems of the network's own rules on the
	// defaulted p (its bounds on k and eta), for the parameters that
	// passed the shared rules (ok).
	validate(p Params, ok paramsChecked) []error
	// setup completes pt (C, M₀ and their bases are set) with the
	// network's own initial state.
	setup(pt *point)
	// flow returns the network's mean dynamics of pt.
	flow(pt *point) flowRule
	// online returns the network's online rule of pt, over the shared
	// state s (samples, batch, workspaces).
	online(pt *point, s *onlineState) onlineRule
	// oracle returns the closed-form flow convergence time of one aligned
	// eigen-direction (see OracleTime), ok false when none is known.
	oracle(s, m0, tol float64) (t float64, ok bool)
}

// flowRule is a network's mean dynamics, integrated by runFlow in the
// eigenbasis of C (see flowSystem).
type flowRule interface {
	// dim is the length of the state vector.
	dim() int
	// initial returns the state at t = 0.
	initial() []float64
	// matrix returns M̃ = QᵀMQ of the state y, full symmetric n×n; it may
	// alias y or a workspace of the rule, valid until the next call.
	matrix(y []float64) []float64
	// rhs writes dy/dt at y into dy; fs holds M̃(y) inverted (fs.wh.p) and
	// gives C_rr on demand (fs.outputCovariance).
	rhs(fs *flowSystem, y, dy []float64)
	// resume returns the rule's state equal to the state y of the same
	// network's flow for the context before, prev: the state carried
	// across a switch of contexts (a new slice).
	resume(prev *point, y []float64) []float64
}

// onlineRule is a network's online learning rule on the shared state of an
// onlineState.
type onlineRule interface {
	// start prepares the first step; false (with the state's failed set)
	// when the initial state cannot be used.
	start() bool
	// step applies one learning step; false with the state's failed set
	// (divergence) or stopped set (the context was done inside a batched
	// step).
	step() bool
	// finite reports whether the state is finite.
	finite() bool
	// matrix writes M, full symmetric, into m.
	matrix(m blas64.General)
	// solve overwrites the n-vector v with M⁻¹v for the current state;
	// false when M cannot be factorised (the state's failed set). A
	// factorisation it makes is kept for the next step when that step
	// would make the same one.
	solve(v []float64) bool
	// flops estimates the work of one step, which sets how often the run
	// looks at its context.
	flops() float64
}

// factoredRule is an onlineRule that factorises M by cholesky (as
// whitening.setM does) and can lend the factor it holds.
type factoredRule interface {
	onlineRule
	// factorCurrent makes the rule hold the Cholesky factor of the current
	// M (kept for the next step, which needs it); false, with the state's
	// failed set, when M is not finite or not positive definite.
	factorCurrent() bool
	// factor returns the factor factorCurrent made and the reciprocals of
	// its diagonal, as cholesky computes them from M's lower triangle; the
	// caller must not change them.
	factor() (l, rdiag []float64)
}

var (
	networks      []Network
	networkByName = map[Algorithm]Network{}
)

// register adds a network; it panics on a repeated or unusable name (a
// programming error, met at init).
func register(net Network) {
	name := net.Name()
	if _, dup := networkByName[name]; dup || name == "" || strings.ToLower(string(name)) != string(name) {
		panic(fmt.Sprintf("dynamics: network %q registered twice or badly named", name))
	}
	networks = append(networks, net)
	networkByName[name] = net
}

// Networks returns the registered networks, in the order of their names.
func Networks() []Network {
	out := make([]Network, len(networks))
	copy(out, networks)
	sortNetworks(out)
	return out
}

// NetworkNames returns the names of the registered networks, sorted: the
// values Params.Algorithm accepts.
func NetworkNames() []string {
	nets := Networks()
	out := make([]string, len(nets))
	for i, n := range nets {
		out[i] = string(n.Name())
	}
	return out
}

// Lookup returns the network named alg, or false when there is none.
func Lookup(alg Algorithm) (Network, bool) {
	net, ok := networkByName[alg]
	return net, ok
}

func sortNetworks(nets []Network) {
	for i := 1; i < len(nets); i++ {
		for j := i; j > 0 && nets[j].Name() < nets[j-1].Name(); j-- {
			nets[j], nets[j-1] = nets[j-1], nets[j]
		}
	}
}

// EstimateSeconds estimates the CPU seconds of the defaulted point p, an
// upper estimate for the chunk sizing, from its network's Cost: a flow
// point as the network says; an online point its horizon of steps (it may
// stop earlier on convergence) and an error evaluation (about
// 1 + 0.0004·n³ µs) at up to record steps; a point with contexts as
// many flow points, or its horizon and durations of steps. It never returns a
// negative, infinite or NaN value; an unknown network costs as much as the
// direct one.
func EstimateSeconds(p Params) float64 {
	net, ok := Lookup(p.Algorithm)
	if !ok {
		net = networkByName[Direct]
	}
	n := float64(max(p.N, 1))
	k := float64(p.K)
	if p.K < 1 {
		k = float64(net.DefaultK(max(p.N, 1)))
	}
	b := float64(max(p.Batch, 1))
	flowPoint, onlineStep := net.Cost(n, k, b)
	const micro = 1e-6
	var s float64
	if p.Mode == Online {
		steps := math.Min(math.Max(p.RunLength(), 1), 1e12)
		records := math.Min(float64(max(p.Record, 1)), steps)
		s = micro * (steps*onlineStep + records*(1+0.0004*n*n*n))
	} else {
		s = micro * flowPoint * float64(1+len(p.Contexts))
	}
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		return 1
	}
	return s
}
