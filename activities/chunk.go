package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// heartbeatEvery is how often a running chunk reports that it is alive, or
// a quarter of the activity's heartbeat timeout if that is shorter.
const heartbeatEvery = 5 * time.Second

// sweepCache holds what a worker needs to compute any chunk of a sweep.
type sweepCache struct {
	store store.Store
	spec  *schemas.Spec
	grid  *schemas.Grid
	plan  *planFile
}

// sweep loads (once per worker) the stored spec and plan of a sweep.
func (a *Activities) sweep(ctx context.Context, output, sweepID string) (*sweepCache, error) {
	key := output + "\x00" + sweepID
	a.mu.Lock()
	sc, ok := a.sweeps[key]
	a.mu.Unlock()
	if ok {
		return sc, nil
	}
	st, err := a.store(ctx, output)
	if err != nil {
		return nil, err
	}
	body, err := st.Get(ctx, specKey(sweepID))
	if err != nil {
		return nil, fmt.Errorf("read spec of sweep %s: %w", sweepID, err)
	}
	spec, err := schemas.Parse(body, specKey(sweepID))
	if err != nil {
		return nil, invalidSpec(err)
	}
	grid, err := spec.Grid()
	if err != nil {
		return nil, invalidSpec(err)
	}
	plan, err := readPlan(ctx, st, sweepID)
	if err != nil {
		return nil, fmt.Errorf("read plan of sweep %s: %w", sweepID, err)
	}
	sc = &sweepCache{store: st, spec: spec, grid: grid, plan: plan}
	a.mu.Lock()
	a.sweeps[key] = sc
	a.mu.Unlock()
	return sc, nil
}

// chunkMarker is written last for a chunk: its presence means every part of
// the chunk is stored. It also carries what finalizing needs, so that the
// manifest and summary never read the Parquet parts again.
type chunkMarker struct {
	SweepID string         `json:"sweep_id"`
	Chunk   int64          `json:"chunk"`
	Result  ChunkResult    `json:"result"`
	Parts   []results.Part `json:"parts"`
	// PointIDsHex holds the chunk's point ids (32 hex digits each) one
	// after another: one JSON string decodes in a fraction of the time a
	// list of 20,000 takes. Markers written before it hold PointIDs.
	PointIDsHex string               `json:"point_ids_hex,omitempty"`
	PointIDs    []string             `json:"point_ids,omitempty"`
	Summary     []results.SummaryRow `json:"summary"`
}

// pointIDLen is the length of a point id: 32 hex digits.
const pointIDLen = 32

// addPointIDs adds the marker's point ids, old form or new, to ix.
func (m *chunkMarker) addPointIDs(ix *pointIndex) error {
	if m.PointIDsHex == "" {
		for _, id := range m.PointIDs {
			if err := ix.add(id); err != nil {
				return fmt.Errorf("marker of chunk %d: %w", m.Chunk, err)
			}
		}
		return nil
	}
	if len(m.PointIDsHex)%pointIDLen != 0 {
		return fmt.Errorf("marker of chunk %d: point_ids_hex holds %d characters, not a multiple of %d", m.Chunk, len(m.PointIDsHex), pointIDLen)
	}
	for i := 0; i < len(m.PointIDsHex); i += pointIDLen {
		if err := ix.add(m.PointIDsHex[i : i+pointIDLen]); err != nil {
			return fmt.Errorf("marker of chunk %d: %w", m.Chunk, err)
		}
	}
	return nil
}

// partition groups the points of a chunk that share a Hive partition.
type partition struct {
	results.Partition
	points []schemas.Point
}

