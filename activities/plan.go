package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// planFile is a sweep's plan as stored: entry Seq of the output's plan log
// (results.PlanLogKey) and, the same bytes, results.PlanKey. A plan is
// written once and never changes, so that a resumed sweep cuts its chunks
// exactly as before.
//
// The plan log gives every point of an output one owner: the first sweep,
// in log order, whose grid holds it. The owner stores the point in its own
// chunks (Ranges); a later sweep that holds the point too refers to the
// owner's chunk instead (Foreign), and runs that chunk itself if it is not
// done, at the owner's keys. So an output stores each point once, whatever
// order sweeps are planned, interrupted, extended and resumed in.
type planFile struct {
	// Seq is the plan's entry in the plan log, from 1.
	Seq     int64  `json:"seq"`
	SweepID string `json:"sweep_id"`
	Name    string `json:"name"`
	// Numerics is the dynamics.NumericsVersion the plan was made with:
	// only the points of plans of the same version are reused.
	Numerics int `json:"numerics"`
	// Limits are the spec's limits when the sweep was first planned, with
	// defaults filled in; its points are computed under them.
	Limits schemas.Limits `json:"limits"`
	// GridPoints counts the grid's entries, Points the distinct points
	// among them: entries that describe the same point (a repeated axis
	// value, a parameter the point ignores) are one point.
	GridPoints int64 `json:"grid_points"`
	Points     int64 `json:"points"`
	ChunkSize  int64 `json:"chunk_size"`
	// Ranges are the half-open ranges of grid ordinals this sweep stores,
	// ascending: the first entry of each of its own points.
	Ranges  [][2]int64 `json:"ranges"`
	Planned int64      `json:"planned"`
	// Reused counts the points owned by earlier sweeps, in the chunks
	// listed in Foreign; NotReused those that earlier sweeps stored with
	// other numerics, computed again.
	Reused    int64        `json:"reused"`
	NotReused int64        `json:"not_reused,omitempty"`
	Foreign   []foreignRef `json:"foreign,omitempty"`
	// OtherNumerics counts, by numerics version other than this plan's,
	// the points earlier sweeps stored with it: reused (the sweep was
	// planned with that version in ReuseNumerics) or computed again.
	OtherNumerics []NumericsCount `json:"other_numerics,omitempty"`
}

// NumericsCount counts the points of one numerics version a plan found
// stored, and whether it reused them.
type NumericsCount struct {
	Numerics int   `json:"numerics"`
	Points   int64 `json:"points"`
	Reused   bool  `json:"reused"`
}

// foreignRef lists the chunks of an earlier sweep that hold points of this
// sweep.
type foreignRef struct {
	SweepID string `json:"sweep_id"`
	// Chunks are chunk numbers of that sweep, ascending; Members[i] counts
	// the points of this sweep in chunk Chunks[i].
	Chunks  []int64 `json:"chunks"`
	Members []int64 `json:"members"`
}

func (p *planFile) ownChunks() int64 {
	return (p.Planned + p.ChunkSize - 1) / p.ChunkSize
}

func (p *planFile) foreignChunks() int64 {
	var n int64
	for _, f := range p.Foreign {
		n += int64(len(f.Chunks))
	}
	return n
}

// chunks counts the chunks the sweep needs done: its own, then the
// earlier sweeps' chunks that hold its other points.
func (p *planFile) chunks() int64 { return p.ownChunks() + p.foreignChunks() }

// chunkRef is one chunk a sweep needs done: chunk Chunk of sweep SweepID,
// holding Members of the sweep's points (all of them for its own chunks).
type chunkRef struct {
	SweepID string
	Chunk   int64
	Members int64
	Foreign bool
}

// chunkAt returns the chunk at position i of the sweep's chunks (own
// chunks first, then the foreign ones in plan order). It panics if i is
// out of range.
func (p *planFile) chunkAt(i int64) chunkRef {
	own := p.ownChunks()
	if i < own {
		lo := i * p.ChunkSize
		return chunkRef{SweepID: p.SweepID, Chunk: i, Members: min(lo+p.ChunkSize, p.Planned) - lo}
	}
	j := i - own
	for _, f := range p.Foreign {
		if j < int64(len(f.Chunks)) {
			return chunkRef{SweepID: f.SweepID, Chunk: f.Chunks[j], Members: f.Members[j], Foreign: true}
		}
		j -= int64(len(f.Chunks))
	}
	panic(fmt.Sprintf("activities: chunk %d is outside sweep %s (%d chunks)", i, p.SweepID, p.chunks()))
}

// reusedFrom lists the sweeps whose chunks the plan refers to.
func (p *planFile) reusedFrom() []string {
	var ids []string
	for _, f := range p.Foreign {
		ids = append(ids, f.SweepID)
	}
	return ids
}

// ordinals returns the grid ordinals of own chunk c.
func (p *planFile) ordinals(c int64) []int64 {
	lo := c * p.ChunkSize
	hi := min(lo+p.ChunkSize, p.Planned)
	out := make([]int64, 0, max(hi-lo, 0))
	var pos int64
	for _, r := range p.Ranges {
		n := r[1] - r[0]
		if pos+n <= lo {
			pos += n
			continue
		}
		for o := r[0] + max(lo-pos, 0); o < r[1] && pos+(o-r[0]) < hi; o++ {
			out = append(out, o)
		}
		pos += n
		if pos >= hi {
			break
		}
	}
	return out
}

