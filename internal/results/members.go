package results

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Member is one row of a sweep's members table ([MembersSchema]).
type Member struct {
	PointID string
	// SweepID and Chunk say where the point's rows are stored.
	SweepID string
	Chunk   int64
}

// membersTable is the members table, one column a line in schema order
// (see [MembersSchema]). A sweep's points are stored by few sweeps, in few
// chunks: their columns are dictionary-encoded.
var membersTable = newTable(TableMembers, []column[Member]{
	required("point_id", plain, func(m *Member) string { return m.PointID }, func(m *Member, v string) { m.PointID = v }),
	required("sweep_id", dictionary, func(m *Member) string { return m.SweepID }, func(m *Member, v string) { m.SweepID = v }),
	required("chunk", dictionary, func(m *Member) int64 { return m.Chunk }, func(m *Member, v int64) { m.Chunk = v }),
})

// EncodeMembers encodes a members table; rows should come sorted by
// PointID. It returns an error for a row without a point id or sweep id.
func EncodeMembers(rows []Member) ([]byte, error) {
	return membersTable.encode(len(rows), func(buffers *partBuffers[Member], start, end int) error {
		for i := start; i < end; i++ {
			if m := &rows[i]; m.PointID == "" || m.SweepID == "" {
				return fmt.Errorf("results: EncodeMembers: row %d has point id %q and sweep id %q; both are required", i, m.PointID, m.SweepID)
			}
		}
		buffers.write(rows[start:end])
		return nil
	})
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
	err = part.each(func(rec arrow.RecordBatch) error {
		read := readers(membersTable.part, rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, Member{})
			readRow(read, i, &rows[len(rows)-1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
