package activities

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// Verification. A chunk counts as done only when its marker and parts
// check out: the marker names the chunk and lists exactly its points, and
// every part it lists is stored with the size it records (and, when
// verifying fully, the SHA-256 it records and rows that are the chunk's
// points). Whatever does not check out is moved to quarantine (copied to
// results.QuarantineKey, then deleted), never overwritten, and the chunk
// is computed again.

// maxRejectedLines bounds the lines of Plan.Rejected.
const maxRejectedLines = 20

// checkMarker decodes a marker read from chunk c of sweepID, whose points
// are pts and whose plan is of numerics version numerics, and returns a
// problem ("" when it checks out). sizes holds the stored parts' sizes by
// key; nil means each part is looked up with Stat.
func checkMarker(ctx context.Context, st store.Store, body []byte, sweepID string, c int64, pts []schemas.Point, numerics int, sizes map[string]int64) (*chunkMarker, string) {
	m, err := decodeMarker(body)
	if err != nil {
		return nil, err.Error()
	}
	if m.SweepID != sweepID || m.Chunk != c {
		return nil, fmt.Sprintf("the marker is of sweep %s chunk %d", m.SweepID, m.Chunk)
	}
	if problem := m.numericsProblem(numerics); problem != "" {
		return m, problem
	}
	if len(m.PointIDsHex) != pointIDLen*len(pts) || m.Result.Points != int64(len(pts)) {
		return nil, fmt.Sprintf("the marker lists %d points, the chunk has %d (copied from another output?)", len(m.PointIDsHex)/pointIDLen, len(pts))
	}
	for i, pt := range pts {
		if m.PointIDsHex[i*pointIDLen:(i+1)*pointIDLen] != pt.ID {
			return nil, fmt.Sprintf("the marker lists other points than the chunk's (point %d is %s, want %s; copied from another output?)", i, m.PointIDsHex[i*pointIDLen:(i+1)*pointIDLen], pt.ID)
		}
	}
	var rows int64
	for _, part := range m.Parts {
		if part.Table == results.TablePoints {
			rows += part.Rows
		}
		size, ok := sizes[part.Key]
		if !ok {
			// Not in the listing (or no listing): ask for the part itself.
			info, err := st.Stat(ctx, part.Key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				ok = false
			case err != nil:
				return nil, fmt.Sprintf("part %s cannot be read: %v", part.Key, err)
			default:
				size, ok = info.Size, true
			}
		}
		if !ok {
			return nil, fmt.Sprintf("part %s is missing", part.Key)
		}
		if size != part.Bytes {
			return nil, fmt.Sprintf("part %s is %d bytes, the marker says %d (truncated or replaced)", part.Key, size, part.Bytes)
		}
	}
	if rows != int64(len(pts)) {
		return nil, fmt.Sprintf("the marker's parts hold %d points, the chunk has %d", rows, len(pts))
	}
	return m, ""
}

// checkPartition decodes a partition's two parts and returns a problem
// ("" when they check out): the points part must hold exactly pts, in
// order, of this sweep and chunk; the trajectories part only samples of
// those points, each (point, sample) once.
func checkPartition(pointsBody, trajBody []byte, sweepID string, c int64, pts []schemas.Point, alloc memory.Allocator) (rows []results.PointRow, trajRows int64, problem string) {
	rows, err := results.DecodePoints(pointsBody, alloc)
	if err != nil {
		return nil, 0, fmt.Sprintf("the points part cannot be read (%v)", err)
	}
	if len(rows) != len(pts) {
		return nil, 0, fmt.Sprintf("the points part holds %d points, the partition has %d", len(rows), len(pts))
	}
	want := make(map[string]struct{}, len(pts))
	for i := range rows {
		r := &rows[i]
		if r.PointID != pts[i].ID || r.SweepID != sweepID || r.Chunk != c {
			return nil, 0, fmt.Sprintf("the points part's row %d is point %s of sweep %s chunk %d, want point %s of sweep %s chunk %d (stale or copied?)",
				i, r.PointID, r.SweepID, r.Chunk, pts[i].ID, sweepID, c)
		}
		want[r.PointID] = struct{}{}
	}
	traj, err := results.DecodeTrajectories(trajBody, alloc)
	if err != nil {
		return nil, 0, fmt.Sprintf("the trajectories part cannot be read (%v)", err)
	}
	type sample struct {
		id string
		i  int32
	}
	seen := make(map[sample]struct{}, len(traj))
	for _, t := range traj {
		if _, ok := want[t.PointID]; !ok || t.SweepID != sweepID {
			return nil, 0, fmt.Sprintf("the trajectories part holds point %s of sweep %s, not of this partition (stale or copied?)", t.PointID, t.SweepID)
		}
		k := sample{t.PointID, t.Sample}
		if _, dup := seen[k]; dup {
			return nil, 0, fmt.Sprintf("the trajectories part holds sample %d of point %s twice", t.Sample, t.PointID)
		}
		seen[k] = struct{}{}
	}
	return rows, int64(len(traj)), ""
}