func (p *planFile) toPlan(output string) Plan {
	return Plan{SweepID: p.SweepID, Name: p.Name, Output: output, GridPoints: p.GridPoints, Points: p.Points,
		Reused: p.Reused, ReusedFrom: p.reusedFrom(), NotReused: p.NotReused, OtherNumerics: p.OtherNumerics, Planned: p.Planned,
		ChunkSize: p.ChunkSize, Chunks: p.chunks(), OwnChunks: p.ownChunks()}
}

// check reports a stored plan that cannot be the plan of sweepID.
func (p *planFile) check(sweepID string) error {
	switch {
	case p.SweepID != sweepID:
		return fmt.Errorf("the plan is of sweep %q", p.SweepID)
	case p.ChunkSize < 1:
		return fmt.Errorf("the plan's chunk size is %d", p.ChunkSize)
	case p.Planned < 0 || p.Planned > p.Points || p.Points > p.GridPoints:
		return fmt.Errorf("the plan counts %d planned of %d points in %d grid entries", p.Planned, p.Points, p.GridPoints)
	}
	var n int64
	for _, r := range p.Ranges {
		if r[0] < 0 || r[1] <= r[0] || r[1] > p.GridPoints {
			return fmt.Errorf("the plan's range %v is outside the grid of %d entries", r, p.GridPoints)
		}
		n += r[1] - r[0]
	}
	if n != p.Planned {
		return fmt.Errorf("the plan's ranges hold %d points, it plans %d", n, p.Planned)
	}
	for _, f := range p.Foreign {
		if len(f.Chunks) != len(f.Members) || results.CheckSweepID(f.SweepID) != nil {
			return fmt.Errorf("the plan's reference to sweep %q is malformed", f.SweepID)
		}
	}
	return nil
}

// numericsMismatch is the error for a sweep planned by other numerics than
// this worker's, with chunks still to compute (notDone says which): this
// version would store its points among those of the plan's version, under
// a plan, manifest and members that say the plan's (a later sweep then
// takes them all for the old version and computes them again).
func numericsMismatch(p *planFile, notDone string) error {
	return temporal.NewNonRetryableApplicationError(numericsMismatchText(p, notDone), NumericsMismatchErrorType, nil)
}

// numericsMismatchText is the message of numericsMismatch.
func numericsMismatchText(p *planFile, notDone string) string {
	return fmt.Sprintf("sweep %s was planned by numerics version %d and %s, but this isweep computes version %d, and a sweep's points are all of one version: finish it with an isweep of numerics version %d, or give the spec another name to plan it anew with version %d (the points version %d stored are then computed again, or, with -reuse-numerics %d, reused where both versions compute the same: %s)",
		p.SweepID, p.Numerics, notDone, dynamics.NumericsVersion, p.Numerics, dynamics.NumericsVersion, p.Numerics, p.Numerics, dynamics.SameResultsText)
}

// invalidSpec wraps a validation error as a non-retryable application error.
func invalidSpec(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), InvalidSpecErrorType, err)
}

// storageError returns err as a non-retryable application error of type
// StorageErrorType when retrying cannot cure it (store.IsPermanent), and
// err itself otherwise.
func storageError(err error) error {
	if err == nil || !store.IsPermanent(err) {
		return err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), StorageErrorType, err)
}

// warn logs a warning when ctx is an activity's.
func warn(ctx context.Context, msg string, keyvals ...any) {
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn(msg, keyvals...)
	}
}

// info logs a line when ctx is an activity's.
func info(ctx context.Context, msg string, keyvals ...any) {
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info(msg, keyvals...)
	}
}

