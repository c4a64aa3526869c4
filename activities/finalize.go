package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// markerReaders bounds the concurrent reads of chunk markers.
const markerReaders = 16

// FinalizeSweep gathers the markers of every chunk the sweep needs (its own
// and the earlier sweeps' chunks that hold its reused points). When all are
// stored, and their parts are, it writes the members table (every point of
// the sweep and where it is stored), the summary over those points and,
// last, the manifest. These are derived from the chunks every time: one
// that no longer matches them (a chunk was recomputed) is moved to
// quarantine and written anew. A sweep with missing chunks gets no
// manifest: its status is "incomplete" and a later submit finishes it.
// An earlier sweep whose chunk this one computed again gets its derived
// objects written anew too (FinalizeResult.Replaced names them).
func (a *Activities) FinalizeSweep(ctx context.Context, ref SweepRef) (FinalizeResult, error) {
	defer a.heartbeat(ctx, &progress{})()
	res, err := a.finalize(ctx, ref)
	return res, storageError(err)
}

func (a *Activities) finalize(ctx context.Context, ref SweepRef) (FinalizeResult, error) {
	sc, err := a.sweep(ctx, ref.Output, ref.SweepID)
	if err != nil {
		return FinalizeResult{}, err
	}
	p := sc.plan
	markers, damaged, err := a.readMarkers(ctx, sc)
	if err != nil {
		return FinalizeResult{}, err
	}
	// A marker that does not check out leaves its chunk to compute again.
	for _, d := range damaged {
		warn(ctx, "Chunk marker rejected at finalize", "Key", d.key, "Problem", d.problem)
		if err := quarantine(ctx, sc.store, d.sweepID, d.key); err != nil {
			return FinalizeResult{}, err
		}
	}
	var present int64
	for i := range markers {
		present += markers[i].members
	}
	if int64(len(markers)) < p.chunks() {
		return FinalizeResult{Status: results.SweepIncomplete, Points: present, Missing: p.Points - present}, nil
	}
	// The parts must still be there: a part removed since its chunk was
	// done leaves the sweep incomplete, and its chunk to compute again.
	sizes, err := partSizes(ctx, sc.store)
	if err != nil {
		return FinalizeResult{}, err
	}
	for i := range markers {
		mk := &markers[i]
		for _, part := range mk.Parts {
			size, ok := sizes[part.Key]
			if !ok {
				// Not in the listing: ask for the part itself.
				if info, err := sc.store.Stat(ctx, part.Key); err == nil {
					size, ok = info.Size, true
				} else if !errors.Is(err, store.ErrNotFound) {
					return FinalizeResult{}, err
				}
			}
			if !ok || size != part.Bytes {
				problem := fmt.Sprintf("part %s is missing", part.Key)
				if ok {
					problem = fmt.Sprintf("part %s is %d bytes, the marker says %d", part.Key, size, part.Bytes)
				}
				warn(ctx, "Chunk rejected at finalize", "SweepID", mk.SweepID, "Chunk", mk.Chunk, "Problem", problem)
				if err := a.reject(ctx, sc.store, mk.SweepID, mk.Chunk, results.ChunkKey(mk.SweepID, mk.Chunk), &mk.chunkMarker, sizes, false); err != nil {
					return FinalizeResult{}, err
				}
				return FinalizeResult{Status: results.SweepIncomplete, Points: present - mk.members, Missing: p.Points - present + mk.members}, nil
			}
		}
	}

	m := results.Manifest{
		SchemaVersion: results.SchemaVersion,
		SweepID:       p.SweepID,
		Name:          p.Name,
		Spec:          json.RawMessage(sc.spec.Identity()),
		Numerics:      p.Numerics,
		Status:        results.SweepComplete,
		GridPoints:    p.GridPoints,
		Chunks:        p.chunks(),
		Reused:        p.Reused,
		ReusedFrom:    p.reusedFrom(),
	}
	// Own chunks hold only the sweep's points; a foreign chunk may hold
	// other points too, and only the sweep's count.
	var ours map[pointKey]struct{}
	if len(p.Foreign) > 0 {
		keys, err := gridKeys(ctx, sc.grid, [][2]int64{{0, p.GridPoints}}, func(done int64) { beat(ctx, "finalizing", done) })
		if err != nil {
			return FinalizeResult{}, err
		}
		ours = make(map[pointKey]struct{}, len(keys))
		for _, k := range keys {
			ours[k] = struct{}{}
		}
	}
	type member struct {
		key   pointKey
		sweep string
		chunk int64
	}
	members := make([]member, 0, p.Points)
	rejected := false // a chunk was rejected: the sweep is incomplete
	var summary []results.SummaryRow
	// The sweep's times: from its first own chunk done (an extension's
	// chunks of earlier sweeps were done before it existed) to its last
	// chunk; a sweep without own chunks takes the earliest of those it
	// reuses.
	var first, firstOwn, last time.Time
	order, err := a.memberOrder(ctx, ref.Output, p, markers)
	if err != nil {
		return FinalizeResult{}, err
	}
	// taken holds the points counted so far, of chunks that come first.
	var taken map[pointKey]struct{}
	if ours != nil {
		taken = make(map[pointKey]struct{}, p.Points)
	}
	for _, i := range order {
		mk := &markers[i]
		m.Parts = append(m.Parts, mk.Parts...)
		if mk.written.Before(first) || first.IsZero() {
			first = mk.written
		}
		if mk.SweepID == p.SweepID && (mk.written.Before(firstOwn) || firstOwn.IsZero()) {
			firstOwn = mk.written
		}
		if mk.written.After(last) {
			last = mk.written
		}
		whole := true
		var accepted map[pointKey]struct{} // the keys counted, when not all
		own := mk.SweepID == p.SweepID
		for j, k := range mk.keys {
			if ours != nil {
				_, mine := ours[k]
				_, before := taken[k]
				if !mine || before && !own {
					if whole {
						whole, accepted = false, make(map[pointKey]struct{}, len(mk.keys))
						for _, k := range mk.keys[:j] {
							accepted[k] = struct{}{}
						}
					}
					continue
				}
				taken[k] = struct{}{}
				if !whole {
					accepted[k] = struct{}{}
				}
			}
			members = append(members, member{k, mk.SweepID, mk.Chunk})
		}
		if whole {
			m.Counts.AddCounts(mk.Result.StatusCounts)
			summary = append(summary, mk.Summary...)
		} else {
			rows, err := a.memberRows(ctx, sc.store, mk, accepted)
			var damaged *damagedPartError
			if errors.As(err, &damaged) {
				// Changed since its chunk was done (its size still
				// matches): the chunk is computed again.
				warn(ctx, "Chunk rejected at finalize", "SweepID", mk.SweepID, "Chunk", mk.Chunk, "Problem", damaged.Error())
				if err := a.reject(ctx, sc.store, mk.SweepID, mk.Chunk, results.ChunkKey(mk.SweepID, mk.Chunk), &mk.chunkMarker, sizes, false); err != nil {
					return FinalizeResult{}, err
				}
				// Go on: every damaged chunk is rejected at once, so one
				// more run computes them all.
				present -= mk.members
				rejected = true
				continue
			}
			if err != nil {
				return FinalizeResult{}, err
			}
			m.Counts.AddCounts(results.CountStatuses(rows))
			summary = append(summary, results.Summarize(rows)...)
		}
		mk.keys = nil
	}
	if rejected {
		return FinalizeResult{Status: results.SweepIncomplete, Points: present, Missing: p.Points - present}, nil
	}
	if !firstOwn.IsZero() {
		first = firstOwn
	}
	m.CreatedAt, m.FinishedAt = first, last
	members = sortKeys(members, func(mb *member) pointKey { return mb.key }, func(a, b member) int { return comparePointKeys(a.key, b.key) })
	for i := 1; i < len(members); i++ {
		if members[i].key == members[i-1].key {
			return FinalizeResult{}, inconsistentOutput(fmt.Errorf("point %s is stored twice, in chunk %d of sweep %s and chunk %d of sweep %s; run isweep verify", members[i].key, members[i-1].chunk, members[i-1].sweep, members[i].chunk, members[i].sweep))
		}
	}
	if int64(len(members)) != p.Points {
		return FinalizeResult{}, inconsistentOutput(fmt.Errorf("the chunks of sweep %s hold %d of its points, its plan has %d; run isweep verify", p.SweepID, len(members), p.Points))
	}
	m.Points = int64(len(members))

	// The ids' hex in one string that the rows slice: one allocation, not
	// one per point.
	hexIDs := make([]byte, 0, pointIDLen*len(members))
	for _, mb := range members {
		hexIDs = mb.key.appendHex(hexIDs)
	}
	ids := string(hexIDs)
	hexIDs = nil
	rows := make([]results.Member, len(members))
	for i, mb := range members {
		rows[i] = results.Member{PointID: ids[i*pointIDLen : (i+1)*pointIDLen], SweepID: mb.sweep, Chunk: mb.chunk}
	}
	members = nil
	membersBody, err := results.EncodeMembers(rows)
	if err != nil {
		return FinalizeResult{}, err
	}
	summaryBody, err := results.EncodeSummary(results.MergeSummaries(summary))
	if err != nil {
		return FinalizeResult{}, fmt.Errorf("encode summary: %w", err)
	}
	res := FinalizeResult{
		ManifestKey: results.ManifestKey(p.SweepID), SummaryKey: results.SummaryKey(p.SweepID), MembersKey: results.MembersKey(p.SweepID),
		Status: results.SweepComplete, Points: m.Points,
	}
	m.Parts = append(m.Parts,
		results.NewPart(res.MembersKey, results.TableMembers, int64(len(rows)), membersBody),
		results.NewPart(res.SummaryKey, results.TableSummary, int64(len(summary)), summaryBody))
	// Parts may be listed twice when two chunks share one (never for
	// parts, which are per chunk; kept cheap and exact anyway).
	slices.SortFunc(m.Parts, func(a, b results.Part) int { return strings.Compare(a.Key, b.Key) })
	m.Parts = slices.CompactFunc(m.Parts, func(a, b results.Part) bool { return a.Key == b.Key })
	res.Parts = len(m.Parts)
	manifestBody, err := m.Encode()
	if err != nil {
		return FinalizeResult{}, err
	}
	// The manifest goes last: it says the rest is there.
	for _, obj := range []struct {
		key  string
		body []byte
	}{{res.MembersKey, membersBody}, {res.SummaryKey, summaryBody}, {res.ManifestKey, manifestBody}} {
		replaced, err := putDerived(ctx, sc.store, p.SweepID, obj.key, obj.body)
		if err != nil {
			return FinalizeResult{}, err
		}
		if replaced {
			res.Replaced = append(res.Replaced, obj.key)
		}
	}
	info(ctx, "Sweep finalized", "SweepID", p.SweepID, "Points", m.Points, "Parts", len(m.Parts), "Replaced", len(res.Replaced))
	// A chunk of an earlier sweep that this one computed again (the owner
	// lost a part of it) has new parts at the owner's keys, with other
	// bytes (timings): the owner's manifest, derived from its chunks, is
	// derived again, so that its report and verify agree with what is
	// stored. A refresh that fails fails this activity, whose retry finds
	// the owner still stale and refreshes it: left stale, the owner's
	// verify would report its parts changed.
	stale := staleOwners(ctx, sc.store, p.SweepID, markers)
	for _, owner := range stale {
		ores, err := a.finalize(ctx, SweepRef{Output: ref.Output, SweepID: owner})
		if err != nil {
			return FinalizeResult{}, ownerRefreshError(p.SweepID, owner, err)
		}
		res.Replaced = append(res.Replaced, ores.Replaced...)
	}
	// So are those of the other sweeps that reuse such a chunk.
	if len(stale) > 0 {
		others, err := staleReusers(ctx, sc.store, p.SweepID, stale, markers)
		if err != nil {
			return FinalizeResult{}, err
		}
		for _, other := range others {
			ores, err := a.finalize(ctx, SweepRef{Output: ref.Output, SweepID: other})
			if err != nil {
				return FinalizeResult{}, ownerRefreshError(p.SweepID, other, err)
			}
			res.Replaced = append(res.Replaced, ores.Replaced...)
		}
	}
	return res, nil
}