// checkPartsFully reads the parts a checked-out marker lists and returns a
// problem ("" when they check out): each part's SHA-256 is the one the
// marker records, and each partition's parts hold its points.
func checkPartsFully(ctx context.Context, st store.Store, m *chunkMarker, pts []schemas.Point, numerics int, alloc memory.Allocator) (string, error) {
	bodies := map[string][]byte{}
	for _, part := range m.Parts {
		body, err := st.Get(ctx, part.Key)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Sprintf("part %s is missing", part.Key), nil
		} else if err != nil {
			return "", err
		}
		if err := part.Check(body); err != nil {
			return err.Error(), nil
		}
		bodies[part.Key] = body
	}
	var all []results.PointRow
	for _, p := range partitionsOf(pts) {
		k, pp := p.Partition, p.points
		pointsKey := results.PointsKey(m.SweepID, k, m.Chunk)
		trajKey := results.TrajectoriesKey(m.SweepID, k, m.Chunk)
		pb, ok1 := bodies[pointsKey]
		tb, ok2 := bodies[trajKey]
		if !ok1 || !ok2 {
			return fmt.Sprintf("the marker does not list the parts of partition %s", k), nil
		}
		rows, _, problem := checkPartition(pb, tb, m.SweepID, m.Chunk, pp, alloc)
		if problem != "" {
			return fmt.Sprintf("%s: %s", pointsKey, problem), nil
		}
		all = append(all, rows...)
	}
	// The rows of a chunk are of its plan's numerics version: a worker of
	// another version (during an upgrade, on one task queue) stores its
	// own (found by the hostile tester: verify passed such a sweep).
	for i := range all {
		if r := &all[i]; int(r.Numerics) != numerics {
			return fmt.Sprintf("point %s was computed by numerics version %d, and sweep %s's plan is version %d: a worker of another version computed the chunk", r.PointID, r.Numerics, m.SweepID, numerics), nil
		}
	}
	// What finalizing takes from the marker, the counts and the summary,
	// must be what the parts hold.
	if c, r := results.CountStatuses(all), m.Result.StatusCounts; c != r {
		return fmt.Sprintf("the marker's status counts (%v) differ from its parts' (%v)", r, c), nil
	}
	if want := results.Summarize(all); len(want) != len(m.Summary) || (len(want) > 0 && !reflect.DeepEqual(want, m.Summary)) {
		return "the marker's summary rows differ from its parts' points", nil
	}
	return "", nil
}

// quarantine moves the objects at keys (those that exist) aside: each is
// copied to its results.QuarantineKey under sweepID, then deleted.
func quarantine(ctx context.Context, st store.Store, sweepID string, keys ...string) error {
	stamp := time.Now().UTC().Format("20060102T150405.000000000Z")
	for _, key := range keys {
		body, err := st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := st.Put(ctx, results.QuarantineKey(sweepID, stamp, key), body); err != nil {
			return fmt.Errorf("move %s to quarantine: %w", key, err)
		}
		if err := st.Delete(ctx, key); err != nil {
			return fmt.Errorf("move %s to quarantine: %w", key, err)
		}
		warn(ctx, "Moved to quarantine", "Key", key, "To", results.QuarantineKey(sweepID, stamp, key))
	}
	return nil
}

// partSizes lists the sizes of the stored parts of the points and
// trajectories tables, by key.
func partSizes(ctx context.Context, st store.Store) (map[string]int64, error) {
	sizes := map[string]int64{}
	for _, table := range results.PartTables {
		for obj, err := range st.List(ctx, table+"/") {
			if err != nil {
				return nil, err
			}
			sizes[obj.Key] = obj.Size
		}
	}
	return sizes, nil
}

