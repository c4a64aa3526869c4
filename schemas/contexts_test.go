package schemas

import (
	"fmt"
	"strings"
	"testing"
)

// TestContextsSpec: contexts under fixed and as a grid axis reach the
// points; a bad context is named by its path with the fix.
func TestContextsSpec(t *testing.T) {
	spec := mustParse(t, `
apiVersion: isweep/v1
name: ctx
output: out
grid:
  input_spectrum: [[4, 4], [16, 16]]
  contexts:
    - [{input_spectrum: [1, 1], duration: 40}]
    - [{input_spectrum: {min: 1, max: 1}, input_basis: random, duration: 40}, {duration: 10}]
fixed: {algorithm: interneuron, n: 2, horizon: 30}
`)
	g, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range g.Len() {
		p := g.Point(i).Params
		got = append(got, fmt.Sprintf("%v %d %s", p.InputSpectrum.Values, len(p.Contexts), p.Contexts[len(p.Contexts)-1].InputBasis))
	}
	want := "[[4 4] 1 identity [4 4] 2 previous [16 16] 1 identity [16 16] 2 previous]"
	if fmt.Sprint(got) != want {
		t.Errorf("got: %v want: %s", got, want)
	}
	if got := g.Describe(1); !strings.Contains(got, `contexts=[{input_spectrum={min=1,max=1,spacing="log"},input_basis="random",duration=40}`) {
		t.Errorf("Describe: got: %s", got)
	}

	again, err := Parse(spec.Canonical(), "canonical.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.SweepID(), spec.SweepID(); got != want {
		t.Errorf("SweepID after a round trip: got: %s want: %s", got, want)
	}

	bad := []struct{ src, want string }{
		{"fixed: {algorithm: direct, n: 2, contexts: [{duratoin: 4}]}", `contexts[0].duratoin`},
		{"fixed: {algorithm: direct, n: 2, contexts: [4]}", "4 is an integer, not a context"},
		{"grid: {contexts: [{duration: 4}]}\nfixed: {algorithm: direct, n: 2}", "an axis over contexts is a list of context lists"},
		{"fixed: {algorithm: direct, n: 2, contexts: []}", "leave contexts out instead"},
		{"fixed: {algorithm: direct, n: 2, contexts: [{input_spectrum: [1, 2, 3], duration: 4}]}", "contexts[0].input_spectrum: [1, 2, 3] has 3 values but n = 2"},
	}
	for _, b := range bad {
		spec, err := Parse([]byte("apiVersion: isweep/v1\nname: x\noutput: o\n"+b.src), "bad.yaml")
		if err == nil {
			if _, err = spec.Grid(); err == nil {
				err = spec.Validate()
			}
		}
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: got: %v want: %q", b.src, err, b.want)
		}
	}
}