// beat records a heartbeat when ctx is an activity's.
func beat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// PlanSweep validates the spec, stores it, and plans the sweep: it takes
// the next entry of the output's plan log, in which the sweep owns the
// points no earlier sweep (of the same numerics) holds, and refers to the
// earlier sweeps' chunks for the others. A plan once stored is reused. The
// plan it returns lists the chunks already done, after verifying them:
// a chunk whose marker or parts do not check out is moved to quarantine
// and computed again.
func (a *Activities) PlanSweep(ctx context.Context, in PlanInput) (Plan, error) {
	// Heartbeats keep a plan whose worker died from holding the sweep up
	// for the activity's whole timeout.
	defer a.heartbeat(ctx, &progress{})()
	spec, err := schemas.Parse(in.Spec, "spec")
	if err != nil {
		return Plan{}, invalidSpec(err)
	}
	if err := spec.ValidateContext(ctx, func(done, _ int64) { beat(ctx, "validating", done) }); err != nil {
		if ctx.Err() != nil {
			return Plan{}, ctx.Err()
		}
		return Plan{}, invalidSpec(err)
	}
	st, err := a.store(ctx, spec.Output)
	if err != nil {
		return Plan{}, storageError(err)
	}
	sweepID := spec.SweepID()
	// Whether this attempt writes the spec: if it does and the first
	// planning is refused, the spec goes again (forgetRefusedSpec).
	_, statErr := st.Stat(ctx, results.SpecKey(sweepID))
	newSpec := errors.Is(statErr, store.ErrNotFound)
	sweepsFolder := store.FolderExists(st, results.SweepsPrefix)
	if err := st.Put(ctx, results.SpecKey(sweepID), spec.Identity()); err != nil {
		var conflict *store.ConflictError
		if errors.As(err, &conflict) {
			return Plan{}, storageError(&store.PermanentError{
				Reason: fmt.Sprintf("%s in %s holds another spec than this sweep's; it was not written by this version of isweep, or was edited: move it away", results.SpecKey(sweepID), st.Location()),
				Err:    err,
			})
		}
		return Plan{}, storageError(fmt.Errorf("store spec of sweep %s: %w", sweepID, err))
	}
	p, justPlanned, earlier, err := a.plan(ctx, st, spec, in.ReuseNumerics)
	if err != nil {
		err = storageError(err)
		if newSpec {
			a.forgetRefusedSpec(ctx, st, sweepID, !sweepsFolder, err)
		}
		return Plan{}, err
	}
	sc, err := a.sweepFromPlan(ctx, st, spec.Output, p)
	if err != nil {
		return Plan{}, storageError(err)
	}
	plan := p.toPlan(spec.Output)
	if p.Numerics != dynamics.NumericsVersion {
		// Refused before its markers are checked (which would reject
		// any this version cannot take for its plan's).
		own, err := chunksDone(ctx, st, p.SweepID, p.ownChunks())
		if err != nil {
			return Plan{}, storageError(err)
		}
		if left := int64(len(own)) - int64(countTrue(own)); left > 0 {
			return Plan{}, numericsMismatch(p, fmt.Sprintf("%d of its %d chunks are not done", left, len(own)))
		}
	}
	done, err := a.doneChunks(ctx, sc, justPlanned, in.Verify)
	if err != nil {
		return Plan{}, storageError(err)
	}
	if p.Numerics != dynamics.NumericsVersion && done.bits.Done < done.bits.Chunks {
		return Plan{}, numericsMismatch(p, fmt.Sprintf("%d of its %d chunks are not done", done.bits.Chunks-done.bits.Done, done.bits.Chunks))
	}
	plan.Done, plan.ReusedReady, plan.Rejected = &done.bits, done.reusedReady, done.rejected
	if justPlanned {
		plan.Near = a.nearValuesOf(ctx, st, spec.Output, sc.grid, earlier)
	}
	info(ctx, "Planned sweep", "SweepID", sweepID, "Seq", p.Seq, "Points", p.Points,
		"Planned", p.Planned, "Reused", p.Reused, "Chunks", p.chunks(), "Done", done.bits.Done, "Rejected", len(done.rejected))
	return plan, nil
}

// forgetRefusedSpec removes the spec PlanSweep stored for a sweep whose
// first planning was refused (err is not retryable: parts of a sweep
// without a plan in the output, an output put together from two, …), and
// the sweeps/ folder when the spec's put made it (madeSweepsFolder), so
// that the refusal leaves the output as it was: a sweeps/<id>/ folder of
// a sweep never planned reads as a sweep. It removes nothing that anything
// refers to: not when the sweep has a plan, a plan log entry or a chunk
// marker (a planner of the same sweep got further meanwhile), and never a
// result. Failures are only logged: the refusal is what the user needs.
func (a *Activities) forgetRefusedSpec(ctx context.Context, st store.Store, sweepID string, madeSweepsFolder bool, err error) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || ctx.Err() != nil {
		return // retried: the next attempt stores the same spec
	}
	if _, err := st.Stat(ctx, results.PlanKey(sweepID)); !errors.Is(err, store.ErrNotFound) {
		return
	}
	entries, err := readPlanLogEntries(ctx, st)
	if err != nil || slices.ContainsFunc(entries, func(e *planFile) bool { return e.SweepID == sweepID }) {
		return
	}
	for range st.List(ctx, results.ChunksPrefix(sweepID)) {
		return // a marker, or a listing that failed: the spec stays
	}
	if err := st.Delete(ctx, results.SpecKey(sweepID)); err != nil {
		warn(ctx, "Spec of a refused sweep not removed", "SweepID", sweepID, "Error", err)
		return
	}
	// The sweep's folder, and sweeps/ itself when the spec's put made it
	// (each only when empty).
	folders := []string{results.SweepsPrefix + sweepID}
	if madeSweepsFolder {
		folders = append(folders, results.SweepsPrefix)
	}
	for _, folder := range folders {
		if err := store.RemoveEmptyFolder(ctx, st, folder); err != nil {
			warn(ctx, "Folder of a refused sweep not removed", "SweepID", sweepID, "Folder", folder, "Error", err)
			return
		}
	}
}

