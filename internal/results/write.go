package results

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/store"
)

// PartKeys lists the keys of one sweep's parts of table
// ([TablePoints] or [TableTrajectories]) in st, in key order.
func PartKeys(ctx context.Context, st store.Store, sweepID, table string) ([]string, error) {
	if err := CheckSweepID(sweepID); err != nil {
		return nil, err
	}
	if !slices.Contains(PartTables, table) {
		return nil, fmt.Errorf("results: PartKeys: table %q is not partitioned; use one of %q", table, PartTables)
	}
	var keys []string
	for obj, err := range st.List(ctx, table+"/") {
		if err != nil {
			return nil, fmt.Errorf("results: list %s parts in %s: %w", table, st.Location(), err)
		}
		if _, id, _, ok := ParsePartKey(obj.Key); ok && id == sweepID {
			keys = append(keys, obj.Key)
		}
	}
	return keys, nil
}

// ReadPoints reads every points part of one sweep in st and returns its
// rows ordered by point index.
func ReadPoints(ctx context.Context, st store.Store, sweepID string, alloc memory.Allocator) ([]PointRow, error) {
	keys, err := PartKeys(ctx, st, sweepID, TablePoints)
	if err != nil {
		return nil, err
	}
	var rows []PointRow
	for _, key := range keys {
		body, err := st.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("results: read points part %s in %s: %w", key, st.Location(), err)
		}
		part, err := DecodePoints(body, alloc)
		if err != nil {
			return nil, fmt.Errorf("%w (part %s in %s)", err, key, st.Location())
		}
		rows = append(rows, part...)
	}
	slices.SortStableFunc(rows, func(a, b PointRow) int { return cmp.Compare(a.PointIndex, b.PointIndex) })
	return rows, nil
}
