package results

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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

// EncodeSummary encodes summary rows as a Parquet file of the summary table
// (columns [SummarySchema]). A nil alloc means memory.DefaultAllocator.
func EncodeSummary(rows []SummaryRow, alloc memory.Allocator) ([]byte, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	rb := array.NewRecordBuilder(alloc, SummarySchema)
	defer rb.Release()
	rb.Reserve(len(rows))
	var (
		algorithm    = builder[*array.StringBuilder](rb, "algorithm")
		mode         = builder[*array.StringBuilder](rb, "mode")
		n            = builder[*array.Int64Builder](rb, "n")
		initScale    = builder[*array.Float64Builder](rb, "init_scale")
		bestEta      = builder[*array.Float64Builder](rb, "best_eta")
		bestConvTime = builder[*array.Float64Builder](rb, "best_conv_time")
		points       = builder[*array.Int64Builder](rb, "points")
		converged    = builder[*array.Int64Builder](rb, "converged")
		diverged     = builder[*array.Int64Builder](rb, "diverged")
	)
	for i := range rows {
		r := &rows[i]
		if (r.BestEta == nil) != (r.BestConvTime == nil) {
			return nil, fmt.Errorf("results: EncodeSummary: row %d (algorithm %q, n %d, init_scale %g): best_eta and best_conv_time must be both set or both nil", i, r.Algorithm, r.N, r.InitScale)
		}
		algorithm.Append(string(r.Algorithm))
		mode.Append(string(r.Mode))
		n.Append(int64(r.N))
		initScale.Append(r.InitScale)
		if r.BestEta != nil {
			bestEta.Append(*r.BestEta)
			bestConvTime.Append(*r.BestConvTime)
		} else {
			bestEta.AppendNull()
			bestConvTime.AppendNull()
		}
		points.Append(r.Points)
		converged.Append(r.Converged)
		diverged.Append(r.Diverged)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	return writeParquet(rec, "", alloc)
}

// DecodeSummary decodes a Parquet file written by [EncodeSummary]. A nil
// alloc means memory.DefaultAllocator.
func DecodeSummary(data []byte, alloc memory.Allocator) ([]SummaryRow, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	part, err := openParquet(data, TableSummary, SummarySchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	rows := make([]SummaryRow, 0, part.numRows)
	var algorithms, modes stringCache
	err = part.each(func(rec arrow.RecordBatch) error {
		var (
			algorithm    = arrayOf[*array.String](rec, "algorithm")
			mode         = arrayOf[*array.String](rec, "mode")
			n            = arrayOf[*array.Int64](rec, "n")
			initScale    = arrayOf[*array.Float64](rec, "init_scale")
			bestEta      = arrayOf[*array.Float64](rec, "best_eta")
			bestConvTime = arrayOf[*array.Float64](rec, "best_conv_time")
			points       = arrayOf[*array.Int64](rec, "points")
			converged    = arrayOf[*array.Int64](rec, "converged")
			diverged     = arrayOf[*array.Int64](rec, "diverged")
		)
		for i := 0; i < int(rec.NumRows()); i++ {
			r := SummaryRow{
				Algorithm: dynamics.Algorithm(algorithms.get(algorithm.Value(i))),
				Mode:      dynamics.Mode(modes.get(mode.Value(i))),
				N:         int(n.Value(i)),
				InitScale: initScale.Value(i),
				Points:    points.Value(i),
				Converged: converged.Value(i),
				Diverged:  diverged.Value(i),
			}
			if bestEta.IsValid(i) && bestConvTime.IsValid(i) {
				eta, t := bestEta.Value(i), bestConvTime.Value(i)
				r.BestEta, r.BestConvTime = &eta, &t
			}
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
