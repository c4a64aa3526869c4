// Package report turns a sweep's stored points into what a researcher
// reads first: a table with a row per setting of the axes that vary (by
// default the best learning rate, and the median and quartiles of the
// convergence time over seeds, with every point counted by status); a
// linear law τ = a + b·x and a logarithmic law τ = a + b·ln x fitted
// against x = init_scale μ and x = λ_max(M₀), with R², a confidence
// interval on the slope and a stated rule that names the law; and figures
// of both (gonum/plot, PNG and SVG).
package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// Sweep is the loaded data of one sweep.
type Sweep struct {
	SweepID string
	Name    string
	Points  []results.PointRow
	// Expected is the number of points the sweep has (from its manifest;
	// 0 when it has none). Warnings say, a line each, why Points may not
	// be all of them: a sweep not complete, parts missing or changed.
	Expected int64
	Warnings []string
}

// Load reads the points of a sweep from st. A complete sweep's points are
// the rows its members table lists, read from the parts its manifest lists
// (its own, and those of the earlier sweeps it reused points of), each
// part checked against the manifest's SHA-256. A sweep without a manifest
// is not complete: its own stored rows are read, and a warning says so.
func Load(ctx context.Context, st store.Store, sweepID string, alloc memory.Allocator) (*Sweep, error) {
	s := &Sweep{SweepID: sweepID}
	body, err := st.Get(ctx, results.ManifestKey(sweepID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		rows, err := results.ReadPoints(ctx, st, sweepID, alloc)
		if err != nil {
			return nil, err
		}
		s.Points = rows
		s.Warnings = append(s.Warnings, fmt.Sprintf("sweep %s is not complete (no manifest): this report covers the %d points it has stored so far; run it to the end first", sweepID, len(rows)))
	case err != nil:
		return nil, err
	default:
		m, err := results.DecodeManifest(body)
		if err != nil {
			return nil, err
		}
		s.Name, s.Expected = m.Name, m.Points
		if err := s.loadMembers(ctx, st, m, alloc); err != nil {
			return nil, err
		}
		if int64(len(s.Points)) != m.Points {
			s.Warnings = append(s.Warnings, fmt.Sprintf("this report covers %d of the sweep's %d points; run isweep verify %s", len(s.Points), m.Points, sweepID))
		}
	}
	if len(s.Points) == 0 && len(s.Warnings) > 0 && s.Expected > 0 {
		// A complete sweep whose stored files are not all there: say
		// which, not that it has no points yet.
		return nil, fmt.Errorf("none of the %d points of sweep %s could be read from %s: %s; run isweep verify %s, and run the sweep again to derive what is missing", s.Expected, sweepID, st.Location(), strings.Join(s.Warnings, "; "), sweepID)
	}
	if len(s.Points) == 0 {
		return nil, fmt.Errorf("sweep %s has no points in %s yet", sweepID, st.Location())
	}
	return s, nil
}

// loadMembers reads the rows of the members of a complete sweep.
func (s *Sweep) loadMembers(ctx context.Context, st store.Store, m *results.Manifest, alloc memory.Allocator) error {
	type member struct{ point, sweep string }
	read := func(part results.Part) ([]byte, bool, error) {
		body, err := st.Get(ctx, part.Key)
		if errors.Is(err, store.ErrNotFound) {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s is missing", part.Key))
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		if err := part.Check(body); err != nil {
			s.Warnings = append(s.Warnings, err.Error())
			return nil, false, nil
		}
		return body, true, nil
	}
	members := map[member]bool{}
	for _, part := range m.Parts {
		if part.Table != results.TableMembers {
			continue
		}
		body, ok, err := read(part)
		if err != nil || !ok {
			return err
		}
		rows, err := results.DecodeMembers(body, alloc)
		if err != nil {
			return err
		}
		for _, r := range rows {
			members[member{r.PointID, r.SweepID}] = false
		}
	}
	for _, part := range m.Parts {
		if part.Table != results.TablePoints {
			continue
		}
		body, ok, err := read(part)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		rows, err := results.DecodePoints(body, alloc)
		if err != nil {
			return fmt.Errorf("%w (part %s)", err, part.Key)
		}
		for _, r := range rows {
			k := member{r.PointID, r.SweepID}
			if seen, ours := members[k]; ours && !seen {
				members[k] = true
				s.Points = append(s.Points, r)
			}
		}
	}
	slices.SortStableFunc(s.Points, func(a, b results.PointRow) int { return cmp.Compare(a.PointIndex, b.PointIndex) })
	return nil
}

// InitialSpectrum returns λ_max(M₀) of points, by point id: the largest
// eigenvalue of M in the first sample of each point's trajectory, when
// that sample is the start (step 0). It reads the trajectory parts that
// hold the points, one at a time, and keeps only those samples.
func InitialSpectrum(ctx context.Context, st store.Store, points []results.PointRow, alloc memory.Allocator) (map[string]float64, error) {
	want := map[string]bool{}
	keys := map[string]bool{}
	var order []string
	for _, p := range points {
		want[p.PointID] = true
		k := results.TrajectoriesKey(p.SweepID, results.Partition{Algorithm: p.Params.Algorithm, N: p.Params.N}, p.Chunk)
		if !keys[k] {
			keys[k] = true
			order = append(order, k)
		}
	}
	out := map[string]float64{}
	for _, k := range order {
		body, err := st.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		rows, err := results.DecodeTrajectories(body, alloc)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		for _, r := range rows {
			if r.Sample == 0 && r.Step == 0 && want[r.PointID] {
				out[r.PointID] = r.EigMax
			}
		}
	}
	return out, nil
}
