package dynamics

import (
	"context"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"
)

// batchBlock is the number of samples handled at once by the batched paths,
// which bounds their workspace to n×batchBlock.
const batchBlock = 64

// onlineState is the state of the online rule of one point shared by every
// network: the sample stream, the batch, the whitening workspace and the
// network's own rule, with every workspace preallocated: step does not
// allocate.
//
// The online rule with batch b averages the Hebbian term over b samples
// drawn for the same M (see each network's onlineRule).
type onlineState struct {
	rule  onlineRule
	n, k  int
	batch int
	eta   float64
	rng   *rand.Rand
	cHalf blas64.General
	steps int64

	wh    *whitening
	mFull blas64.General // scratch n×n

	// ctx, when set, is looked at every checkBlocks blocks of samples
	// inside a batched step, so that a step of a huge batch can be
	// abandoned; stopped reports that it was (the step returned false for
	// that reason, with failed empty).
	ctx         context.Context
	checkBlocks int
	stopped     bool

	// failed is the divergence reason of the last step that returned false.
	failed string
}

func newOnlineState(pt *point) *onlineState {
	p := pt.p
	s := &onlineState{
		n:     pt.n,
		k:     pt.k,
		batch: p.Batch,
		eta:   p.Eta,
		rng:   newStream(p.Seed, streamSamples),
		cHalf: pt.cHalf,
		wh:    newWhitening(pt.b),
		mFull: newGeneral(pt.n, pt.n),

		checkBlocks: checkBlocks(pt.n),
	}
	s.rule = pt.net.online(pt, s)
	return s
}

// start prepares the first step; false (with failed set) when the initial
// state cannot be used.
func (s *onlineState) start() bool { return s.rule.start() }

func vec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }

func (s *onlineState) draw(g []float64) {
	for i := range g {
		g[i] = s.rng.NormFloat64()
	}
}

// drawColumns fills the n×cols matrix g with cols samples of N(0, I), one
// column (sample) after the other, so that the draws of a sample do not
// depend on the batch size.
func (s *onlineState) drawColumns(g blas64.General) {
	for c := 0; c < g.Cols; c++ {
		for i := 0; i < g.Rows; i++ {
			g.Data[i*g.Stride+c] = s.rng.NormFloat64()
		}
	}
}

// checkBlocks returns how many blocks of batchBlock samples a batched step
// handles between two looks at the context: about a million flops of work
// (a block costs about 3·batchBlock·n² flops), at least one block and at
// most 16 (1024 samples, tens of µs at small n, against some 20 ns for a
// look at the context).
func checkBlocks(n int) int {
	return int(math.Max(1, math.Min(16, 1e6/(3*batchBlock*float64(n)*float64(n)))))
}

// cancelled reports whether the context of s is done, and marks s stopped
// when it is.
func (s *onlineState) cancelled() bool {
	if s.ctx == nil || s.ctx.Err() == nil {
		return false
	}
	s.stopped, s.failed = true, ""
	return true
}

// block returns the leading rows×cols block of the workspace a, packed.
func block(a blas64.General, rows, cols int) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: max(cols, 1), Data: a.Data[:rows*cols]}
}

// step applies one learning step. It returns false, with s.failed set, when
// the step broke the state (divergence), or with s.stopped set when the
// context was done in the middle of a batched step (the state is then
// partly updated and must be dropped).
func (s *onlineState) step() bool {
	if !s.rule.step() {
		return false
	}
	s.steps++
	return true
}

// setM leaves M, full symmetric, in s.mFull.
func (s *onlineState) setM() { s.rule.matrix(s.mFull) }

// evaluate returns the whitening error and the extreme eigenvalues of M.
// ok is false, with s.failed set, when M is not finite or not positive
// definite.
func (s *onlineState) evaluate() (e, lo, hi float64, ok bool) {
	if !s.rule.finite() {
		s.failed = ReasonNonFinite
		return 0, 0, 0, false
	}
	s.setM()
	if !s.wh.setM(s.mFull) {
		s.failed = ReasonNotPositiveDefinite
		return 0, 0, 0, false
	}
	e = s.wh.errorNorm()
	lo, hi = s.wh.eigRange(s.mFull)
	if math.IsNaN(e) || math.IsNaN(lo) || math.IsNaN(hi) {
		s.failed = ReasonNonFinite
		return 0, 0, 0, false
	}
	return e, lo, hi, true
}

// fullM returns M as a new full symmetric matrix.
func (s *onlineState) fullM() blas64.General {
	s.setM()
	out := newGeneral(s.n, s.n)
	copy(out.Data, s.mFull.Data)
	return out
}

// checkPeriod returns how many steps to run between two looks at the
// context: about a million flops of work, at most 4096 steps.
func (s *onlineState) checkPeriod() int64 {
	return int64(math.Max(1, math.Min(4096, 1e6/s.rule.flops())))
}

// runOnline runs Horizon learning steps of pt, recording into traj (see
// newRecorder).
func runOnline(ctx context.Context, pt *point, traj []Sample) (outcome, error) {
	p := pt.p
	s := newOnlineState(pt)
	s.ctx = ctx
	var out outcome
	horizon := int64(p.Horizon)
	records := min(int64(p.Record), horizon+1)
	recordStep := func(j int64) int64 { return (j*horizon + (records-1)/2) / (records - 1) }
	rec := newRecorder(int(records), traj)

	if !s.start() {
		out.diverge(s.failed)
		out.finalM = s.fullM()
		return out, nil
	}
	e0, lo, hi, ok := s.evaluate()
	if !ok {
		out.diverge(s.failed)
		out.finalM = s.fullM()
		return out, nil
	}
	rec.add(Sample{T: 0, Step: 0, Error: e0, EigMin: lo, EigMax: hi})
	out.FinalError, out.MinError = e0, e0
	if e0 <= p.Tol {
		zeroT, zeroS := 0.0, int64(0)
		out.ConvTime, out.ConvStep = &zeroT, &zeroS
		out.Trajectory = rec.samples
		out.finalM = s.fullM()
		return out, nil
	}
	errCap := math.Max(ErrorCap, 100*e0)

	j := int64(1)
	next := recordStep(j)
	check := s.checkPeriod()
	for step := int64(1); step <= horizon; step++ {
		if !s.step() {
			if s.stopped {
				return outcome{}, ctx.Err()
			}
			out.diverge(s.failed)
			break
		}
		if step == next {
			e, lo, hi, ok := s.evaluate()
			if !ok {
				out.diverge(s.failed)
				break
			}
			rec.add(Sample{T: p.Eta * float64(step), Step: step, Error: e, EigMin: lo, EigMax: hi})
			out.FinalError = e
			out.MinError = math.Min(out.MinError, e)
			if e <= p.Tol {
				// Converged: like a flow run, an online run stops here.
				st, t := step, p.Eta*float64(step)
				out.ConvStep, out.ConvTime = &st, &t
				break
			}
			if e > errCap {
				out.diverge(ReasonErrorAboveCap)
				break
			}
			for next <= step && j < records-1 {
				j++
				next = recordStep(j)
			}
		}
		if step%check == 0 && ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
	}
	out.Steps = s.steps
	out.Trajectory = rec.samples
	out.finalM = s.fullM()
	return out, nil
}
