package results

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/store"
)

// WritePoints stores the points of one chunk: it splits rows by partition
// ([SplitPoints]), encodes each partition ([EncodePoints]) and puts it at
// [PointsKey]. Every row must carry sweepID and chunk. Writing the same rows
// again is a no-op (the encoding is deterministic and the store is
// create-only); different rows at an existing key give the store's
// *store.ConflictError. It returns the parts written, in key order; no rows
// write nothing.
func WritePoints(ctx context.Context, st store.Store, sweepID string, chunk int64, rows []PointRow, alloc memory.Allocator) ([]Part, error) {
	if err := checkChunk(sweepID, chunk); err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].SweepID != sweepID || rows[i].Chunk != chunk {
			return nil, fmt.Errorf("results: WritePoints: row %d (point %q) has sweep %q chunk %d, want sweep %q chunk %d; write each chunk's rows on their own", i, rows[i].PointID, rows[i].SweepID, rows[i].Chunk, sweepID, chunk)
		}
	}
	var parts []Part
	for _, pp := range SplitPoints(rows) {
		if err := pp.Partition.Check(); err != nil {
			return nil, fmt.Errorf("results: WritePoints: point %q: %w", pp.Rows[0].PointID, err)
		}
		body, err := EncodePoints(pp.Rows, alloc)
		if err != nil {
			return nil, err
		}
		part, err := putPart(ctx, st, PointsKey(sweepID, pp.Partition, chunk), TablePoints, int64(len(pp.Rows)), body)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// WriteTrajectories stores the trajectory rows of one chunk: it splits them
// by partition ([SplitTrajectories]), encodes each partition
// ([EncodeTrajectories]) and puts it at [TrajectoriesKey]. Every row must
// carry sweepID. It returns the parts written, in key order; no rows write
// nothing.
func WriteTrajectories(ctx context.Context, st store.Store, sweepID string, chunk int64, rows []TrajectoryRow, alloc memory.Allocator) ([]Part, error) {
	if err := checkChunk(sweepID, chunk); err != nil {
		return nil, err
	}
	for i := range rows {
		if rows[i].SweepID != sweepID {
			return nil, fmt.Errorf("results: WriteTrajectories: row %d (point %q) has sweep %q, want %q", i, rows[i].PointID, rows[i].SweepID, sweepID)
		}
	}
	var parts []Part
	for _, pp := range SplitTrajectories(rows) {
		if err := pp.Partition.Check(); err != nil {
			return nil, fmt.Errorf("results: WriteTrajectories: point %q: %w", pp.Rows[0].PointID, err)
		}
		body, err := EncodeTrajectories(pp.Rows, alloc)
		if err != nil {
			return nil, err
		}
		part, err := putPart(ctx, st, TrajectoriesKey(sweepID, pp.Partition, chunk), TableTrajectories, int64(len(pp.Rows)), body)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// WriteSummary encodes rows ([EncodeSummary]) and puts them at
// [SummaryKey].
func WriteSummary(ctx context.Context, st store.Store, sweepID string, rows []SummaryRow, alloc memory.Allocator) (Part, error) {
	if err := CheckSweepID(sweepID); err != nil {
		return Part{}, err
	}
	body, err := EncodeSummary(rows, alloc)
	if err != nil {
		return Part{}, err
	}
	return putPart(ctx, st, SummaryKey(sweepID), TableSummary, int64(len(rows)), body)
}

func checkChunk(sweepID string, chunk int64) error {
	if err := CheckSweepID(sweepID); err != nil {
		return err
	}
	if chunk < 0 {
		return fmt.Errorf("results: chunk %d is negative; chunks are numbered from 0", chunk)
	}
	return nil
}

func putPart(ctx context.Context, st store.Store, key, table string, rows int64, body []byte) (Part, error) {
	if err := st.Put(ctx, key, body); err != nil {
		return Part{}, fmt.Errorf("results: store %s part at %s in %s: %w", table, key, st.Location(), err)
	}
	return NewPart(key, table, rows, body), nil
}

// PartKeys lists the keys of one sweep's parts of table
// ([TablePoints] or [TableTrajectories]) in st, in key order.
func PartKeys(ctx context.Context, st store.Store, sweepID, table string) ([]string, error) {
	if err := CheckSweepID(sweepID); err != nil {
		return nil, err
	}
	if table != TablePoints && table != TableTrajectories {
		return nil, fmt.Errorf("results: PartKeys: table %q is not partitioned; use %q or %q", table, TablePoints, TableTrajectories)
	}
	var keys []string
	for obj, err := range st.List(ctx, table+"/") {
		if err != nil {
			return nil, fmt.Errorf("results: list %s parts in %s: %w", table, st.Location(), err)
		}
		if isPartOf(path.Base(obj.Key), sweepID) {
			keys = append(keys, obj.Key)
		}
	}
	return keys, nil
}

// isPartOf reports whether a file name is part-<sweepID>-<digits>.parquet;
// the digits keep sweep "a" from claiming the parts of sweep "a-b".
func isPartOf(name, sweepID string) bool {
	rest, ok := strings.CutPrefix(name, "part-"+sweepID+"-")
	if !ok {
		return false
	}
	digits, ok := strings.CutSuffix(rest, ".parquet")
	if !ok || len(digits) < 6 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
