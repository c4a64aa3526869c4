package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

// HeartbeatEvery is how often a running chunk reports that it is alive (and
// learns of a pause or cancel), or a quarter of the activity's heartbeat
// timeout if that is shorter.
const HeartbeatEvery = 5 * time.Second

// sweepCache holds what a worker needs to compute any chunk of a sweep.
type sweepCache struct {
	store  store.Store
	output string
	spec   *schemas.Spec
	grid   *schemas.Grid
	plan   *planFile
}

// sweep loads (once per worker) the stored spec and plan of a sweep.
func (a *Activities) sweep(ctx context.Context, output, sweepID string) (*sweepCache, error) {
	if sc := a.cachedSweep(output, sweepID); sc != nil {
		return sc, nil
	}
	st, err := a.store(ctx, output)
	if err != nil {
		return nil, err
	}
	plan, err := readPlan(ctx, st, sweepID)
	if err != nil {
		return nil, fmt.Errorf("read plan of sweep %s: %w", sweepID, err)
	}
	return a.sweepFromPlan(ctx, st, output, plan)
}

func (a *Activities) cachedSweep(output, sweepID string) *sweepCache {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sweeps[output+"\x00"+sweepID]
}

// sweepFromPlan loads (once per worker) the sweep of plan p: its stored
// spec and grid, under the limits it was planned with.
func (a *Activities) sweepFromPlan(ctx context.Context, st store.Store, output string, p *planFile) (*sweepCache, error) {
	if sc := a.cachedSweep(output, p.SweepID); sc != nil {
		return sc, nil
	}
	key := results.SpecKey(p.SweepID)
	body, err := st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read spec of sweep %s: %w", p.SweepID, err)
	}
	spec, err := schemas.ParseIdentity(body, key, output, p.Limits)
	if err != nil {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("%s in %s is not a spec of this version of isweep: %v", key, output, err), Err: err}
	}
	if id := spec.SweepID(); id != p.SweepID {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("%s in %s describes sweep %s, not %s; it was edited: move it away", key, output, id, p.SweepID)}
	}
	grid, err := spec.Grid()
	if err != nil {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("%s in %s: %v", key, output, err), Err: err}
	}
	// The plan's chunk size stands, whatever the cost model now says.
	if grid.Len() != p.GridPoints {
		return nil, &store.PermanentError{Reason: fmt.Sprintf("the plan of sweep %s in %s has %d grid entries, its spec %d; the plan was written by another version of isweep: move sweeps/%s away", p.SweepID, output, p.GridPoints, grid.Len(), p.SweepID)}
	}
	sc := &sweepCache{store: st, output: output, spec: spec, grid: grid, plan: p}
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.sweeps[output+"\x00"+p.SweepID]; ok {
		return prev, nil
	}
	a.sweeps[output+"\x00"+p.SweepID] = sc
	return sc, nil
}

// chunkMarker is written last for a chunk: its presence means every part of
// the chunk is stored. It also carries what finalizing needs, so that the
// manifest and summary never read the chunk's Parquet parts again.
type chunkMarker struct {
	SweepID string         `json:"sweep_id"`
	Chunk   int64          `json:"chunk"`
	Result  ChunkResult    `json:"result"`
	Parts   []results.Part `json:"parts"`
	// PointIDsHex holds the chunk's point ids (32 hex digits each) one
	// after another, in the chunk's order: one JSON string decodes in a
	// fraction of the time a list of 20,000 takes.
	PointIDsHex string               `json:"point_ids_hex"`
	Summary     []results.SummaryRow `json:"summary"`
	// FinishedAt is when the chunk was done (UTC): the sweep's manifest
	// takes its times from here, so that a copy of the output (new file
	// times) derives the same manifest. Zero in the markers of earlier
	// versions, for which the marker's modification time stands in.
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Numerics is the dynamics.NumericsVersion of the worker that
	// computed the chunk; 0 in the markers of versions before
	// firstMarkedNumerics, which did not record it (see numericsProblem).
	Numerics int `json:"numerics,omitempty"`
	// SHA256 is the hex SHA-256 of the marker's JSON with this field
	// empty: a marker damaged so that it still parses (a digit of a
	// summary row) does not check out.
	SHA256 string `json:"sha256"`
}