// RunChunk integrates the points of one chunk and stores them as Parquet
// parts, then writes the chunk's marker. It returns counts and keys only.
// It is idempotent: a chunk whose marker exists is not computed again, and
// a partition whose parts an earlier attempt already stored is reused.
func (a *Activities) RunChunk(ctx context.Context, ref ChunkRef) (ChunkResult, error) {
	sc, err := a.sweep(ctx, ref.Output, ref.SweepID)
	if err != nil {
		return ChunkResult{}, err
	}
	if ref.Chunk < 0 || ref.Chunk >= sc.plan.chunks() {
		return ChunkResult{}, invalidSpec(fmt.Errorf("chunk %d is outside sweep %s (%d chunks)", ref.Chunk, ref.SweepID, sc.plan.chunks()))
	}
	if body, err := sc.store.Get(ctx, chunkKey(ref.SweepID, ref.Chunk)); err == nil {
		var m chunkMarker
		if err := json.Unmarshal(body, &m); err != nil {
			return ChunkResult{}, fmt.Errorf("read marker of chunk %d: %w", ref.Chunk, err)
		}
		r := m.Result
		r.AlreadyDone = true
		r.ComputeSeconds = 0
		return r, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return ChunkResult{}, err
	}

	ords := sc.plan.ordinals(ref.Chunk)
	parts := map[results.Partition]*partition{}
	var order []*partition
	for _, o := range ords {
		pt := sc.grid.Point(o)
		k := results.Partition{Algorithm: pt.Params.Algorithm, N: pt.Params.N}
		p, ok := parts[k]
		if !ok {
			p = &partition{Partition: k}
			parts[k] = p
			order = append(order, p)
		}
		p.points = append(p.points, pt)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Algorithm != order[j].Algorithm {
			return order[i].Algorithm < order[j].Algorithm
		}
		return order[i].N < order[j].N
	})

	var done atomic.Int64
	stopBeat := a.heartbeat(ctx, &done, int64(len(ords)))
	defer stopBeat()

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
		store, err := a.runPartition(ctx, sc, ref, p, &done)
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

	res := ChunkResult{Chunk: ref.Chunk}
	marker := chunkMarker{SweepID: ref.SweepID, Chunk: ref.Chunk}
	var ids strings.Builder
	ids.Grow(pointIDLen * len(ords))
	var summary []results.SummaryRow
	for _, o := range outs {
		if o.err != nil {
			return ChunkResult{}, o.err
		}
		c := results.CountStatuses(o.rows)
		res.Points += int64(len(o.rows))
		res.Converged += c.Converged
		res.NotConverged += c.NotConverged
		res.Diverged += c.Diverged
		res.Failed += c.Failed
		for _, r := range o.rows {
			res.ComputeSeconds += r.WallSeconds
			if len(r.PointID) != pointIDLen {
				return ChunkResult{}, fmt.Errorf("point %d of chunk %d: id %q is not %d hex digits", r.PointIndex, ref.Chunk, r.PointID, pointIDLen)
			}
			ids.WriteString(r.PointID)
		}
		for _, info := range o.infos {
			res.Parts = append(res.Parts, info.Key)
		}
		marker.Parts = append(marker.Parts, o.infos...)
		summary = append(summary, results.Summarize(o.rows)...)
	}
	// The partitions hold disjoint points: merging their summaries gives
	// the chunk's.
	marker.Summary = results.MergeSummaries(summary)
	marker.PointIDsHex = ids.String()
	marker.Result = res
	body, err := json.Marshal(marker)
	if err != nil {
		return ChunkResult{}, err
	}
	for _, o := range outs {
		if cap(o.rows) <= maxFreeRowSliceLen {
			a.pointRows.put(o.rows)
		}
	}
	if err := sc.store.Put(ctx, chunkKey(ref.SweepID, ref.Chunk), body); err != nil {
		var conflict *store.ConflictError
		if !errors.As(err, &conflict) {
			return ChunkResult{}, fmt.Errorf("store marker of chunk %d: %w", ref.Chunk, err)
		}
		// A concurrent attempt finished the chunk first; its marker stands.
	}
	return res, nil
}

