package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/schemas"
)

// TestEveryNetworkEndToEnd runs examples/networks.yaml, a flow sweep of
// every registered network over μ, through `isweep run` (embedded Temporal,
// folder output), and checks what a researcher reads: every point stored
// and converged, a report with a fit line per network and size (direct
// linear, interneuron logarithmic, the others whatever their data say),
// and examples/analyze.py (pandas over the Parquet output) finding the
// same laws as the report.
func TestEveryNetworkEndToEnd(t *testing.T) {
	dir := copyExamples(t)
	specPath := filepath.Join("examples", "networks.yaml")
	spec, err := schemas.ParseFile(filepath.Join(dir, specPath))
	if err != nil {
		t.Fatal(err)
	}
	grid, err := spec.Grid()
	if err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, 5*time.Minute, "run", specPath)
	if code != 0 {
		t.Fatalf("got: exit %d want: 0\n%s", code, out)
	}
	rows := readPoints(t, filepath.Join(dir, spec.Output), spec.SweepID())
	if int64(len(rows)) != grid.Len() {
		t.Fatalf("got: %d points stored want: %d", len(rows), grid.Len())
	}
	perNetwork := map[string]int{}
	for _, r := range rows {
		if r.Status != results.StatusConverged {
			t.Errorf("point %s (%s, μ %g): got: status %s want: converged", r.PointID, r.Params.Algorithm, r.Params.InitScale, r.Status)
		}
		perNetwork[string(r.Params.Algorithm)]++
	}
	want := map[string]string{string(dynamics.Direct): "linear", string(dynamics.Interneuron): "logarithmic"}
	for _, name := range dynamics.NetworkNames() {
		if perNetwork[name] == 0 {
			t.Errorf("network %s: got: no points want: %d", name, grid.Len()/int64(len(dynamics.NetworkNames())))
		}
	}

	text, err := os.ReadFile(filepath.Join(dir, spec.Output, "reports", spec.SweepID(), "report.txt"))
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, out)
	}
	fit := regexp.MustCompile(`(?m)^(\w+)\s+flow\s+(\d+)\s+.*\s(linear|logarithmic|undecided)\s*$`)
	reportLaws := map[string]string{}
	for _, m := range fit.FindAllStringSubmatch(string(text), -1) {
		reportLaws[m[1]+" n="+m[2]] = m[3]
		if w, ok := want[m[1]]; ok && m[3] != w {
			t.Errorf("report: %s n=%s: got: law %s want: %s", m[1], m[2], m[3], w)
		}
	}
	if len(reportLaws) != 2*len(dynamics.NetworkNames()) {
		t.Errorf("report: got: fit lines %v want: one per network and n (%d)\n%s", reportLaws, 2*len(dynamics.NetworkNames()), text)
	}

	pyOut, ok := analyzePy(t, dir, spec)
	if !ok {
		return
	}
	pyFit := regexp.MustCompile(`(?m)^\s*(\w+)\s+flow\s+(\d+)\s.*\s(linear|logarithmic|undecided)\s*$`)
	pyLaws := map[string]string{}
	for _, m := range pyFit.FindAllStringSubmatch(string(pyOut), -1) {
		pyLaws[m[1]+" n="+m[2]] = m[3]
	}
	for k, law := range reportLaws {
		if pyLaws[k] != law {
			t.Errorf("examples/analyze.py: %s: got: %q want: %q (the report's)\n%s", k, pyLaws[k], law, pyOut)
		}
	}
}