// firstMarkedNumerics is the first numerics version whose markers record
// it (chunkMarker.Numerics).
const firstMarkedNumerics = 4

// numericsProblem says why the marker m cannot be a chunk of a plan of
// numerics version planned ("" when it can): a worker of another version
// computed it (during an upgrade, an old worker or binary on the same
// output), and its rows are of that version.
func (m *chunkMarker) numericsProblem(planned int) string {
	switch {
	case m.Numerics != 0 && m.Numerics != planned:
		return fmt.Sprintf("the chunk was computed by numerics version %d, its sweep's plan is version %d", m.Numerics, planned)
	case m.Numerics == 0 && planned >= firstMarkedNumerics:
		return fmt.Sprintf("the chunk was computed by an isweep of numerics version %d or older (its marker records none), its sweep's plan is version %d", firstMarkedNumerics-1, planned)
	}
	return ""
}

// seal sets the marker's SHA256 and returns its JSON.
func (m *chunkMarker) seal() ([]byte, error) {
	m.SHA256 = ""
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	m.SHA256 = hex.EncodeToString(sum[:])
	return json.Marshal(m)
}

// decodeMarker parses a marker and checks its SHA256.
func decodeMarker(body []byte) (*chunkMarker, error) {
	var m chunkMarker
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("the marker is not a marker of this version of isweep (%v)", err)
	}
	stated := m.SHA256
	m.SHA256 = ""
	plain, err := json.Marshal(&m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(plain)
	if got := hex.EncodeToString(sum[:]); got != stated {
		return nil, fmt.Errorf("the marker's content does not match its sha256 (damaged or edited)")
	}
	m.SHA256 = stated
	return &m, nil
}

// partition groups the points of a chunk that share a Hive partition.
type partition struct {
	results.Partition
	points []schemas.Point
}

// partitionOf returns the Hive partition of a point.
func partitionOf(pt *schemas.Point) results.Partition {
	return results.Partition{Algorithm: pt.Params.Algorithm, N: pt.Params.N}
}

// partitionsOf groups the points of a chunk by Hive partition, the
// partitions in (algorithm, n) order, each one's points in chunk order.
// When every point is in one partition (most chunks: the grid's first
// axes, which vary slowest, are the partition's) its points are pts
// itself; otherwise each partition's points are copied into a slice of
// the right size. (Copying a chunk's points, a few hundred bytes each,
// one append at a time was a sixth of the bytes a chunk of cheap points
// allocated.)
func partitionsOf(pts []schemas.Point) []*partition {
	if len(pts) == 0 {
		return nil
	}
	first := partitionOf(&pts[0])
	mixed := false
	for i := range pts {
		if partitionOf(&pts[i]) != first {
			mixed = true
			break
		}
	}
	if !mixed {
		return []*partition{{Partition: first, points: pts}}
	}
	counts := map[results.Partition]int{}
	for i := range pts {
		counts[partitionOf(&pts[i])]++
	}
	parts := make(map[results.Partition]*partition, len(counts))
	order := make([]*partition, 0, len(counts))
	for k, n := range counts {
		p := &partition{Partition: k, points: make([]schemas.Point, 0, n)}
		parts[k] = p
		order = append(order, p)
	}
	for i := range pts {
		p := parts[partitionOf(&pts[i])]
		p.points = append(p.points, pts[i])
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Algorithm != order[j].Algorithm {
			return order[i].Algorithm < order[j].Algorithm
		}
		return order[i].N < order[j].N
	})
	return order
}

// RunChunk makes chunk ref.Chunk of sweep ref.SweepID done: the sweep's own
// chunks are integrated and stored as Parquet parts, then the chunk's
// marker is written; a chunk of an earlier sweep that holds points of this
// one (see planFile) is made done at that sweep's keys, by the same code.
// It returns counts and keys only. It is idempotent: a chunk whose marker
// exists and checks out is not computed again, and a partition whose parts
// an earlier attempt stored, and which hold the partition's points, is
// reused. Objects at the chunk's keys that do not check out are moved to
// quarantine and the chunk is computed again.
func (a *Activities) RunChunk(ctx context.Context, ref ChunkRef) (ChunkResult, error) {
	// The chunk heartbeats from its start: reading its sweep and its
	// marker from a store that is down retries for longer than the
	// heartbeat timeout, and the attempt would be timed out for silence
	// rather than fail with the store's error.
	var prog progress
	defer a.heartbeat(ctx, &prog)()
	res, err := a.runChunk(ctx, ref, &prog)
	return res, storageError(err)
}