// doneResult is what doneChunks found.
type doneResult struct {
	bits DoneChunks
	// reusedReady counts the sweep's points in foreign chunks found done.
	reusedReady int64
	// rejected says, a line each, what was moved to quarantine.
	rejected []string
}

// doneChunks verifies the markers of the chunks sc's sweep needs (its own
// and the foreign ones) and returns those that check out; a chunk that
// does not is moved to quarantine (its marker, and the parts that do not
// check out) and left to compute again. A sweep just planned has no
// marker of its own yet. With full set, parts are read and hashed too.
func (a *Activities) doneChunks(ctx context.Context, sc *sweepCache, justPlanned, full bool) (doneResult, error) {
	p := sc.plan
	res := doneResult{bits: newDoneChunks(p.chunks())}
	if justPlanned && len(p.Foreign) == 0 {
		return res, nil
	}
	// Chunks are visited by owner: the sweep's own, then each foreign
	// sweep's, as chunkAt numbers them.
	type owned struct {
		sweepID string
		chunks  []int64 // owner's chunk numbers
		first   int64   // position of the first in the sweep's chunks
		members []int64 // nil for own chunks
	}
	owners := []owned{}
	if !justPlanned {
		own := make([]int64, p.ownChunks())
		for c := range own {
			own[c] = int64(c)
		}
		owners = append(owners, owned{sweepID: p.SweepID, chunks: own})
	}
	pos := p.ownChunks()
	for _, f := range p.Foreign {
		owners = append(owners, owned{sweepID: f.SweepID, chunks: f.Chunks, first: pos, members: f.Members})
		pos += int64(len(f.Chunks))
	}
	// Every marker is listed before the parts are: a marker is written
	// after its parts, so the parts of every marker listed are in the
	// listing that follows (a chunk another sweep finishes meanwhile is
	// seen whole, or not at all).
	markers := make([]map[int64]string, len(owners))
	anyMarker := false
	for i, o := range owners {
		markers[i] = map[int64]string{}
		prefix := results.ChunksPrefix(o.sweepID)
		for obj, err := range sc.store.List(ctx, prefix) {
			if err != nil {
				return doneResult{}, err
			}
			if c, ok := results.ParseChunkKey(prefix, obj.Key); ok {
				markers[i][c] = obj.Key
				anyMarker = true
			}
		}
	}
	if !anyMarker {
		return res, nil
	}
	sizes, err := partSizes(ctx, sc.store)
	if err != nil {
		return doneResult{}, err
	}
	for oi, o := range owners {
		osc := sc
		if o.sweepID != p.SweepID {
			if osc, err = a.sweep(ctx, sc.output, o.sweepID); err != nil {
				return doneResult{}, err
			}
		}
		for i, c := range o.chunks {
			key, ok := markers[oi][c]
			if !ok {
				continue
			}
			beat(ctx, "verifying", o.sweepID, c)
			body, err := sc.store.Get(ctx, key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return doneResult{}, err
			}
			pts := chunkPoints(osc, c)
			m, problem := checkMarker(ctx, sc.store, body, o.sweepID, c, pts, osc.plan.Numerics, sizes)
			if problem == "" && full {
				if problem, err = checkPartsFully(ctx, sc.store, m, pts, osc.plan.Numerics, a.cfg.Alloc); err != nil {
					return doneResult{}, err
				}
			}
			if problem != "" {
				if err := a.reject(ctx, sc.store, o.sweepID, c, key, m, sizes, full); err != nil {
					return doneResult{}, err
				}
				line := fmt.Sprintf("chunk %d of sweep %s: %s", c, o.sweepID, problem)
				if len(res.rejected) < maxRejectedLines {
					res.rejected = append(res.rejected, line)
				}
				continue
			}
			at := o.first + int64(i)
			res.bits.Bits[at/8] |= 1 << (at % 8)
			res.bits.Done++
			if o.members != nil {
				res.reusedReady += o.members[i]
			}
		}
	}
	return res, nil
}

