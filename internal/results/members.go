package results

import (
	"fmt"

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
	return membersTable.encodeRows(rows, func(i int, m *Member) error {
		if m.PointID == "" || m.SweepID == "" {
			return fmt.Errorf("results: EncodeMembers: row %d has point id %q and sweep id %q; both are required", i, m.PointID, m.SweepID)
		}
		return nil
	})
}

// DecodeMembers decodes a members table written by [EncodeMembers]. A nil
// alloc means memory.DefaultAllocator.
func DecodeMembers(data []byte, alloc memory.Allocator) ([]Member, error) {
	part, err := openParquet(data, TableMembers, MembersSchema, alloc)
	if err != nil {
		return nil, err
	}
	defer part.close()
	return membersTable.decodeRows(part, Member{}, nil)
}