// progress is what an activity's heartbeats report: the points done of
// its total (0 of 0 until they are known, and for the activities that do
// not count).
type progress struct {
	done, total atomic.Int64
}

func (a *Activities) runChunk(ctx context.Context, ref ChunkRef, prog *progress) (ChunkResult, error) {
	sc, err := a.sweep(ctx, ref.Output, ref.SweepID)
	if err != nil {
		return ChunkResult{}, err
	}
	if ref.Chunk < 0 || ref.Chunk >= sc.plan.chunks() {
		return ChunkResult{}, invalidSpec(fmt.Errorf("chunk %d is outside sweep %s (%d chunks)", ref.Chunk, ref.SweepID, sc.plan.chunks()))
	}
	cr := sc.plan.chunkAt(ref.Chunk)
	owner := sc
	if cr.Foreign {
		if owner, err = a.sweep(ctx, ref.Output, cr.SweepID); err != nil {
			return ChunkResult{}, err
		}
	}
	res, err := a.ownChunk(ctx, owner, cr.Chunk, prog)
	if err != nil {
		return ChunkResult{}, err
	}
	res.Chunk = ref.Chunk
	if cr.Foreign {
		res.Foreign, res.Reused = true, cr.Members
	}
	return res, nil
}

// chunkPoints returns the points of own chunk c of sc's sweep, in order.
func chunkPoints(sc *sweepCache, c int64) []schemas.Point {
	ords := sc.plan.ordinals(c)
	pts := make([]schemas.Point, len(ords))
	for i, o := range ords {
		pts[i] = sc.grid.Point(o)
	}
	return pts
}