// staleReusers returns the sweeps of the output, besides sweepID and the
// owners in stale, whose manifest lists a part of the chunks of stale
// among markers with other bytes than those markers record: sweeps that
// reuse a chunk sweepID computed again.
func staleReusers(ctx context.Context, st store.Store, sweepID string, stale []string, markers []storedMarker) ([]string, error) {
	current := map[string]string{} // part key → SHA-256, of the chunks computed again
	for i := range markers {
		if mk := &markers[i]; slices.Contains(stale, mk.SweepID) {
			for _, part := range mk.Parts {
				current[part.Key] = part.SHA256
			}
		}
	}
	var out []string
	for obj, err := range st.List(ctx, results.SweepsPrefix) {
		if err != nil {
			return nil, err
		}
		id, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, results.SweepsPrefix), "/manifest.json")
		if !ok || strings.Contains(id, "/") || id == sweepID || slices.Contains(stale, id) || results.CheckSweepID(id) != nil {
			continue
		}
		for key, sha := range manifestParts(ctx, st, id) {
			if want, ok := current[key]; ok && sha != want {
				out = append(out, id)
				break
			}
		}
	}
	return out, nil
}

// ownerRefreshError is err, from refreshing the manifest of the earlier
// sweep owner (or one that reuses its chunk) after sweepID computed a
// chunk again, with both sweeps named; an application error keeps its
// type and retry policy.
func ownerRefreshError(sweepID, owner string, err error) error {
	what := fmt.Sprintf("sweep %s computed a chunk of an earlier sweep again, and the manifest of sweep %s, which holds or reuses it, could not be derived again", sweepID, owner)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		msg := what + ": " + err.Error()
		if appErr.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, appErr.Type(), err)
		}
		return temporal.NewApplicationErrorWithCause(msg, appErr.Type(), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// staleOwners returns the earlier sweeps, among the owners of markers
// other than sweepID, whose manifest lists a part of those chunks with
// other bytes than their marker records, in the order of markers.
func staleOwners(ctx context.Context, st store.Store, sweepID string, markers []storedMarker) []string {
	var owners []string
	// owner → part key → SHA-256; nil once the owner has no manifest or
	// is found stale: nothing more to look at.
	manifests := map[string]map[string]string{}
	for i := range markers {
		mk := &markers[i]
		if mk.SweepID == sweepID {
			continue
		}
		parts, ok := manifests[mk.SweepID]
		if !ok {
			parts = manifestParts(ctx, st, mk.SweepID)
			manifests[mk.SweepID] = parts
		}
		for _, part := range mk.Parts {
			if parts != nil && parts[part.Key] != part.SHA256 {
				owners = append(owners, mk.SweepID)
				manifests[mk.SweepID] = nil
				break
			}
		}
	}
	return owners
}

// manifestParts returns the SHA-256 of each part the manifest of sweepID
// lists, by key; nil when it has no readable manifest (not finished yet:
// nothing to refresh).
func manifestParts(ctx context.Context, st store.Store, sweepID string) map[string]string {
	body, err := st.Get(ctx, results.ManifestKey(sweepID))
	if err != nil {
		return nil
	}
	m, err := results.DecodeManifest(body)
	if err != nil {
		return nil
	}
	parts := make(map[string]string, len(m.Parts))
	for _, part := range m.Parts {
		parts[part.Key] = part.SHA256
	}
	return parts
}

// putDerived stores body, derived from the stored chunks, at key. An
// object already there with other bytes was derived from other chunks
// (some were computed again since): it is moved to quarantine and
// replaced; replaced reports that.
func putDerived(ctx context.Context, st store.Store, sweepID, key string, body []byte) (replaced bool, err error) {
	err = st.Put(ctx, key, body)
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) {
		return false, err
	}
	if err := quarantine(ctx, st, sweepID, key); err != nil {
		return false, err
	}
	return true, st.Put(ctx, key, body)
}

