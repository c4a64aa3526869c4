package results

import (
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Member is one row of a sweep's members table ([MembersSchema]).
type Member struct {
	PointID string
	// SweepID and Chunk say where the point's rows are stored.
	SweepID string
	Chunk   int64
}

// membersDictionary are the members columns written with a dictionary:
// a sweep's points are stored by few sweeps, in few chunks.
var membersDictionary = []string{"sweep_id", "chunk"}

var membersLayout = sync.OnceValue(func() *tableLayout {
	return newTableLayout(MembersSchema, membersDictionary)
})

// EncodeMembers encodes a members table; rows should come sorted by
// PointID. It returns an error for a row without a point id or sweep id.
func EncodeMembers(rows []Member) ([]byte, error) {
	enc := membersLayout().encoder()
	defer enc.release()
	var pointID, sweepID columnBuffer[string]
	var chunk columnBuffer[int64]
	list := checkColumns(membersLayout(), []namedColumn{{"point_id", &pointID}, {"sweep_id", &sweepID}, {"chunk", &chunk}})
	enc.start()
	for start := 0; start < len(rows); start += RowGroupRows {
		group := rows[start:min(len(rows), start+RowGroupRows)]
		list.reset(len(group))
		for i := range group {
			m := &group[i]
			if m.PointID == "" || m.SweepID == "" {
				return nil, fmt.Errorf("results: EncodeMembers: row %d has point id %q and sweep id %q; both are required", start+i, m.PointID, m.SweepID)
			}
			pointID.appendRequired(m.PointID)
			sweepID.appendRequired(m.SweepID)
			chunk.appendRequired(m.Chunk)
		}
		if err := enc.writeRowGroup(list, len(group)); err != nil {
			return nil, fmt.Errorf("results: EncodeMembers: %w", err)
		}
	}
	return enc.finish(), nil
}

// DecodeMembers decodes a members table written by [EncodeMembers]. A nil
// alloc means memory.DefaultAllocator.
func DecodeMembers(data []byte, alloc memory.Allocator) ([]Member, error) {
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	part, err := openParquet(data, TableMembers, MembersSchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	rows := make([]Member, 0, part.numRows)
	var sweeps stringCache
	err = part.each(func(rec arrow.RecordBatch) error {
		pointID := column[*array.String](rec, "point_id")
		sweepID := column[*array.String](rec, "sweep_id")
		chunk := column[*array.Int64](rec, "chunk")
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, Member{PointID: pointID.Value(i), SweepID: sweeps.get(sweepID.Value(i)), Chunk: chunk.Value(i)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
