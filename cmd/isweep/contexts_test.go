package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/schemas"
)

// contextsSnippet reads the points table of a sweep with pandas, turns its
// context_results column into one row per (point, context) and prints
// them as JSON: what a researcher writes to get the per-context outputs
// (and the same with DuckDB when it is installed).
const contextsSnippet = `
import json, sys
import pandas as pd
out, sweep = sys.argv[1], sys.argv[2]
pts = pd.read_parquet(out + "/points")
pts = pts[pts.sweep_id == sweep]
long = pts[["point_id", "algorithm", "context_results"]].copy()
long["context_results"] = long.context_results.map(json.loads)
long = long.explode("context_results", ignore_index=True)
ctx = pd.concat([long[["point_id", "algorithm"]], pd.json_normalize(long.context_results)], axis=1)
ctx = ctx[["point_id", "algorithm", "context", "scale_ratio", "conv_time"]]
rows = ctx.astype(object).where(ctx.notna(), None).to_dict("records")
try:
    import duckdb
    n = duckdb.sql(f"""select count(*) from (select unnest(from_json(context_results, '["json"]')) as c
        from read_parquet('{out}/points/**/*.parquet', hive_partitioning = true) where sweep_id = '{sweep}')""").fetchall()[0][0]
except ImportError:
    n = len(rows)
print(json.dumps({"rows": rows, "duckdb": n}))
`

// TestContextsEndToEnd runs examples/contexts.yaml through `isweep run`
// and reads the per-context outputs back: every network re-adapts after
// its switch, the report fits the re-adaptation time against the mismatch
// (direct linear, interneuron logarithmic) and draws it, and pandas (and
// DuckDB) read the context_results column to the same numbers.
func TestContextsEndToEnd(t *testing.T) {
	dir := copyExamples(t)
	specPath := filepath.Join("examples", "contexts.yaml")
	spec, err := schemas.ParseFile(filepath.Join(dir, specPath))
	if err != nil {
		t.Fatal(err)
	}
	code, out := runIsweep(t, dir, 5*time.Minute, "run", specPath)
	if code != 0 {
		t.Fatalf("got: exit %d want: 0\n%s", code, out)
	}
	rows := readPoints(t, filepath.Join(dir, spec.Output), spec.SweepID())
	if len(rows) != 18 {
		t.Fatalf("got: %d points want: 18", len(rows))
	}
	convTimes := map[string]float64{}
	for _, r := range rows {
		if len(r.Result.Contexts) != 2 || r.Result.Contexts[1].ConvTime == nil {
			t.Errorf("point %s (%s, %v): got: contexts %+v want: 2, the second re-adapted", r.PointID, r.Params.Algorithm, r.Params.InputSpectrum, r.Result.Contexts)
			continue
		}
		convTimes[r.PointID] = *r.Result.Contexts[1].ConvTime
	}

	reportDir := filepath.Join(dir, spec.Output, "reports", spec.SweepID())
	text, err := os.ReadFile(filepath.Join(reportDir, "report.txt"))
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, out)
	}
	law := regexp.MustCompile(`(?m)^(direct|interneuron)\s+flow\s+2\s+6\s.*\s(linear|logarithmic|undecided)\s*$`)
	laws := map[string]string{}
	for _, m := range law.FindAllStringSubmatch(string(text), -1) {
		laws[m[1]] = m[2]
	}
	if laws["direct"] != "linear" || laws["interneuron"] != "logarithmic" {
		t.Errorf("report: got: laws %v want: direct linear, interneuron logarithmic\n%s", laws, text)
	}
	if _, err := os.Stat(filepath.Join(reportDir, "readaptation.png")); err != nil {
		t.Errorf("report: got: %v want: readaptation.png", err)
	}

	if os.Getenv("ISWEEP_SKIP_PYTHON") != "" {
		return
	}
	py := exec.Command("python3", "-c", contextsSnippet, spec.Output, spec.SweepID())
	py.Dir = dir
	var stderr strings.Builder
	py.Stderr = &stderr
	pyOut, err := py.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var got struct {
		Rows []struct {
			PointID    string   `json:"point_id"`
			Algorithm  string   `json:"algorithm"`
			Context    int      `json:"context"`
			ScaleRatio float64  `json:"scale_ratio"`
			ConvTime   *float64 `json:"conv_time"`
		} `json:"rows"`
		DuckDB int `json:"duckdb"`
	}
	if err := json.Unmarshal(pyOut, &got); err != nil {
		t.Fatalf("python output: %v\n%s", err, pyOut)
	}
	if len(got.Rows) != 36 || got.DuckDB != 36 {
		t.Errorf("got: %d pandas rows, %d DuckDB rows want: 36 (two contexts per point)", len(got.Rows), got.DuckDB)
	}
	for _, r := range got.Rows {
		if r.Context != 1 {
			continue
		}
		if want, ok := convTimes[r.PointID]; !ok || r.ConvTime == nil || math.Abs(*r.ConvTime-want) > 0 {
			t.Errorf("pandas %s context 1: got: %v want: %v", r.PointID, r.ConvTime, want)
		}
		if !(r.ScaleRatio > 1) {
			t.Errorf("pandas %s: got: scale_ratio %g want: above 1 (C shrinks at the switch)", r.PointID, r.ScaleRatio)
		}
	}
}
