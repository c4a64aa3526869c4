package results

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
)

// Summarize groups points by (algorithm, mode, n, init_scale) and returns,
// for each group, the learning rate of the converged point with the
// smallest conv_time (ties go to the smaller eta), that conv_time, and the
// counts of points, converged points and diverged points (by Status). A
// point counts as converged for the best eta when its Status is
// [StatusConverged] and its ConvTime is set. Groups come in (algorithm,
// mode, n, init_scale) order, so the result does not depend on the order of
// rows.
func Summarize(rows []PointRow) []SummaryRow {
	var g summaryGroups
	for i := range rows {
		r := &rows[i]
		s := g.row(r.Params.Algorithm, r.Params.Mode, r.Params.N, r.Params.InitScale)
		s.Points++
		switch r.Status {
		case StatusConverged:
			s.Converged++
		case StatusDiverged:
			s.Diverged++
		}
		if r.Status == StatusConverged && r.Result.ConvTime != nil {
			s.offer(*r.Result.ConvTime, r.Params.Eta)
		}
	}
	return g.sorted()
}

// MergeSummaries merges summary rows of disjoint sets of points (for
// example, one set per chunk) into the summary of their union: counts add
// up, and the best eta is the one with the smallest conv_time (ties go to
// the smaller eta), exactly as Summarize over all the rows would give.
func MergeSummaries(rows []SummaryRow) []SummaryRow {
	var g summaryGroups
	for _, r := range rows {
		s := g.row(r.Algorithm, r.Mode, r.N, r.InitScale)
		s.Points += r.Points
		s.Converged += r.Converged
		s.Diverged += r.Diverged
		if r.BestConvTime != nil {
			s.offer(*r.BestConvTime, *r.BestEta)
		}
	}
	return g.sorted()
}

// summaryGroups collects summary rows by (algorithm, mode, n, init_scale).
type summaryGroups struct {
	index map[summaryKey]int
	rows  []SummaryRow
}

type summaryKey struct {
	algorithm dynamics.Algorithm
	mode      dynamics.Mode
	n         int
	initScale float64
}

// row returns the group's row, adding it when new.
func (g *summaryGroups) row(alg dynamics.Algorithm, mode dynamics.Mode, n int, initScale float64) *SummaryRow {
	k := summaryKey{alg, mode, n, initScale}
	if g.index == nil {
		g.index = map[summaryKey]int{}
	}
	j, ok := g.index[k]
	if !ok {
		j = len(g.rows)
		g.index[k] = j
		g.rows = append(g.rows, SummaryRow{Algorithm: alg, Mode: mode, N: n, InitScale: initScale})
	}
	return &g.rows[j]
}

// offer keeps (t, eta) as the group's best when t is smaller than the best
// so far, or equal with a smaller eta.
func (s *SummaryRow) offer(t, eta float64) {
	if s.BestConvTime == nil || t < *s.BestConvTime || (t == *s.BestConvTime && eta < *s.BestEta) {
		s.BestConvTime, s.BestEta = &t, &eta
	}
}

// sorted returns the rows in (algorithm, mode, n, init_scale) order.
func (g *summaryGroups) sorted() []SummaryRow {
	slices.SortFunc(g.rows, func(a, b SummaryRow) int {
		return cmp.Or(
			cmp.Compare(a.Algorithm, b.Algorithm),
			cmp.Compare(a.Mode, b.Mode),
			cmp.Compare(a.N, b.N),
			cmp.Compare(a.InitScale, b.InitScale),
		)
	})
	return g.rows
}

// summaryTable is the summary table, one column a line in schema order
// (see [SummarySchema]). The group keys repeat across rows: they are
// dictionary-encoded.
var summaryTable = newTable(TableSummary, []column[SummaryRow]{
	required("algorithm", dictionary, func(r *SummaryRow) string { return string(r.Algorithm) }, func(r *SummaryRow, v string) { r.Algorithm = dynamics.Algorithm(v) }),
	required("mode", dictionary, func(r *SummaryRow) string { return string(r.Mode) }, func(r *SummaryRow, v string) { r.Mode = dynamics.Mode(v) }),
	required("n", dictionary, func(r *SummaryRow) int64 { return int64(r.N) }, func(r *SummaryRow, v int64) { r.N = int(v) }),
	required("init_scale", dictionary, func(r *SummaryRow) float64 { return r.InitScale }, func(r *SummaryRow, v float64) { r.InitScale = v }),
	optional("best_eta", plain, func(r *SummaryRow) (float64, bool) { return deref(r.BestEta) }, func(r *SummaryRow, v float64) { r.BestEta = &v }),
	optional("best_conv_time", plain, func(r *SummaryRow) (float64, bool) { return deref(r.BestConvTime) }, func(r *SummaryRow, v float64) { r.BestConvTime = &v }),
	required("points", plain, func(r *SummaryRow) int64 { return r.Points }, func(r *SummaryRow, v int64) { r.Points = v }),
	required("converged", plain, func(r *SummaryRow) int64 { return r.Converged }, func(r *SummaryRow, v int64) { r.Converged = v }),
	required("diverged", plain, func(r *SummaryRow) int64 { return r.Diverged }, func(r *SummaryRow, v int64) { r.Diverged = v }),
})

// EncodeSummary encodes summary rows as a Parquet file of the summary table
// (columns [SummarySchema]). It returns an error for a row with only one of
// BestEta and BestConvTime.
func EncodeSummary(rows []SummaryRow) ([]byte, error) {
	return summaryTable.encodeRows(rows, func(i int, r *SummaryRow) error {
		if (r.BestEta == nil) != (r.BestConvTime == nil) {
			return fmt.Errorf("results: EncodeSummary: row %d (algorithm %q, n %d, init_scale %g): best_eta and best_conv_time must be both set or both nil", i, r.Algorithm, r.N, r.InitScale)
		}
		return nil
	})
}

// DecodeSummary decodes a Parquet file written by [EncodeSummary]. A row
// with only one of best_eta and best_conv_time gets neither. A nil alloc
// means memory.DefaultAllocator.
func DecodeSummary(data []byte, alloc memory.Allocator) ([]SummaryRow, error) {
	part, err := openParquet(data, TableSummary, SummarySchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	return summaryTable.decodeRows(part, SummaryRow{}, func(r *SummaryRow) {
		if r.BestEta == nil || r.BestConvTime == nil {
			r.BestEta, r.BestConvTime = nil, nil
		}
	})
}
