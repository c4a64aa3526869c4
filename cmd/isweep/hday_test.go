package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hostile tests of a researcher's day (h-day): the headline sweep,
// extended, interrupted and resumed, run on a server and two workers,
// and read back by report, verify and the analysis scripts.

// mixedModeSpec: one network, a flow and an online way to run it (flow
// ignores eta, online takes two learning rates), three seeds. The online
// setting at eta 0.0003 is the fastest.
const mixedModeSpec = `apiVersion: isweep/v1
name: mixed
output: out
grid:
  algorithm: [direct]
  init_scale: [3]
  eta: [0.001, 0.0003]
  seed: [1, 2, 3]
zip:
  - {mode: [flow, online], tol: [0.01, 0.3], horizon: [10000, 1000000]}
fixed: {n: 2, input_spectrum: {min: 0.5, max: 2}}
`

// TestReportShowsTheBestEtaOfAMixedRow: with -by or -best-over that put
// flow and online points in one row (README: "-by to choose them",
// "-best-over"), the best setting here is online at eta 0.0003, and
// report.json says so; report.txt printed "-" in the best eta column, the
// mark for "the row's points ignore eta". Whether the column shows eta
// is decided by the first point of the row (Row.Ignored is set from the
// point that created the group, a flow point here), not by the best
// setting: the row's best learning rate is hidden.
func TestReportShowsTheBestEtaOfAMixedRow(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, dir, "spec.yaml", mixedModeSpec)
	if code, out := runIsweep(t, dir, 2*time.Minute, "run", "-state", "st", "-no-report", "-quiet", spec); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"-by", "algorithm", "-best-over", "mode,eta"},
		{"-by", "algorithm,init_scale"},
	} {
		rdir := filepath.Join(dir, "report-"+strings.Join(args, "_"))
		code, out := runIsweep(t, dir, time.Minute, append(append([]string{"report", "-dir", rdir}, args...), spec)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d\n%s", args, code, out)
		}
		body, err := os.ReadFile(filepath.Join(rdir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Rows []map[string]any `json:"rows"`
		}
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 1 || rep.Rows[0]["best_eta"] != 0.0003 {
			t.Fatalf("report %v: report.json rows: %v, want one row with best_eta 0.0003", args, rep.Rows)
		}
		// The table's header names the columns; find the best eta's.
		var head, row []string
		for line := range strings.SplitSeq(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == "algorithm" {
				head = f
			}
			if len(f) > 0 && f[0] == "direct" && head != nil && row == nil {
				row = f
			}
		}
		col := -1
		for i := 0; i+1 < len(head); i++ {
			if head[i] == "best" && head[i+1] == "eta" {
				// Every "best X" header is two words, one cell.
				col = i - strings.Count(strings.Join(head[:i], " "), "best ")
			}
		}
		if col < 0 || col >= len(row) {
			t.Fatalf("report %v: no best eta column in:\n%s", args, out)
		}
		if row[col] != "0.0003" {
			t.Errorf("report %v: the best eta cell: got %q in\n%s\nwant 0.0003 (report.json's best_eta: the best setting is online, which takes eta)", args, row[col], out)
		}
	}
}