// runPartition computes the rows of one partition of a chunk and returns
// a function that encodes and stores them as the partition's two parts and
// returns the rows and parts. When an earlier attempt already stored both
// parts, nothing is computed: the function returns what is stored.
func (a *Activities) runPartition(ctx context.Context, sc *sweepCache, ref ChunkRef, p *partition, done *atomic.Int64) (store func() ([]results.PointRow, []results.Part, error), err error) {
	part := p.Partition
	pointsKey := results.PointsKey(ref.SweepID, part, ref.Chunk)
	trajKey := results.TrajectoriesKey(ref.SweepID, part, ref.Chunk)
	if rows, infos, ok, err := a.storedPartition(ctx, sc.store, pointsKey, trajKey); err != nil {
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
	attempt := activity.GetInfo(ctx).Attempt
	lim := sc.grid.Limits().Dynamics()
	if err := a.compute(ctx, len(p.points), func(g, i int) error {
		pt := &p.points[i]
		traj, err := a.runPoint(ctx, ref, pt, lim, attempt, arenas[g].room(pt.Params.Record), &rows[i])
		arenas[g].keep(traj)
		trajs[i] = traj
		done.Add(1)
		return err
	}); err != nil {
		return nil, err
	}
	return func() ([]results.PointRow, []results.Part, error) {
		return a.storePartition(ctx, sc.store, ref, p, rows, trajs, arenas)
	}, nil
}

// storePartition encodes the rows and trajectories of a computed partition
// and stores them, trajectories first. Once the trajectories are encoded,
// the arenas that hold them are released.
func (a *Activities) storePartition(ctx context.Context, st store.Store, ref ChunkRef, p *partition, rows []results.PointRow, trajs [][]dynamics.Sample, arenas []sampleArena) ([]results.PointRow, []results.Part, error) {
	pointsKey := results.PointsKey(ref.SweepID, p.Partition, ref.Chunk)
	trajKey := results.TrajectoriesKey(ref.SweepID, p.Partition, ref.Chunk)
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
		trajBody, trajRows, trajErr = results.EncodePointSamples(ref.SweepID, p.Partition, samples, a.cfg.Alloc)
		clear(trajs)
		for g := range arenas {
			arenas[g].release()
		}
	}()
	pointsBody, err := results.EncodePoints(rows, a.cfg.Alloc)
	<-trajDone
	if err != nil {
		return nil, nil, fmt.Errorf("encode points of chunk %d: %w", ref.Chunk, err)
	}
	if trajErr != nil {
		return nil, nil, fmt.Errorf("encode trajectories of chunk %d: %w", ref.Chunk, trajErr)
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
			// and died before the marker: keep what is stored.
			return a.reuseAfterConflict(ctx, st, pointsKey, trajKey)
		}
	}
	return rows, infos, nil
}

func (a *Activities) reuseAfterConflict(ctx context.Context, st store.Store, pointsKey, trajKey string) ([]results.PointRow, []results.Part, error) {
	rows, infos, ok, err := a.storedPartition(ctx, st, pointsKey, trajKey)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("parts %s and %s are partly stored after a conflict; retrying", pointsKey, trajKey)
	}
	return rows, infos, nil
}

// storedPartition reads back a partition whose two parts are both stored.
func (a *Activities) storedPartition(ctx context.Context, st store.Store, pointsKey, trajKey string) ([]results.PointRow, []results.Part, bool, error) {
	pointsBody, err := st.Get(ctx, pointsKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, false, nil
	} else if err != nil {
		return nil, nil, false, err
	}
	trajBody, err := st.Get(ctx, trajKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, false, nil
	} else if err != nil {
		return nil, nil, false, err
	}
	rows, err := results.DecodePoints(pointsBody, a.cfg.Alloc)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read back %s: %w", pointsKey, err)
	}
	trajRows, err := results.DecodeTrajectories(trajBody, a.cfg.Alloc)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read back %s: %w", trajKey, err)
	}
	return rows, []results.Part{
		results.NewPart(trajKey, results.TableTrajectories, int64(len(trajRows)), trajBody),
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
func (a *Activities) runPoint(ctx context.Context, ref ChunkRef, pt *schemas.Point, lim dynamics.Limits, attempt int32, room []dynamics.Sample, row *results.PointRow) (traj []dynamics.Sample, err error) {
	*row = results.PointRow{
		SweepID: ref.SweepID, PointID: pt.ID, PointIndex: pt.Index, Chunk: ref.Chunk,
		Params: pt.Params, CodeVersion: a.cfg.CodeVersion, WorkerHost: a.cfg.Host, Attempt: attempt,
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

// heartbeat reports the chunk's progress every heartbeatEvery until the
// returned stop function is called. The first report comes after one
// period, not at the start: a chunk shorter than that sends none (each
// heartbeat is a write on the Temporal server), and the period is at most
// a quarter of the heartbeat timeout.
func (a *Activities) heartbeat(ctx context.Context, done *atomic.Int64, total int64) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		every := heartbeatEvery
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
				activity.RecordHeartbeat(ctx, [2]int64{done.Load(), total})
			}
		}
	}()
	return func() { close(quit); <-finished }
}
