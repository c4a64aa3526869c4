package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestStatusCountsFollowStatuses checks that StatusCounts has a field per
// status of Statuses, in its order, named in JSON by the status, and that
// Add, Of and AddCounts reach it: a status added to Statuses and missed
// here fails.
func TestStatusCountsFollowStatuses(t *testing.T) {
	body, err := json.Marshal(StatusCounts{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		dec.Token() // the count
	}
	var want []string
	for _, s := range Statuses {
		want = append(want, string(s))
	}
	if !slices.Equal(keys, want) {
		t.Errorf("StatusCounts JSON fields: got: %q want: %q (Statuses)", keys, want)
	}
	for i, s := range Statuses {
		var c StatusCounts
		for range i + 1 {
			c.Add(s)
		}
		var sum StatusCounts
		sum.AddCounts(c)
		sum.AddCounts(c)
		var fields map[string]int64
		body, _ := json.Marshal(sum)
		json.Unmarshal(body, &fields)
		for _, other := range Statuses {
			wantOf := int64(0)
			if other == s {
				wantOf = int64(i + 1)
			}
			if got := c.Of(other); got != wantOf {
				t.Errorf("after Add(%q) %d times: Of(%q): got: %d want: %d", s, i+1, other, got, wantOf)
			}
			if got := fields[string(other)]; got != 2*wantOf {
				t.Errorf("after AddCounts twice: JSON field %q: got: %d want: %d", other, got, 2*wantOf)
			}
		}
	}
	var c StatusCounts
	c.Add("unknown")
	if c != (StatusCounts{}) || c.Of("unknown") != 0 {
		t.Errorf("Add of a status not in Statuses: got: %+v, Of %d want: nothing counted", c, c.Of("unknown"))
	}
	c = StatusCounts{Converged: 3, NotConverged: 1, Failed: 2}
	if got, want := c.String(), "3 converged, 1 not converged, 0 diverged, 2 failed"; got != want {
		t.Errorf("String: got: %q want: %q", got, want)
	}
}

// statusLiteral matches a status compared with a literal in Python or SQL:
// status == "x", ["status"] == "x", status = 'x'.
var statusLiteral = regexp.MustCompile(`status"?\]?\s*==?\s*["']([A-Za-z_]+)["']`)

// summaryStatuses returns the statuses the summary table counts (its
// converged and diverged columns), found by summarizing one point of each
// status.
func summaryStatuses() []string {
	var counted []string
	for _, s := range Statuses {
		row := Summarize([]PointRow{{Status: s}})[0]
		if row.Converged+row.Diverged > 0 {
			counted = append(counted, string(s))
		}
	}
	return counted
}

// TestScriptsNameTheStatuses checks the statuses the Python scripts compare
// the status column with: each must be one of Statuses, and the scripts
// that recompute the summary table must name exactly the statuses it
// counts, no fewer.
func TestScriptsNameTheStatuses(t *testing.T) {
	var all []string
	for _, s := range Statuses {
		all = append(all, string(s))
	}
	tests := []struct {
		script string
		// want are the statuses the script must name; nil for any of
		// Statuses.
		want []string
	}{
		{"testdata/read_points.py", summaryStatuses()},
		{"../chaos/testdata/check_output.py", summaryStatuses()},
		{"../../examples/analyze.py", nil},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.script), func(t *testing.T) {
			body, err := os.ReadFile(tt.script)
			if err != nil {
				t.Fatal(err)
			}
			var named []string
			for _, m := range statusLiteral.FindAllStringSubmatch(string(body), -1) {
				if !slices.Contains(named, m[1]) {
					named = append(named, m[1])
				}
			}
			if len(named) == 0 {
				t.Fatalf("got: no status compared with a literal want: some (has the script changed its style? update statusLiteral)")
			}
			for _, s := range named {
				if !slices.Contains(all, s) {
					t.Errorf("the script names status %q: got: not one of %q", s, all)
				}
			}
			if tt.want != nil {
				slices.Sort(named)
				want := slices.Sorted(slices.Values(tt.want))
				if !slices.Equal(named, want) {
					t.Errorf("statuses named: got: %q want: %q (those the summary counts)", named, want)
				}
			}
		})
	}
}