// reject moves a chunk that failed verification to quarantine: its marker,
// and those of its parts that are not stored as the marker records (all of
// them when the marker cannot be read, or when verifying fully).
func (a *Activities) reject(ctx context.Context, st store.Store, sweepID string, c int64, markerKey string, m *chunkMarker, sizes map[string]int64, full bool) error {
	keys := []string{markerKey}
	if m != nil {
		for _, part := range m.Parts {
			if size, ok := sizes[part.Key]; full || (ok && size != part.Bytes) {
				keys = append(keys, part.Key)
			}
		}
	}
	// A marker that cannot be trusted leaves its chunk's parts to the
	// check RunChunk makes before it reuses a stored part.
	warn(ctx, "Chunk rejected by verification", "SweepID", sweepID, "Chunk", c, "Keys", strings.Join(keys, " "))
	return quarantine(ctx, st, sweepID, keys...)
}

// VerifyReport is what Verify found in a sweep's stored results.
type VerifyReport struct {
	SweepID string
	// Points counts the sweep's distinct points; Chunks the chunks that
	// hold them (its own and earlier sweeps'), ChunksDone those with a
	// marker that checks out.
	Points, Chunks, ChunksDone int64
	// Parts counts the parts read and hashed.
	Parts int
	// Manifest reports a manifest that checks out.
	Manifest bool
	// Problems says what is wrong, a line each; none when the sweep is
	// complete and every file checks out.
	Problems []string
	// Elsewhere counts the problems that are points of the sweep stored
	// again outside its chunks (another sweep's chunk, a stray file):
	// running the sweep again does not touch those.
	Elsewhere int
}