// ownChunk makes own chunk c of sc's sweep done.
func (a *Activities) ownChunk(ctx context.Context, sc *sweepCache, c int64, prog *progress) (ChunkResult, error) {
	sweepID := sc.plan.SweepID
	pts := chunkPoints(sc, c)
	markerKey := results.ChunkKey(sweepID, c)
	if body, err := sc.store.Get(ctx, markerKey); err == nil {
		m, problem := checkMarker(ctx, sc.store, body, sweepID, c, pts, sc.plan.Numerics, nil)
		if problem == "" {
			r := m.Result
			r.AlreadyDone = true
			r.ComputeSeconds = 0
			return r, nil
		}
		warn(ctx, "Chunk marker rejected; computing the chunk again", "SweepID", sweepID, "Chunk", c, "Problem", problem)
		if err := quarantine(ctx, sc.store, sweepID, markerKey); err != nil {
			return ChunkResult{}, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return ChunkResult{}, err
	}

	if sc.plan.Numerics != dynamics.NumericsVersion {
		// Computed here, the chunk's rows would be of this version under
		// a plan of another (PlanSweep refuses such a sweep; a chunk of
		// it may still come here from a workflow started before, or as
		// an earlier sweep's chunk a later one refers to).
		return ChunkResult{}, numericsMismatch(sc.plan, fmt.Sprintf("its chunk %d is not done", c))
	}
	order := partitionsOf(pts)

	prog.total.Store(int64(len(pts)))

	// A partition is stored while the next one computes; the marker waits
	// for all of them.
	type stored struct {
		rows  []results.PointRow
		infos []results.Part
		err   error
	}
	outs := make([]stored, len(order))
	var storing sync.WaitGroup
	var computeErr error
	for i, p := range order {
		store, err := a.runPartition(ctx, sc, c, p, &prog.done)
		if err != nil {
			computeErr = err
			break
		}
		storing.Go(func() {
			o := &outs[i]
			o.rows, o.infos, o.err = store()
		})
	}
	storing.Wait()
	if computeErr != nil {
		return ChunkResult{}, computeErr
	}

	res := ChunkResult{Chunk: c}
	marker := chunkMarker{SweepID: sweepID, Chunk: c}
	var ids strings.Builder
	ids.Grow(pointIDLen * len(pts))
	var summary []results.SummaryRow
	for _, o := range outs {
		if o.err != nil {
			return ChunkResult{}, o.err
		}
		res.Points += int64(len(o.rows))
		res.AddCounts(results.CountStatuses(o.rows))
		for _, r := range o.rows {
			res.ComputeSeconds += r.WallSeconds
		}
		for _, info := range o.infos {
			res.Parts = append(res.Parts, info.Key)
		}
		marker.Parts = append(marker.Parts, o.infos...)
		summary = append(summary, results.Summarize(o.rows)...)
	}
	// The marker lists the ids in the chunk's order, whatever partitions
	// they were stored in.
	for i := range pts {
		ids.WriteString(pts[i].ID)
	}
	// The partitions hold disjoint points: merging their summaries gives
	// the chunk's.
	marker.Summary = results.MergeSummaries(summary)
	marker.PointIDsHex = ids.String()
	marker.Result = res
	marker.FinishedAt = time.Now().UTC()
	marker.Numerics = dynamics.NumericsVersion
	body, err := marker.seal()
	if err != nil {
		return ChunkResult{}, err
	}
	for _, o := range outs {
		if cap(o.rows) <= maxFreeRowSliceLen {
			a.pointRows.put(o.rows)
		}
	}
	if err := sc.store.Put(ctx, markerKey, body); err != nil {
		var conflict *store.ConflictError
		if !errors.As(err, &conflict) {
			return ChunkResult{}, fmt.Errorf("store marker of chunk %d: %w", c, err)
		}
		// A concurrent attempt finished the chunk first; its marker stands
		// if it checks out.
		stored, err := sc.store.Get(ctx, markerKey)
		if err != nil {
			return ChunkResult{}, err
		}
		if _, problem := checkMarker(ctx, sc.store, stored, sweepID, c, pts, sc.plan.Numerics, nil); problem != "" {
			return ChunkResult{}, fmt.Errorf("the marker of chunk %d appeared during this attempt and does not check out (%s); retrying", c, problem)
		}
	}
	return res, nil
}

// runPartition computes the rows of one partition of own chunk c and
// returns a function that encodes and stores them as the partition's two
// parts and returns the rows and parts. When an earlier attempt already
// stored both parts, and they hold the partition's points, nothing is
// computed: the function returns what is stored.
func (a *Activities) runPartition(ctx context.Context, sc *sweepCache, c int64, p *partition, done *atomic.Int64) (store func() ([]results.PointRow, []results.Part, error), err error) {
	sweepID := sc.plan.SweepID
	if rows, infos, ok, err := a.adoptPartition(ctx, sc.store, sweepID, c, p); err != nil {
		return nil, err
	} else if ok {
		done.Add(int64(len(p.points)))
		return func() ([]results.PointRow, []results.Part, error) { return rows, infos, nil }, nil
	}

	rows := a.pointRows.get(len(p.points))
	trajs := make([][]dynamics.Sample, len(p.points))
	arenas := make([]sampleArena, cap(a.cpu))
	for g := range arenas {
		arenas[g].free = a.sampleBlocks
	}
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	lim := sc.plan.Limits.Dynamics()
	if err := a.compute(ctx, len(p.points), func(g, i int) error {
		pt := &p.points[i]
		traj, err := a.runPoint(ctx, sweepID, c, pt, lim, attempt, arenas[g].room(pt.Params.Record), &rows[i])
		arenas[g].keep(traj)
		trajs[i] = traj
		done.Add(1)
		return err
	}); err != nil {
		return nil, err
	}
	return func() ([]results.PointRow, []results.Part, error) {
		return a.storePartition(ctx, sc.store, sweepID, c, p, rows, trajs, arenas)
	}, nil
}

// storePartition encodes the rows and trajectories of a computed partition
// and stores them, trajectories first. Once the trajectories are encoded,
// the arenas that hold them are released.
func (a *Activities) storePartition(ctx context.Context, st store.Store, sweepID string, c int64, p *partition, rows []results.PointRow, trajs [][]dynamics.Sample, arenas []sampleArena) ([]results.PointRow, []results.Part, error) {
	pointsKey := results.PointsKey(sweepID, p.Partition, c)
	trajKey := results.TrajectoriesKey(sweepID, p.Partition, c)
	// The two tables are encoded at once: encoding runs outside the CPU
	// bound, and at the end of a sweep nothing else keeps the cores busy.
	var trajRows int64
	var trajBody []byte
	var trajErr error
	trajDone := make(chan struct{})
	go func() {
		defer close(trajDone)
		samples := make([]results.PointSamples, len(p.points))
		for i, pt := range p.points {
			samples[i] = results.PointSamples{PointID: pt.ID, Samples: trajs[i]}
		}
		trajBody, trajRows, trajErr = results.EncodePointSamples(sweepID, p.Partition, samples)
		clear(trajs)
		for g := range arenas {
			arenas[g].release()
		}
	}()
	pointsBody, err := results.EncodePoints(rows)
	<-trajDone
	if err != nil {
		return nil, nil, fmt.Errorf("encode points of chunk %d: %w", c, err)
	}
	if trajErr != nil {
		return nil, nil, fmt.Errorf("encode trajectories of chunk %d: %w", c, trajErr)
	}
	// Trajectories first: a points part without its trajectories would
	// look complete to a reader.
	infos := []results.Part{
		results.NewPart(trajKey, results.TableTrajectories, trajRows, trajBody),
		results.NewPart(pointsKey, results.TablePoints, int64(len(rows)), pointsBody),
	}
	for i, body := range [][]byte{trajBody, pointsBody} {
		if err := st.Put(ctx, infos[i].Key, body); err != nil {
			var conflict *store.ConflictError
			if !errors.As(err, &conflict) {
				return nil, nil, fmt.Errorf("store %s: %w", infos[i].Key, err)
			}
			// An earlier attempt stored this part (with its own provenance)
			// and died before the marker: keep what is stored if it holds
			// this partition's points; else it was moved to quarantine
			// and the next attempt stores this one's.
			rows, infos, ok, err := a.adoptPartition(ctx, st, sweepID, c, p)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return nil, nil, fmt.Errorf("parts %s and %s are partly stored after a conflict; retrying", pointsKey, trajKey)
			}
			return rows, infos, nil
		}
	}
	return rows, infos, nil
}