// plan returns the stored plan of spec's sweep, or makes and stores it;
// justPlanned reports the latter, and earlier are then the plan log's
// entries before it.
func (a *Activities) plan(ctx context.Context, st store.Store, spec *schemas.Spec, reuse []int) (p *planFile, justPlanned bool, earlier []*planFile, err error) {
	sweepID := spec.SweepID()
	if p, err := readPlan(ctx, st, sweepID); err == nil {
		return p, false, nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, nil, err
	}
	grid, err := spec.Grid()
	if err != nil {
		return nil, false, nil, invalidSpec(err)
	}
	for {
		entries, restored, err := readPlanLog(ctx, st)
		if err != nil {
			return nil, false, nil, err
		}
		if err := restorePlanLog(ctx, st, restored); err != nil {
			return nil, false, nil, err
		}
		if i := slices.IndexFunc(entries, func(e *planFile) bool { return e.SweepID == sweepID }); i >= 0 {
			// Planned before, and the copy at PlanKey was not written (a
			// crash in between) or lost: the log entry stands.
			p := entries[i]
			if err := putPlanCopy(ctx, st, p); err != nil {
				return nil, false, nil, err
			}
			return p, false, nil, nil
		}
		p, err := a.newPlan(ctx, st, spec, grid, entries, reuse)
		if err != nil {
			return nil, false, nil, err
		}
		body, err := json.Marshal(p)
		if err != nil {
			return nil, false, nil, err
		}
		if err := st.Put(ctx, results.PlanLogKey(p.Seq), body); err != nil {
			var conflict *store.ConflictError
			if errors.As(err, &conflict) {
				// Another sweep took this entry first: plan again after it.
				info(ctx, "Plan log entry taken; planning again", "SweepID", sweepID, "Seq", p.Seq)
				continue
			}
			return nil, false, nil, fmt.Errorf("store plan of sweep %s: %w", sweepID, err)
		}
		if err := putPlanCopy(ctx, st, p); err != nil {
			return nil, false, nil, err
		}
		return p, true, entries, nil
	}
}

// restorePlanLog puts back the plan log entries readPlanLog took from
// their sweeps' copies, so that the log is whole again.
func restorePlanLog(ctx context.Context, st store.Store, restored []*planFile) error {
	for _, p := range restored {
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		err = st.Put(ctx, results.PlanLogKey(p.Seq), body)
		var conflict *store.ConflictError
		switch {
		case errors.As(err, &conflict):
			// Another planner put an entry there meanwhile; the next
			// read of the log sees which.
		case err != nil:
			return fmt.Errorf("restore plan log entry %d (sweep %s): %w", p.Seq, p.SweepID, err)
		default:
			warn(ctx, "Plan log entry restored from its sweep's copy", "SweepID", p.SweepID, "Seq", p.Seq)
		}
	}
	return nil
}

// chunksDone reports which of the first n own chunks of a sweep have a
// marker, from one listing of its markers.
// countTrue counts the true values of b.
func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// chunksDone reports which of the first n chunks of sweepID have a marker.
func chunksDone(ctx context.Context, st store.Store, sweepID string, n int64) ([]bool, error) {
	done := make([]bool, n)
	prefix := results.ChunksPrefix(sweepID)
	for obj, err := range st.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		if c, ok := results.ParseChunkKey(prefix, obj.Key); ok && c < n {
			done[c] = true
		}
	}
	return done, nil
}

// putPlanCopy stores the copy of a plan log entry at its sweep's PlanKey.
func putPlanCopy(ctx context.Context, st store.Store, p *planFile) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := st.Put(ctx, results.PlanKey(p.SweepID), body); err != nil {
		return fmt.Errorf("store plan of sweep %s: %w", p.SweepID, err)
	}
	return nil
}

// readPlan reads and checks the stored plan of a sweep.
func readPlan(ctx context.Context, st store.Store, sweepID string) (*planFile, error) {
	body, err := st.Get(ctx, results.PlanKey(sweepID))
	if err != nil {
		return nil, err
	}
	return decodePlan(body, sweepID, results.PlanKey(sweepID))
}

func decodePlan(body []byte, sweepID, key string) (*planFile, error) {
	var p planFile
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("%s is not a plan of this version of isweep (%v); move it away", key, err), Err: err}
	}
	if sweepID == "" {
		sweepID = p.SweepID
	}
	if err := p.check(sweepID); err != nil {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("%s: %v; move it away", key, err), Err: err}
	}
	return &p, nil
}

