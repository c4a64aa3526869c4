package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// markerReaders bounds the concurrent reads of chunk markers.
const markerReaders = 16

// FinalizeSweep gathers the chunk markers of a sweep. When every chunk is
// done it writes the summary table, the point index (so later sweeps into
// the same output skip these points) and, last, the manifest. A sweep with
// missing chunks gets no manifest: its status is "incomplete" and a later
// submit finishes it.
func (a *Activities) FinalizeSweep(ctx context.Context, ref SweepRef) (FinalizeResult, error) {
	sc, err := a.sweep(ctx, ref.Output, ref.SweepID)
	if err != nil {
		return FinalizeResult{}, err
	}
	manifestKey := results.ManifestKey(ref.SweepID)
	summaryKey := results.SummaryKey(ref.SweepID)
	if body, err := sc.store.Get(ctx, manifestKey); err == nil {
		m, err := results.DecodeManifest(body)
		if err != nil {
			return FinalizeResult{}, fmt.Errorf("read %s: %w", manifestKey, err)
		}
		return FinalizeResult{ManifestKey: manifestKey, SummaryKey: summaryKey, Status: m.Status, Points: m.Points, Parts: len(m.Parts)}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return FinalizeResult{}, err
	}

	markers, err := a.readMarkers(ctx, sc)
	if err != nil {
		return FinalizeResult{}, err
	}
	chunks := sc.plan.chunks()
	if int64(len(markers)) < chunks {
		return FinalizeResult{Status: results.SweepIncomplete, Points: sumPoints(markers)}, nil
	}

	m := results.Manifest{
		SchemaVersion: results.SchemaVersion,
		SweepID:       ref.SweepID,
		Name:          sc.plan.Name,
		Spec:          json.RawMessage(sc.spec.Canonical()),
		Status:        results.SweepComplete,
		Chunks:        chunks,
		Reused:        sc.plan.Reused,
		ReusedFrom:    sc.plan.ReusedFrom,
	}
	var summary []results.SummaryRow
	// Each marker's point ids are dropped once they are in the index.
	index := pointIndex{raw: make([]pointKey, 0, sumPoints(markers))}
	var first, last time.Time
	for i := range markers {
		mk := &markers[i]
		r := mk.Result
		m.Points += r.Points
		m.Counts.Converged += r.Converged
		m.Counts.NotConverged += r.NotConverged
		m.Counts.Diverged += r.Diverged
		m.Counts.Failed += r.Failed
		m.Parts = append(m.Parts, mk.Parts...)
		summary = append(summary, mk.Summary...)
		index.raw = append(index.raw, mk.keys...)
		mk.keys = nil
		if mk.written.Before(first) || first.IsZero() {
			first = mk.written
		}
		if mk.written.After(last) {
			last = mk.written
		}
	}
	m.CreatedAt, m.FinishedAt = first, last
	summary = results.MergeSummaries(summary)

	summaryBody, err := results.EncodeSummary(summary, a.cfg.Alloc)
	if err != nil {
		return FinalizeResult{}, fmt.Errorf("encode summary: %w", err)
	}
	if err := sc.store.Put(ctx, summaryKey, summaryBody); err != nil {
		return FinalizeResult{}, fmt.Errorf("store %s: %w", summaryKey, err)
	}
	if err := sc.store.Put(ctx, indexKey(ref.SweepID), index.encode()); err != nil {
		return FinalizeResult{}, fmt.Errorf("store point index: %w", err)
	}
	body, err := m.Encode()
	if err != nil {
		return FinalizeResult{}, err
	}
	if err := sc.store.Put(ctx, manifestKey, body); err != nil {
		return FinalizeResult{}, fmt.Errorf("store %s: %w", manifestKey, err)
	}
	activity.GetLogger(ctx).Info("Sweep finalized", "SweepID", ref.SweepID, "Points", m.Points, "Parts", len(m.Parts))
	return FinalizeResult{ManifestKey: manifestKey, SummaryKey: summaryKey, Status: m.Status, Points: m.Points, Parts: len(m.Parts)}, nil
}

// storedMarker is a chunk marker as read back: its point ids are decoded
// into keys, and its PointIDsHex and PointIDs emptied.
type storedMarker struct {
	chunkMarker
	keys    []pointKey
	written time.Time
}

func sumPoints(ms []storedMarker) int64 {
	var n int64
	for _, m := range ms {
		n += m.Result.Points
	}
	return n
}

// readMarkers reads every chunk marker of a sweep, in chunk order.
func (a *Activities) readMarkers(ctx context.Context, sc *sweepCache) ([]storedMarker, error) {
	var objs []store.ObjectInfo
	for obj, err := range sc.store.List(ctx, chunksPrefix(sc.plan.SweepID)) {
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	out := make([]storedMarker, len(objs))
	errs := make([]error, len(objs))
	sem := make(chan struct{}, markerReaders)
	var wg sync.WaitGroup
	for i, obj := range objs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := sc.store.Get(ctx, obj.Key)
			if err == nil {
				err = json.Unmarshal(body, &out[i].chunkMarker)
			}
			if err == nil {
				// The ids as index keys take half the memory of their hex.
				mk := &out[i]
				ix := pointIndex{raw: make([]pointKey, 0, mk.Result.Points)}
				err = mk.addPointIDs(&ix)
				mk.keys, mk.PointIDsHex, mk.PointIDs = ix.raw, "", nil
			}
			if err != nil {
				errs[i] = fmt.Errorf("read %s: %w", obj.Key, err)
			}
			out[i].written = obj.Modified.UTC()
		}()
		if i%1000 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