// adoptPartition reads back the partition's two parts when both are
// stored and hold exactly its points (ids in order, this sweep and chunk)
// and their trajectories: then ok is true. Stored parts that do not check
// out (truncated, stale, copied from elsewhere) are moved to quarantine,
// and ok is false: the partition is computed again.
func (a *Activities) adoptPartition(ctx context.Context, st store.Store, sweepID string, c int64, p *partition) ([]results.PointRow, []results.Part, bool, error) {
	pointsKey := results.PointsKey(sweepID, p.Partition, c)
	trajKey := results.TrajectoriesKey(sweepID, p.Partition, c)
	pointsBody, err := st.Get(ctx, pointsKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, false, nil
	} else if err != nil {
		return nil, nil, false, err
	}
	trajBody, err := st.Get(ctx, trajKey)
	if errors.Is(err, store.ErrNotFound) {
		// The points part is written second: without its trajectories it
		// cannot be an earlier attempt's.
		return nil, nil, false, quarantine(ctx, st, sweepID, pointsKey)
	} else if err != nil {
		return nil, nil, false, err
	}
	rows, trajRows, problem := checkPartition(pointsBody, trajBody, sweepID, c, p.points, a.cfg.Alloc)
	if problem == "" {
		// Parts of a worker of another version (the chunk's marker was
		// rejected for it) are not this version's rows.
		for i := range rows {
			if v := int(rows[i].Numerics); v != dynamics.NumericsVersion {
				problem = fmt.Sprintf("point %s was computed by numerics version %d, this is version %d", rows[i].PointID, v, dynamics.NumericsVersion)
				break
			}
		}
	}
	if problem != "" {
		warn(ctx, "Stored parts rejected; computing the partition again", "SweepID", sweepID, "Chunk", c, "Partition", p.Partition.String(), "Problem", problem)
		return nil, nil, false, quarantine(ctx, st, sweepID, pointsKey, trajKey)
	}
	return rows, []results.Part{
		results.NewPart(trajKey, results.TableTrajectories, trajRows, trajBody),
		results.NewPart(pointsKey, results.TablePoints, int64(len(rows)), pointsBody),
	}, true, nil
}

