package results

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poisonAllocator overwrites the memory it frees, so that a value still
// pointing into a freed Arrow buffer reads garbage.
type poisonAllocator struct{ memory.Allocator }

func (a poisonAllocator) Free(b []byte) {
	for i := range b {
		b[i] = 0xff
	}
	a.Allocator.Free(b)
}

// memberRows returns count members sorted by point id: ids of 32 hex
// digits (or of any length and script with odd), in three sweeps, chunks
// of 100.
func memberRows(count int, odd bool) []Member {
	rows := make([]Member, count)
	for i := range rows {
		id := fmt.Sprintf("%016x%016x", uint64(i)*0x9e3779b97f4a7c15, uint64(i))
		if odd {
			id = strings.Repeat("节", i%5) + fmt.Sprint(i) + strings.Repeat("x", i%40)
		}
		rows[i] = Member{PointID: id, SweepID: fmt.Sprint("sweep-", i%3), Chunk: int64(i / 100)}
	}
	slices.SortFunc(rows, func(a, b Member) int { return strings.Compare(a.PointID, b.PointID) })
	return rows
}

// TestMembersRoundTrip decodes members tables of one and of several
// record batches and checks that the rows own their strings: the Arrow
// buffers are overwritten when freed.
func TestMembersRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rows []Member
	}{
		{"empty", nil},
		{"one", memberRows(1, false)},
		{"ids of any length", memberRows(500, true)},
		{"two row groups", memberRows(RowGroupRows+7, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := EncodeMembers(tt.rows)
			if err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(poisonAllocator{memory.NewGoAllocator()})
			defer mem.AssertSize(t, 0)
			got, err := DecodeMembers(body, mem)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.rows) {
				t.Fatalf("rows: got: %d want: %d", len(got), len(tt.rows))
			}
			for i := range got {
				if got[i] != tt.rows[i] {
					t.Fatalf("row %d: got: %+v want: %+v", i, got[i], tt.rows[i])
				}
			}
		})
	}
}

// TestDecodeMembersAllocations checks that decoding does not allocate per
// row: the point ids of a record batch share one block, the sweep ids one
// copy each.
func TestDecodeMembersAllocations(t *testing.T) {
	rows := memberRows(RowGroupRows+7, false)
	body, err := EncodeMembers(rows)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	got := testing.AllocsPerRun(3, func() {
		if _, err := DecodeMembers(body, mem); err != nil {
			t.Fatal(err)
		}
	})
	// The Parquet and Arrow readers allocate a few hundred times per
	// file, whatever its rows.
	if want := 1000.0; got > want {
		t.Errorf("allocations decoding %d members: got: %.0f want: at most %.0f", len(rows), got, want)
	}
}