// readPlanLog reads the output's plan log, in entry order. An entry that
// is gone (plans/ deleted, or left out when the output was copied) while
// its sweep's copy of it (PlanKey) is there is taken from the copy, and
// restored reports it: without it a new sweep would not know which points
// the output holds, and would store them again. Two sweeps that claim one
// entry (outputs merged into one) leave no order to decide which owns the
// points they share: that is a permanent error naming both.
func readPlanLog(ctx context.Context, st store.Store) (entries, restored []*planFile, err error) {
	entries, err = readPlanLogEntries(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	// The parts' sweeps, listed before the sweeps' folders: a sweep writes
	// its plan (entry, then copy) before any part, so a part listed here
	// whose sweep has neither entry nor plan copy below is not one of a
	// sweep being planned now.
	parts, err := partsBySweep(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	bySeq := make(map[int64]*planFile, len(entries))
	logged := make(map[string]bool, len(entries))
	for _, e := range entries {
		bySeq[e.Seq], logged[e.SweepID] = e, true
	}
	// The sweeps with chunk markers: each must be in the log (its entry,
	// or its copy of it).
	var withMarkers []string
	withPlan := map[string]bool{} // the sweeps with a plan copy
	for obj, err := range st.List(ctx, results.SweepsPrefix) {
		if err != nil {
			return nil, nil, err
		}
		if id, _, ok := results.ParseMarkerKey(obj.Key); ok {
			if len(withMarkers) == 0 || withMarkers[len(withMarkers)-1] != id {
				withMarkers = append(withMarkers, id)
			}
			continue
		}
		sweepID, ok := results.ParsePlanKey(obj.Key)
		if !ok {
			continue
		}
		withPlan[sweepID] = true
		body, err := st.Get(ctx, obj.Key)
		if err != nil {
			return nil, nil, err
		}
		p, err := decodePlan(body, sweepID, obj.Key)
		if err != nil && logged[sweepID] {
			continue // the log has the entry; the sweep's own run reports its copy
		} else if err != nil {
			return nil, nil, err
		}
		switch e, ok := bySeq[p.Seq]; {
		case p.Seq < 1:
			continue // a plan from before the log: it has no entry to restore
		case !ok:
			bySeq[p.Seq] = p
			entries = append(entries, p)
			restored = append(restored, p)
		case e.SweepID != sweepID:
			return nil, nil, &store.PermanentError{Reason: fmt.Sprintf("sweeps %s and %s both say they are entry %d of the plan log of %s (the output was put together from two outputs?): the log cannot tell which of them owns the points they share; plan new sweeps into another output, and check these two with isweep verify", e.SweepID, sweepID, p.Seq, st.Location())}
		default:
			continue
		}
		logged[sweepID] = true
	}
	// A sweep with stored chunks but neither entry nor copy, or a hole in
	// the numbers, is an owner the log lost: a new sweep would store its
	// points again.
	for _, id := range withMarkers {
		if !logged[id] {
			return nil, nil, &store.PermanentError{Reason: fmt.Sprintf("sweep %s has chunks in %s but neither its plan (%s) nor a plan log entry: which points it holds is unknown, and a new sweep would store them again; restore its plan, or move sweeps/%s/ and its parts (part-%s-*.parquet under %s/) away and check the output with isweep verify", id, st.Location(), results.PlanKey(id), id, id, strings.Join(results.PartTables, "/ and "))}
		}
	}
	slices.SortFunc(entries, func(a, b *planFile) int { return int(a.Seq - b.Seq) })
	for i, e := range entries {
		if want := int64(i) + 1; e.Seq != want {
			return nil, nil, &store.PermanentError{Reason: fmt.Sprintf("plan log entry %d of %s is missing (%s), and no sweep has a copy of it: the sweep it named may hold points a new sweep would store again; restore it, or plan new sweeps into another output", want, st.Location(), results.PlanLogKey(want))}
		}
	}
	// Parts of a sweep that has neither plan nor entry (its folder, or its
	// plan and chunks, and the log deleted; or parts copied in from
	// another output): a new sweep would store their points again.
	for _, id := range slices.Sorted(maps.Keys(parts)) {
		if !withPlan[id] && !logged[id] {
			p := parts[id]
			return nil, nil, &store.PermanentError{Reason: fmt.Sprintf("%s holds %d part(s) of sweep %s (%s, …), which has neither a plan (%s) nor a plan log entry: which points they hold is unknown to isweep, and a new sweep would store them again; move the files part-%s-*.parquet under %s/ away (or put back sweeps/%s/ with its plan), and check the output with isweep verify", st.Location(), p.count, id, p.first, results.PlanKey(id), id, strings.Join(results.PartTables, "/ and "), id)}
		}
	}
	return entries, restored, nil
}

// sweepParts counts the parts of one sweep in an output; first is the key
// of the first listed.
type sweepParts struct {
	count int
	first string
}

// partsBySweep lists the parts of the points and trajectories tables by
// the sweep their names give.
func partsBySweep(ctx context.Context, st store.Store) (map[string]*sweepParts, error) {
	parts := map[string]*sweepParts{}
	for _, table := range results.PartTables {
		for obj, err := range st.List(ctx, table+"/") {
			if err != nil {
				return nil, err
			}
			_, id, _, ok := results.ParsePartKey(obj.Key)
			if !ok {
				continue
			}
			p := parts[id]
			if p == nil {
				p = &sweepParts{first: obj.Key}
				parts[id] = p
			}
			p.count++
		}
	}
	return parts, nil
}

// readPlanLogEntries reads the entries stored under plans/, in entry order.
func readPlanLogEntries(ctx context.Context, st store.Store) ([]*planFile, error) {
	var entries []*planFile
	for obj, err := range st.List(ctx, results.PlanLogPrefix) {
		if err != nil {
			return nil, err
		}
		seq, ok := results.ParsePlanLogKey(obj.Key)
		if !ok {
			continue
		}
		body, err := st.Get(ctx, obj.Key)
		if err != nil {
			return nil, err
		}
		p, err := decodePlan(body, "", obj.Key)
		if err != nil {
			return nil, err
		}
		if p.Seq != seq {
			return nil, &store.PermanentError{Reason: fmt.Sprintf("%s holds plan log entry %d; move it away", obj.Key, p.Seq)}
		}
		entries = append(entries, p)
	}
	slices.SortFunc(entries, func(a, b *planFile) int { return int(a.Seq - b.Seq) })
	return entries, nil
}

// ownedPoint is a point stored by an earlier sweep: entry is its plan's
// index in the log, chunk the owner's chunk that holds it.
type ownedPoint struct {
	key   pointKey
	entry int32
	chunk int32
	// other marks a point of a plan of another numerics version (reused
	// only when asked for, and then only where no plan of this version
	// holds the point).
	other bool
}

// ownedPoints returns the points owned by the plan log's entries, sorted by
// key, a point of this numerics version before the same point of another:
// those of plans made with this numerics version or one in reuse (owned),
// and those of plans made with another (stale), which are not reused.
func (a *Activities) ownedPoints(ctx context.Context, st store.Store, output string, entries []*planFile, reuse []int) (owned, stale []ownedPoint, err error) {
	for i, e := range entries {
		sc, err := a.sweepFromPlan(ctx, st, output, e)
		if errors.Is(err, store.ErrNotFound) {
			// Retrying cannot bring the folder back.
			way := fmt.Sprintf("or move %s away together with that sweep's parts (part-%s-*.parquet under %s/; new sweeps then compute its points again)",
				results.PlanLogKey(e.Seq), e.SweepID, strings.Join(results.PartTables, "/ and "))
			if i < len(entries)-1 {
				// A log cannot lose an entry before others.
				way = "or plan new sweeps into another output"
			}
			return nil, nil, &store.PermanentError{Reason: fmt.Sprintf("plan log entry %d names sweep %s, whose spec %s is gone from %s: restore the folder sweeps/%s/, %s",
				e.Seq, e.SweepID, results.SpecKey(e.SweepID), st.Location(), e.SweepID, way), Err: err}
		} else if err != nil {
			return nil, nil, fmt.Errorf("read plan log entry %d (sweep %s): %w", e.Seq, e.SweepID, err)
		}
		keys, err := gridKeys(ctx, sc.grid, e.Ranges, func(done int64) { beat(ctx, "reading plan", e.SweepID, done) })
		if err != nil {
			return nil, nil, err
		}
		other := e.Numerics != dynamics.NumericsVersion
		reused := !other || slices.Contains(reuse, e.Numerics)
		// Of a sweep of other numerics only what is stored is reused: a
		// chunk of it not done yet would be computed by this version at
		// that sweep's keys, rows of these numerics that a later sweep,
		// taking the whole sweep as other numerics, would compute again.
		// (and of the others only what is stored counts as computed
		// again: a point an interrupted sweep only planned is new).
		var done []bool
		if other {
			if done, err = chunksDone(ctx, st, e.SweepID, (int64(len(keys))+e.ChunkSize-1)/e.ChunkSize); err != nil {
				return nil, nil, err
			}
		}
		// And of its stored points only those it computed as this
		// version does (dynamics.SameResults).
		ords := rangeOrdinals(e.Ranges)
		for pos, k := range keys {
			c := int64(pos) / e.ChunkSize
			if other && !done[c] {
				continue
			}
			dst := &owned
			if !reused || other && !dynamics.SameResults(sc.grid.Params(ords(pos)), e.Numerics) {
				dst = &stale
			}
			*dst = append(*dst, ownedPoint{key: k, entry: int32(i), chunk: int32(c), other: other})
		}
	}
	byKey := func(o *ownedPoint) pointKey { return o.key }
	compare := func(a, b ownedPoint) int {
		if c := comparePointKeys(a.key, b.key); c != 0 {
			return c
		}
		switch {
		case a.other != b.other && !a.other:
			return -1
		case a.other != b.other:
			return 1
		}
		return int(a.entry - b.entry)
	}
	return sortKeys(owned, byKey, compare), sortKeys(stale, byKey, compare), nil
}

// rangeOrdinals returns the grid ordinal of each position in the points
// of ranges (half-open ordinal ranges, in order), for positions asked in
// increasing order.
func rangeOrdinals(ranges [][2]int64) func(pos int) int64 {
	r, start := 0, 0 // the range of the last position, and its first position
	return func(pos int) int64 {
		for r < len(ranges) && pos-start >= int(ranges[r][1]-ranges[r][0]) {
			start += int(ranges[r][1] - ranges[r][0])
			r++
		}
		if r == len(ranges) {
			panic(fmt.Sprintf("activities: position %d is beyond the plan's ranges", pos))
		}
		return ranges[r][0] + int64(pos-start)
	}
}

// newPlan plans spec's sweep as the entry after entries, reusing the
// points of plans of this numerics version and of those in reuse.
func (a *Activities) newPlan(ctx context.Context, st store.Store, spec *schemas.Spec, grid *schemas.Grid, entries []*planFile, reuse []int) (*planFile, error) {
	p := &planFile{
		Seq: 1, SweepID: spec.SweepID(), Name: spec.Name, Numerics: dynamics.NumericsVersion,
		Limits: spec.Limits.WithDefaults(), GridPoints: grid.Len(), ChunkSize: int64(grid.ChunkSize()),
	}
	if len(entries) > 0 {
		p.Seq = entries[len(entries)-1].Seq + 1
	}
	n := grid.Len()
	if len(entries) == 0 && !grid.MayRepeat() {
		// The first sweep of an output, and no two entries the same point:
		// it owns every entry, and nothing needs hashing.
		p.Points, p.Planned, p.Ranges = n, n, [][2]int64{{0, n}}
		return p, nil
	}
	owned, stale, err := a.ownedPoints(ctx, st, spec.Output, entries, reuse)
	if err != nil {
		return nil, err
	}
	keys, err := gridKeys(ctx, grid, [][2]int64{{0, n}}, func(done int64) { beat(ctx, "planning", done) })
	if err != nil {
		return nil, err
	}
	type entry struct {
		key pointKey
		ord int64
	}
	sorted := make([]entry, n)
	for i, k := range keys {
		sorted[i] = entry{k, int64(i)}
	}
	keys = nil
	sorted = sortKeys(sorted, func(e *entry) pointKey { return e.key }, func(a, b entry) int {
		if c := comparePointKeys(a.key, b.key); c != 0 {
			return c
		}
		return int(a.ord - b.ord)
	})

	// notOwn marks the ordinals this sweep does not store: later entries
	// of a point, and points an earlier sweep owns.
	notOwn := make([]uint64, (n+63)/64)
	members := map[[2]int32]int64{} // (entry, chunk) → points of this sweep
	other := map[[2]int]int64{}     // (numerics, reused) → points
	oi, si := 0, 0
	for i := 0; i < len(sorted); i++ {
		e := sorted[i]
		if i > 0 && sorted[i-1].key == e.key {
			notOwn[e.ord/64] |= 1 << (e.ord % 64)
			continue
		}
		p.Points++
		for oi < len(owned) && comparePointKeys(owned[oi].key, e.key) < 0 {
			oi++
		}
		if oi < len(owned) && owned[oi].key == e.key {
			notOwn[e.ord/64] |= 1 << (e.ord % 64)
			members[[2]int32{owned[oi].entry, owned[oi].chunk}]++
			p.Reused++
			if owned[oi].other {
				other[[2]int{entries[owned[oi].entry].Numerics, 1}]++
			}
			continue
		}
		for si < len(stale) && comparePointKeys(stale[si].key, e.key) < 0 {
			si++
		}
		if si < len(stale) && stale[si].key == e.key {
			p.NotReused++
			other[[2]int{entries[stale[si].entry].Numerics, 0}]++
		}
	}
	for k, count := range other {
		p.OtherNumerics = append(p.OtherNumerics, NumericsCount{Numerics: k[0], Points: count, Reused: k[1] == 1})
	}
	slices.SortFunc(p.OtherNumerics, func(a, b NumericsCount) int { return a.Numerics - b.Numerics })
	start := int64(-1)
	for o := range n {
		own := notOwn[o/64]&(1<<(o%64)) == 0
		switch {
		case own && start < 0:
			start = o
		case !own && start >= 0:
			p.Ranges = append(p.Ranges, [2]int64{start, o})
			start = -1
		}
		if own {
			p.Planned++
		}
	}
	if start >= 0 {
		p.Ranges = append(p.Ranges, [2]int64{start, n})
	}
	// Foreign chunks in log order, then chunk order: deterministic, so two
	// planners of one sweep store the same bytes.
	refs := make([][2]int32, 0, len(members))
	for k := range members {
		refs = append(refs, k)
	}
	slices.SortFunc(refs, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	for _, r := range refs {
		sweep := entries[r[0]].SweepID
		if len(p.Foreign) == 0 || p.Foreign[len(p.Foreign)-1].SweepID != sweep {
			p.Foreign = append(p.Foreign, foreignRef{SweepID: sweep})
		}
		f := &p.Foreign[len(p.Foreign)-1]
		f.Chunks = append(f.Chunks, int64(r[1]))
		f.Members = append(f.Members, members[r])
	}
	return p, nil
}

// Preview is what planning a spec into its output would decide.
type Preview struct {
	SweepID string
	// Stored reports that the sweep is planned in the output already: the
	// counts are its stored plan's.
	Stored bool
	// GridPoints, Points, Reused, NotReused, Planned and OtherNumerics are
	// as in Plan; ReusedFrom lists the sweeps whose points would be
	// reused.
	GridPoints, Points, Reused, NotReused, Planned int64
	ReusedFrom                                     []string
	ChunkSize                                      int64
	OtherNumerics                                  []NumericsCount
	// Numerics is the plan's numerics version (this version for a sweep
	// not planned yet).
	Numerics int
	// OwnChunks counts the sweep's own chunks, OwnChunksDone those stored
	// (none for a sweep not planned yet), and ToCompute the points in the
	// others.
	OwnChunks, OwnChunksDone, ToCompute int64
	// Refused says why a run of the sweep would be refused before any
	// work (a stored plan of other numerics with chunks to compute);
	// empty when it would run.
	Refused string
	// Near says, a line each, which axis values of the spec are within
	// nearULPs of a different value of the same parameter on an axis of an
	// earlier sweep in the output, or of the spec itself: distinct points
	// that were most likely meant to be one (NumPy's logspace and isweep's
	// differ in the last bits).
	Near []string
}

// nearULPs is how close two different numbers must be for Preview.Near:
// logspace agrees with NumPy's to within 4 ulp.
const nearULPs = 4

// ulpsApart returns how many representable doubles lie between a and b
// plus one (0 when equal), for finite numbers of one sign; otherwise a
// number above nearULPs.
func ulpsApart(a, b float64) uint64 {
	if a == b {
		return 0
	}
	if math.Signbit(a) != math.Signbit(b) || math.IsInf(a, 0) || math.IsInf(b, 0) || a != a || b != b {
		return math.MaxUint64
	}
	x, y := math.Float64bits(math.Abs(a)), math.Float64bits(math.Abs(b))
	return max(x, y) - min(x, y)
}

// nearValues returns the Preview.Near lines of the axis numbers mine
// against those of earlier (a sweep id and name each) and against
// themselves. Each side's values are sorted once, so that a value's
// nearest neighbours are found by a binary search (axes of 10⁶ values
// each are compared in O(n log n), not O(n²)).
func nearValues(mine map[string][]float64, earlier []sweepNumbers) []string {
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(mine)) {
		vals := sortedDistinct(mine[name])
		for i := 1; i < len(vals); i++ {
			if d := ulpsApart(vals[i-1], vals[i]); d <= nearULPs {
				lines = append(lines, fmt.Sprintf("%s: %v and %v are %d ulp apart, two points; use one value", name, vals[i-1], vals[i], d))
			}
		}
		for _, e := range earlier {
			theirs := sortedDistinct(e.numbers[name])
			for _, v := range vals {
				i, _ := slices.BinarySearch(theirs, v)
				// The nearest different values are just below and above v.
				for _, j := range [...]int{i - 1, i, i + 1} {
					if j < 0 || j >= len(theirs) {
						continue
					}
					if w := theirs[j]; w != v && ulpsApart(v, w) <= nearULPs {
						lines = append(lines, fmt.Sprintf("%s: %v is %d ulp from %v of sweep %s (%s), a distinct point; write %v to reuse that sweep's point", name, v, ulpsApart(v, w), w, e.sweepID, e.name, w))
						break
					}
				}
			}
		}
	}
	return lines
}

// sortedDistinct returns the values of x in increasing order, once each.
func sortedDistinct(x []float64) []float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	return slices.Compact(x)
}

// sweepNumbers are the axis numbers of an earlier sweep (Grid.AxisNumbers).
type sweepNumbers struct {
	sweepID, name string
	numbers       map[string][]float64
}

// PreviewPlan returns what PlanSweep would decide for spec, reusing the
// points of the numerics versions in reuse too, and stores nothing. st may
// be nil for an output that does not exist yet.
func PreviewPlan(ctx context.Context, st store.Store, spec *schemas.Spec, reuse []int) (Preview, error) {
	a, err := New(Config{OpenStore: func(context.Context, string) (store.Store, error) { return st, nil }})
	if err != nil {
		return Preview{}, err
	}
	sweepID := spec.SweepID()
	var entries []*planFile
	if st != nil {
		if p, err := readPlan(ctx, st, sweepID); err == nil {
			return storedPreview(ctx, st, p)
		} else if !errors.Is(err, store.ErrNotFound) {
			return Preview{}, err
		}
		if entries, _, err = readPlanLog(ctx, st); err != nil {
			return Preview{}, err
		}
		if i := slices.IndexFunc(entries, func(e *planFile) bool { return e.SweepID == sweepID }); i >= 0 {
			return storedPreview(ctx, st, entries[i])
		}
	}
	grid, err := spec.Grid()
	if err != nil {
		return Preview{}, err
	}
	p, err := a.newPlan(ctx, st, spec, grid, entries, reuse)
	if err != nil {
		return Preview{}, err
	}
	pv := previewOf(p, false)
	pv.Near = a.nearValuesOf(ctx, st, spec.Output, grid, entries)
	return pv, nil
}

// nearValuesOf returns the Preview.Near lines of grid against the sweeps
// of the plan log entries earlier in output (st). They are advice: an
// earlier sweep that cannot be read is left out.
func (a *Activities) nearValuesOf(ctx context.Context, st store.Store, output string, grid *schemas.Grid, earlier []*planFile) []string {
	var numbers []sweepNumbers
	for _, e := range earlier {
		sc, err := a.sweepFromPlan(ctx, st, output, e)
		if err != nil {
			continue
		}
		numbers = append(numbers, sweepNumbers{sweepID: e.SweepID, name: sc.spec.Name, numbers: sc.grid.AxisNumbers()})
	}
	return nearValues(grid.AxisNumbers(), numbers)
}

func previewOf(p *planFile, stored bool) Preview {
	return Preview{SweepID: p.SweepID, Stored: stored, GridPoints: p.GridPoints, Points: p.Points, Reused: p.Reused,
		NotReused: p.NotReused, Planned: p.Planned, ReusedFrom: p.reusedFrom(), ChunkSize: p.ChunkSize, OtherNumerics: p.OtherNumerics,
		Numerics: p.Numerics, OwnChunks: p.ownChunks(), ToCompute: p.Planned}
}

// storedPreview is the preview of a sweep planned in the output before:
// its plan's counts, and what of its own chunks is done.
func storedPreview(ctx context.Context, st store.Store, p *planFile) (Preview, error) {
	pv := previewOf(p, true)
	done, err := chunksDone(ctx, st, p.SweepID, p.ownChunks())
	if err != nil {
		return Preview{}, err
	}
	pv.ToCompute = 0
	for c, d := range done {
		if d {
			pv.OwnChunksDone++
			continue
		}
		lo := int64(c) * p.ChunkSize
		pv.ToCompute += min(lo+p.ChunkSize, p.Planned) - lo
	}
	if p.Numerics != dynamics.NumericsVersion && pv.OwnChunksDone < pv.OwnChunks {
		pv.Refused = numericsMismatchText(p, fmt.Sprintf("%d of its %d chunks are not done", pv.OwnChunks-pv.OwnChunksDone, pv.OwnChunks))
	}
	return pv, nil
}