// compute calls point(g, i) for i in [0, count), on up to the worker's CPU
// bound of goroutines at once; g in [0, the bound) numbers the goroutine
// that makes the call, so that point may keep per-goroutine state. A
// goroutine holds one unit of the bound from its first point to its last:
// the chunks running on a worker take the cores in turn rather than
// sharing them point by point, so that they finish, and store their parts,
// one after another while the next chunk computes. compute returns the
// first error of point, after every started call has returned, or ctx's
// error if it ends first.
func (a *Activities) compute(ctx context.Context, count int, point func(g, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	// claimed is closed once every point has been taken: then no more
	// goroutines are needed, and waiting for another unit of the bound
	// (held by other chunks) would only delay this chunk's storage.
	claimed := make(chan struct{})
	var claimedOnce sync.Once
spawn:
	for g := range min(count, cap(a.cpu)) {
		select {
		case a.cpu <- struct{}{}:
		case <-claimed:
			break spawn
		case <-ctx.Done():
			break spawn
		}
		wg.Go(func() {
			defer func() { <-a.cpu }()
			for {
				i := int(next.Add(1) - 1)
				if i >= count {
					claimedOnce.Do(func() { close(claimed) })
					return
				}
				if ctx.Err() != nil {
					return
				}
				if err := point(g, i); err != nil {
					fail(err)
					return
				}
				// Let the worker's other goroutines (workflow tasks, gRPC,
				// storage) run between points: with every core computing,
				// they would otherwise wait for the scheduler to preempt a
				// point (10 ms per hop).
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// runPoint integrates one point into row with the limits of its sweep
// (those its spec was validated with), recording its trajectory into room
// (see dynamics.RunIntoWithLimits). A point that diverges, or whose
// integration fails, is data (a status), not an activity error; only a
// cancellation is returned as an error.
func (a *Activities) runPoint(ctx context.Context, sweepID string, c int64, pt *schemas.Point, lim dynamics.Limits, attempt int32, room []dynamics.Sample, row *results.PointRow) (traj []dynamics.Sample, err error) {
	*row = results.PointRow{
		SweepID: sweepID, PointID: pt.ID, PointIndex: pt.Index, Chunk: c,
		Params: pt.Params, CodeVersion: a.cfg.CodeVersion, Numerics: dynamics.NumericsVersion, WorkerHost: a.cfg.Host, Attempt: attempt,
	}
	row.StartedAt = time.Now().UTC()
	defer func() {
		if p := recover(); p != nil {
			row.Result = dynamics.Result{}
			row.Status, row.Error = results.StatusFailed, fmt.Sprintf("panic: %v", p)
			traj, err = nil, nil
		}
		row.FinishedAt = time.Now().UTC()
		row.WallSeconds = row.FinishedAt.Sub(row.StartedAt).Seconds()
	}()
	res, runErr := dynamics.RunIntoWithLimits(ctx, pt.Params, lim, room)
	switch {
	case runErr != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case runErr != nil:
		row.Status, row.Error = results.StatusFailed, runErr.Error()
		return nil, nil
	case res.Diverged:
		row.Status = results.StatusDiverged
	case res.ConvTime != nil:
		row.Status = results.StatusConverged
	default:
		row.Status = results.StatusNotConverged
	}
	traj = res.Trajectory
	res.Trajectory = nil
	row.Result = res
	return traj, nil
}

// heartbeat reports the chunk's progress every HeartbeatEvery until the
// returned stop function is called. The first report comes after one
// period, not at the start: a chunk shorter than that sends none (each
// heartbeat is a write on the Temporal server), and the period is at most
// a quarter of the heartbeat timeout.
func (a *Activities) heartbeat(ctx context.Context, prog *progress) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		every := HeartbeatEvery
		if timeout := activity.GetInfo(ctx).HeartbeatTimeout; timeout > 0 {
			every = min(every, timeout/4)
		}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, [2]int64{prog.done.Load(), prog.total.Load()})
			}
		}
	}()
	return func() { close(quit); <-finished }
}