// Verify checks a sweep's stored results and changes nothing: every chunk
// the sweep needs has a marker that lists exactly its points, every part
// is stored with the size and SHA-256 recorded and holds the rows of its
// points once each, every point of the grid is stored exactly once, and
// the manifest, members table and summary match the chunks. Problems are
// reported, not repaired: running the sweep again with verification
// (workflows.Options.Verify) moves what is rejected to quarantine and
// computes it again.
func Verify(ctx context.Context, st store.Store, sweepID string, alloc memory.Allocator) (VerifyReport, error) {
	a, err := New(Config{OpenStore: func(context.Context, string) (store.Store, error) { return st, nil }, Alloc: alloc})
	if err != nil {
		return VerifyReport{}, err
	}
	rep := VerifyReport{SweepID: sweepID}
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	sc, err := a.sweep(ctx, st.Location(), sweepID)
	if errors.Is(err, store.ErrNotFound) {
		return rep, fmt.Errorf("no sweep %s in %s (no plan at %s)", sweepID, st.Location(), results.PlanKey(sweepID))
	} else if err != nil {
		return rep, err
	}
	p := sc.plan
	rep.Points, rep.Chunks = p.Points, p.chunks()
	sizes, err := partSizes(ctx, st)
	if err != nil {
		return rep, err
	}
	// Every point of the grid, and in which chunk it is found.
	gridKeys, err := gridKeys(ctx, sc.grid, [][2]int64{{0, p.GridPoints}}, nil)
	if err != nil {
		return rep, err
	}
	found := make(map[pointKey]string, p.Points)
	// memberNumerics is the numerics version of the chunk found holding
	// each point (an older version's for a point reused from it).
	memberNumerics := make(map[pointKey]int, p.Points)
	for _, k := range gridKeys {
		found[k] = ""
	}
	gridKeys = nil
	if int64(len(found)) != p.Points {
		problem("the grid has %d distinct points, the plan %d", len(found), p.Points)
	}
	var members []results.Member
	missing := 0
	refs := make(map[markerRef]bool, p.chunks())
	listed := map[string]bool{} // the parts the markers read list
	// The chunks in the precedence of the plan (see memberOrder): a point
	// is the first chunk's that holds it; an earlier sweep's chunk may hold
	// it too (an older numerics version's, whose point this sweep computed
	// again or took from a sweep of its own version).
	chunkRefs := make([]chunkRef, p.chunks())
	owners := make([]*sweepCache, len(chunkRefs))
	unreadable := map[string]bool{} // earlier sweeps whose spec or plan is gone
	for i := range chunkRefs {
		chunkRefs[i], owners[i] = p.chunkAt(int64(i)), sc
		if chunkRefs[i].Foreign {
			id := chunkRefs[i].SweepID
			if owners[i], err = a.sweep(ctx, st.Location(), id); errors.Is(err, store.ErrNotFound) {
				if !unreadable[id] {
					problem("sweep %s, whose chunks this sweep reuses, cannot be read: its spec or plan is gone (%v); restore sweeps/%s/ (its plan log entry holds the plan's bytes)", id, err, id)
				}
				unreadable[id], owners[i] = true, sc
			} else if err != nil {
				return rep, err
			}
		}
	}
	order := precedence(p, len(chunkRefs), func(i int) (bool, *planFile) { return chunkRefs[i].Foreign, owners[i].plan })
	for _, i := range order {
		ref, osc := chunkRefs[i], owners[i]
		if unreadable[ref.SweepID] {
			missing++
			continue
		}
		refs[markerRef{ref.SweepID, ref.Chunk}] = true
		where := fmt.Sprintf("chunk %d of sweep %s", ref.Chunk, ref.SweepID)
		body, err := st.Get(ctx, results.ChunkKey(ref.SweepID, ref.Chunk))
		if errors.Is(err, store.ErrNotFound) {
			missing++
			continue
		} else if err != nil {
			return rep, err
		}
		pts := chunkPoints(osc, ref.Chunk)
		m, bad := checkMarker(ctx, st, body, ref.SweepID, ref.Chunk, pts, osc.plan.Numerics, sizes)
		if m != nil {
			for _, part := range m.Parts {
				listed[part.Key] = true
			}
		}
		if bad == "" {
			if bad, err = checkPartsFully(ctx, st, m, pts, osc.plan.Numerics, alloc); err != nil {
				return rep, err
			}
			rep.Parts += len(m.Parts)
		}
		if bad != "" {
			problem("%s: %s", where, bad)
			continue
		}
		rep.ChunksDone++
		for _, pt := range pts {
			k, err := parsePointKey(pt.ID)
			if err != nil {
				return rep, err
			}
			prev, ours := found[k]
			switch {
			case !ours && !ref.Foreign:
				problem("%s holds point %s, which is not in the sweep's grid", where, pt.ID)
			case !ours:
				// Another sweep's point in a reused chunk.
			case prev != "" && ref.Foreign:
				// Counted in a chunk that comes first.
			case prev != "":
				problem("point %s is stored twice: in %s and in %s", pt.ID, prev, where)
			default:
				found[k], memberNumerics[k] = where, osc.plan.Numerics
				members = append(members, results.Member{PointID: pt.ID, SweepID: ref.SweepID, Chunk: ref.Chunk})
			}
		}
	}
	if missing > 0 {
		problem("%d of %d chunks have no marker: the sweep is incomplete", missing, p.chunks())
	}
	if missing == 0 && len(rep.Problems) == 0 {
		for k, where := range found {
			if where == "" {
				problem("point %s of the grid is stored in none of the sweep's chunks", k)
			}
		}
	}
	elsewhere := func(format string, args ...any) {
		problem(format, args...)
		rep.Elsewhere++
	}
	if err := a.checkElsewhere(ctx, st, p, refs, listed, found, memberNumerics, sizes, elsewhere); err != nil {
		return rep, err
	}
	slices.SortFunc(members, func(a, b results.Member) int { return strings.Compare(a.PointID, b.PointID) })

	body, err := st.Get(ctx, results.ManifestKey(sweepID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		if missing == 0 {
			problem("%s is missing: the sweep was not finalized", results.ManifestKey(sweepID))
		}
		return rep, nil
	case err != nil:
		return rep, err
	}
	m, err := results.DecodeManifest(body)
	if err != nil {
		problem("%s: %v", results.ManifestKey(sweepID), err)
		return rep, nil
	}
	before := len(rep.Problems)
	if m.SweepID != sweepID || m.Points != p.Points {
		problem("%s is of sweep %s with %d points, want sweep %s with %d", results.ManifestKey(sweepID), m.SweepID, m.Points, sweepID, p.Points)
	}
	for _, part := range m.Parts {
		body, err := st.Get(ctx, part.Key)
		if errors.Is(err, store.ErrNotFound) {
			problem("%s lists %s, which is missing", results.ManifestKey(sweepID), part.Key)
			continue
		} else if err != nil {
			return rep, err
		}
		if err := part.Check(body); err != nil {
			problem("%v", err)
			continue
		}
		if part.Table == results.TableMembers {
			stored, err := results.DecodeMembers(body, alloc)
			if err != nil {
				problem("%s: %v", part.Key, err)
			} else if !slices.Equal(stored, members) {
				problem("%s does not list the points the chunks hold (%d rows, the chunks %d)", part.Key, len(stored), len(members))
			}
		}
	}
	rep.Manifest = len(rep.Problems) == before
	return rep, nil
}

// markerRef names a chunk marker: a sweep and one of its chunks.
type markerRef struct {
	sweepID string
	chunk   int64
}

// checkElsewhere reports the points of the sweep of plan p that the rest
// of the output stores again, with the same numerics: in a chunk of
// another sweep (outputs put together by hand, which the plan log cannot
// order), or in a points file no chunk marker lists (a stray copy, under
// any name or folder). Reading points/**/*.parquet would give them twice.
// found maps each point of the sweep to where its chunks hold it ("" for
// none yet), refs are the chunks the sweep's plan refers to, listed the
// parts their markers list, sizes every object under points/ and
// trajectories/.
func (a *Activities) checkElsewhere(ctx context.Context, st store.Store, p *planFile, refs map[markerRef]bool, listed map[string]bool, found map[pointKey]string, memberNumerics map[pointKey]int, sizes map[string]int64, problem func(string, ...any)) error {
	// twice reports the points of ours that keys holds again with the
	// numerics of the sweep's copy (numerics[i] is that of keys[i]), once
	// for where (a chunk, a file), with the first of them. A copy of
	// other numerics was computed again on purpose.
	twice := func(keys []pointKey, numerics func(i int) int, where, why string) {
		n, first := 0, ""
		for i, k := range keys {
			if at := found[k]; at != "" && memberNumerics[k] == numerics(i) {
				if n == 0 {
					first = fmt.Sprintf("point %s, in %s", k, at)
				}
				n++
			}
		}
		if n > 0 {
			problem("%d points of the sweep are stored twice: again in %s (%s); the first: %s", n, where, why, first)
		}
	}
	// readPoints decodes a stored points file; nil when it does not decode
	// (as a points table) or is gone.
	readPoints := func(key string) ([]results.PointRow, error) {
		body, err := st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		rows, err := results.DecodePoints(body, a.cfg.Alloc)
		if err != nil {
			return nil, nil
		}
		return rows, nil
	}
	// numericsOf returns the numerics of sweep id, whose marker m is: its
	// plan says, or without a plan (its copy and log entry lost) the rows
	// of its parts; -1 when neither does.
	numericsOf := func(id string, m *chunkMarker) (int, error) {
		if other, err := readPlan(ctx, st, id); err == nil {
			return other.Numerics, nil
		}
		for _, part := range m.Parts {
			if part.Table != results.TablePoints {
				continue
			}
			rows, err := readPoints(part.Key)
			if err != nil {
				return -1, err
			}
			if len(rows) > 0 {
				return int(rows[0].Numerics), nil
			}
		}
		return -1, nil
	}
	numerics := map[string]int{p.SweepID: p.Numerics}
	for obj, err := range st.List(ctx, results.SweepsPrefix) {
		if err != nil {
			return err
		}
		id, c, ok := results.ParseMarkerKey(obj.Key)
		if !ok || refs[markerRef{id, c}] {
			continue
		}
		body, err := st.Get(ctx, obj.Key)
		if err != nil {
			return err
		}
		m, err := decodeMarker(body)
		if err != nil {
			continue // that sweep's own verify reports it
		}
		for _, part := range m.Parts {
			listed[part.Key] = true
		}
		num, ok := numerics[id]
		if !ok {
			if num, err = numericsOf(id, m); err != nil {
				return err
			}
			numerics[id] = num
		}
		keys, err := parseIDsHex(m.PointIDsHex)
		if err != nil {
			continue
		}
		twice(keys, func(int) int { return num }, fmt.Sprintf("chunk %d of sweep %s", c, id), "two outputs put together, or the plan log lost? the output cannot tell which sweep owns them: keep one output per set of sweeps")
	}
	for key := range sizes {
		if listed[key] || !strings.HasPrefix(key, results.TablePoints+"/") || !strings.HasSuffix(key, ".parquet") {
			continue
		}
		rows, err := readPoints(key)
		if err != nil {
			return err
		}
		var keys []pointKey
		var nums []int
		for _, r := range rows {
			if k, err := parsePointKey(r.PointID); err == nil {
				keys, nums = append(keys, k), append(nums, int(r.Numerics))
			}
		}
		twice(keys, func(i int) int { return nums[i] }, key, "a file no chunk marker lists: a stray copy, or one an attempt left: move it away")
	}
	return nil
}