// memberRows reads the points rows of a stored chunk and returns those of
// the points in ours.
func (a *Activities) memberRows(ctx context.Context, st store.Store, mk *storedMarker, ours map[pointKey]struct{}) ([]results.PointRow, error) {
	var out []results.PointRow
	for _, part := range mk.Parts {
		if part.Table != results.TablePoints {
			continue
		}
		body, err := st.Get(ctx, part.Key)
		if err != nil {
			return nil, err
		}
		if got := results.NewPart(part.Key, part.Table, part.Rows, body); got.SHA256 != part.SHA256 {
			return nil, &damagedPartError{key: part.Key, problem: fmt.Sprintf("its SHA-256 is %s, the marker says %s", got.SHA256, part.SHA256)}
		}
		rows, err := results.DecodePoints(body, a.cfg.Alloc)
		if err != nil {
			return nil, &damagedPartError{key: part.Key, problem: err.Error()}
		}
		for _, r := range rows {
			k, err := parsePointKey(r.PointID)
			if err != nil {
				return nil, &damagedPartError{key: part.Key, problem: err.Error()}
			}
			if _, ok := ours[k]; ok {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// memberOrder returns the order in which finalize counts the markers'
// points: their precedence (see precedence).
func (a *Activities) memberOrder(ctx context.Context, output string, p *planFile, markers []storedMarker) ([]int, error) {
	owners := make([]*planFile, len(markers))
	for i := range markers {
		if markers[i].SweepID == p.SweepID {
			owners[i] = p
			continue
		}
		owner, err := a.sweep(ctx, output, markers[i].SweepID)
		if err != nil {
			return nil, err
		}
		owners[i] = owner.plan
	}
	return precedence(p, len(markers), func(i int) (bool, *planFile) { return owners[i] != p, owners[i] }), nil
}

// precedence orders n chunks of sweep p (of chunk i: whether it is an
// earlier sweep's, and that sweep's plan) as newPlan ranked their points:
// the sweep's own chunks, then the chunks of earlier sweeps of p's
// numerics version, then those of other versions (-reuse-numerics), each
// in plan log order. A point belongs to the first chunk that holds it: an
// older version's chunk may also hold points the sweep computed again
// (not the same in both versions) or took from a sweep of its own
// version.
func precedence(p *planFile, n int, chunk func(i int) (foreign bool, owner *planFile)) []int {
	type rank struct {
		foreign, other bool
		seq            int64
	}
	ranks := make([]rank, n)
	for i := range ranks {
		foreign, owner := chunk(i)
		if foreign {
			ranks[i] = rank{true, owner.Numerics != p.Numerics, owner.Seq}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		a, b := ranks[x], ranks[y]
		switch {
		case a.foreign != b.foreign:
			return cmp.Compare(boolRank(a.foreign), boolRank(b.foreign))
		case a.other != b.other:
			return cmp.Compare(boolRank(a.other), boolRank(b.other))
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return order
}

// inconsistentOutput returns err, an inconsistency of the stored chunks
// that retrying cannot cure, as a non-retryable StorageErrorType error: the
// sweep stops and says to run isweep verify, instead of finalizing again
// and again.
func inconsistentOutput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), StorageErrorType, err)
}

// damagedPartError reports a stored part that no longer is what its
// chunk's marker recorded: another hash, or rows that do not decode.
type damagedPartError struct{ key, problem string }

func (e *damagedPartError) Error() string {
	return fmt.Sprintf("part %s is damaged: %s", e.key, e.problem)
}

// storedMarker is a chunk marker as read back: its point ids decoded into
// keys (PointIDsHex emptied), when its chunk was done (its FinishedAt; the
// marker's modification time for markers without one), and how many of
// the finalizing sweep's points its chunk holds.
type storedMarker struct {
	chunkMarker
	keys    []pointKey
	written time.Time
	members int64
}

// damagedMarker is a stored marker that does not check out.
type damagedMarker struct {
	sweepID, key, problem string
}

// readMarkers reads the stored markers of the chunks sc's sweep needs, in
// the order of its chunks, concurrently; those that do not check out are
// returned apart.
func (a *Activities) readMarkers(ctx context.Context, sc *sweepCache) ([]storedMarker, []damagedMarker, error) {
	p := sc.plan
	// The stored markers of each sweep involved, by chunk.
	listed := map[string]map[int64]store.ObjectInfo{}
	list := func(sweepID string) (map[int64]store.ObjectInfo, error) {
		if l, ok := listed[sweepID]; ok {
			return l, nil
		}
		l := map[int64]store.ObjectInfo{}
		prefix := results.ChunksPrefix(sweepID)
		for obj, err := range sc.store.List(ctx, prefix) {
			if err != nil {
				return nil, err
			}
			if c, ok := results.ParseChunkKey(prefix, obj.Key); ok {
				l[c] = obj
			}
		}
		listed[sweepID] = l
		return l, nil
	}
	type job struct {
		obj      store.ObjectInfo
		ref      chunkRef
		members  int64
		numerics int // of the chunk's plan
	}
	var jobs []job
	for i := range p.chunks() {
		ref := p.chunkAt(i)
		l, err := list(ref.SweepID)
		if err != nil {
			return nil, nil, err
		}
		obj, ok := l[ref.Chunk]
		if !ok {
			continue
		}
		numerics := p.Numerics
		if ref.Foreign {
			owner, err := a.sweep(ctx, sc.output, ref.SweepID)
			if err != nil {
				return nil, nil, err
			}
			numerics = owner.plan.Numerics
		}
		jobs = append(jobs, job{obj, ref, ref.Members, numerics})
	}
	out := make([]storedMarker, len(jobs))
	errs := make([]error, len(jobs))
	problems := make([]string, len(jobs))
	sem := make(chan struct{}, markerReaders)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			mk := &out[i]
			body, err := sc.store.Get(ctx, j.obj.Key)
			if err != nil {
				errs[i] = fmt.Errorf("read %s: %w", j.obj.Key, err)
				return
			}
			m, err := decodeMarker(body)
			if err == nil && (m.SweepID != j.ref.SweepID || m.Chunk != j.ref.Chunk) {
				err = fmt.Errorf("the marker is of sweep %s chunk %d", m.SweepID, m.Chunk)
			}
			if err == nil {
				if problem := m.numericsProblem(j.numerics); problem != "" {
					err = errors.New(problem)
				}
			}
			if err == nil {
				mk.chunkMarker = *m
				// The ids as keys take half the memory of their hex.
				mk.keys, err = parseIDsHex(mk.PointIDsHex)
				mk.PointIDsHex = ""
			}
			if err == nil && int64(len(mk.keys)) != mk.Result.Points {
				err = fmt.Errorf("the marker lists %d points and counts %d", len(mk.keys), mk.Result.Points)
			}
			if err != nil {
				problems[i] = err.Error()
			}
			mk.written = mk.FinishedAt
			if mk.written.IsZero() {
				mk.written = j.obj.Modified.UTC()
			}
			mk.members = j.members
		})
		if i%1000 == 0 {
			beat(ctx, "reading markers", i)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var damaged []damagedMarker
	kept := out[:0]
	for i := range out {
		if problems[i] != "" {
			damaged = append(damaged, damagedMarker{jobs[i].ref.SweepID, jobs[i].obj.Key, problems[i]})
			continue
		}
		kept = append(kept, out[i])
	}
	return kept, damaged, nil
}

// boolRank orders false before true.
func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
