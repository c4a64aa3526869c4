package schemas

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; a spec it
// accepts must expand, give the same ids every time, and survive a round
// trip through its canonical form with the same sweep id and point ids.
//
//	go test -fuzz=FuzzParse ./schemas/
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "good", "*"))
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, b := range badSpecs {
		f.Add([]byte(b.src))
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("x: &x [&y [*x, *x], *y, *y]\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if spec != nil || err.Error() == "" {
				t.Fatalf("Parse: got: spec %v and error %q want: nil and a message", spec, err)
			}
			return
		}
		g, err := spec.Grid()
		if err != nil {
			t.Fatalf("Grid of an accepted spec: %v", err)
		}
		n := g.Len()
		if n < 1 || g.Chunks() != spec.Chunks() || g.Chunks() < 1 {
			t.Fatalf("got: Len %d, Chunks %d and %d", n, g.Chunks(), spec.Chunks())
		}
		indices := []int64{0, n / 2, n - 1}
		ids := make([]string, len(indices))
		for j, i := range indices {
			p := g.Point(i)
			if again := g.Point(i); again.ID != p.ID {
				t.Fatalf("Point(%d).ID: got: %s then %s", i, p.ID, again.ID)
			}
			if id := PointID(p.Params); id != p.ID {
				t.Fatalf("PointID(Point(%d).Params): got: %s want: %s", i, id, p.ID)
			}
			_ = g.Describe(i)
			ids[j] = p.ID
		}
		if n <= 10000 {
			_ = spec.Validate() // may refuse points, must not panic
		}
		id := spec.SweepID()
		if again := spec.SweepID(); again != id {
			t.Fatalf("SweepID: got: %s then %s", id, again)
		}
		canonical := spec.Canonical()
		back, err := Parse(canonical, "canonical.json")
		if err != nil {
			t.Fatalf("parsing the canonical form: %v\n%s", err, canonical)
		}
		if got := back.SweepID(); got != id {
			t.Fatalf("SweepID after a round trip: got: %s want: %s\n%s", got, id, canonical)
		}
		gb, err := back.Grid()
		if err != nil || gb.Len() != n {
			t.Fatalf("Grid after a round trip: got: %v, %v want: %d points", gb, err, n)
		}
		for j, i := range indices {
			if got := gb.Point(i).ID; got != ids[j] {
				t.Fatalf("Point(%d).ID after a round trip: got: %s want: %s", i, got, ids[j])
			}
		}
	})
}
