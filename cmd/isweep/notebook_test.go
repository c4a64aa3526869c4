package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/s3test"
)

// runNotebook is the Python that executes a notebook with nbclient (a
// Jupyter kernel, as a reader's would) and fails on any cell's error.
const runNotebook = `import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
`

// checkNotebook executes examples/analysis.ipynb in dir on the sweep
// sweepID of output (relative to dir) and checks that its numbers are
// those of the sweep's report.json, which `isweep report` wrote into
// reportDir: the same rows with the same best learning rates, medians,
// quartiles, λ_max(M₀) and counts, and the same fits (coefficients, R²,
// slope intervals, laws), to 1e-9 relative.
func checkNotebook(t *testing.T, dir, output, sweepID, reportDir string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "notebook.json")
	nb := exec.Command("python3", "-c", runNotebook, filepath.Join("examples", "analysis.ipynb"))
	nb.Dir = dir
	nb.Env = append(os.Environ(), "ISWEEP_RESULTS="+output, "ISWEEP_SWEEP="+sweepID, "ISWEEP_NOTEBOOK_OUT="+out)
	if msg, err := nb.CombinedOutput(); err != nil {
		t.Fatalf("examples/analysis.ipynb: %v (python3 -m pip install -r scripts/requirements-test.txt)\n%s", err, msg)
	}
	type numbers struct {
		By   []string         `json:"by"`
		Rows []map[string]any `json:"rows"`
		Fits []map[string]any `json:"fits"`
	}
	read := func(path string) numbers {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var n numbers
		if err := json.Unmarshal(body, &n); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return n
	}
	got, want := read(out), read(filepath.Join(reportDir, "report.json"))
	if strings.Join(got.By, ",") != strings.Join(want.By, ",") {
		t.Fatalf("notebook: got: rows by %q, want: %q (the report's)", got.By, want.By)
	}
	key := func(m map[string]any, extra ...string) string {
		var parts []string
		for _, a := range append(want.By, extra...) {
			if v, ok := m[a]; ok {
				parts = append(parts, fmt.Sprint(v))
			}
		}
		return strings.Join(parts, " ")
	}
	compare := func(what string, got, want []map[string]any, fields []string, extra ...string) {
		t.Helper()
		byKey := map[string]map[string]any{}
		for _, m := range got {
			byKey[key(m, extra...)] = m
		}
		if len(got) != len(want) {
			t.Errorf("notebook: got: %d %s, want: %d (the report's)", len(got), what, len(want))
		}
		for _, w := range want {
			k := key(w, extra...)
			g, ok := byKey[k]
			if !ok {
				t.Errorf("notebook: %s %s: got: none, want: one", what, k)
				continue
			}
			for _, f := range fields {
				if !sameNumber(g[f], w[f]) {
					t.Errorf("notebook: %s %s: %s: got: %v, want: %v (the report's)", what, k, f, g[f], w[f])
				}
			}
		}
	}
	compare("rows", got.Rows, want.Rows, []string{"best_eta", "median", "q25", "q75", "lambda_max", "converged", "seeds", "points", "diverged", "not_converged", "failed"})
	compare("fits", got.Fits, want.Fits, []string{"points", "linear_a", "linear_b", "linear_r2", "linear_ci", "log_a", "log_b", "log_r2", "log_ci", "law"}, "x")
}

// sameNumber reports whether two JSON values are equal: numbers to 1e-9
// relative (1e-9 absolute near 0), anything else exactly.
func sameNumber(a, b any) bool {
	x, okx := a.(float64)
	y, oky := b.(float64)
	if !okx || !oky {
		return a == b
	}
	return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

// TestReportOnS3 runs one small sweep into a folder and into S3 (a real S3
// server), then `isweep report` on each: the two reports say the same, and
// the S3 one writes its figures and report.json into -dir.
func TestReportOnS3(t *testing.T) {
	s3 := s3test.Start(t)
	dir := t.TempDir()
	const spec = "apiVersion: isweep/v1\nname: s3-report\noutput: %s\ngrid: {algorithm: [direct, interneuron], init_scale: [1, 10, 100], seed: [1, 2]}\nfixed: {mode: flow, n: 2, input_spectrum: {min: 0.5, max: 2}, record: 20}\n"
	texts := map[string]string{}
	for _, out := range []string{"out", s3.Location("report")} {
		name := "folder.yaml"
		if strings.HasPrefix(out, "s3://") {
			name = "s3.yaml"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf(spec, out)), 0o644); err != nil {
			t.Fatal(err)
		}
		run := startIsweep(t, dir, s3.Env(), "run", "-no-report", "-quiet", name)
		if code := run.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("%s: run: exit %d\n%s", name, code, run.out.String())
		}
		figures := filepath.Join(dir, "figures-"+name)
		rep := startIsweep(t, dir, s3.Env(), "report", "-dir", figures, name)
		if code := rep.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("%s: report: exit %d\n%s", name, code, rep.out.String())
		}
		text, err := os.ReadFile(filepath.Join(figures, "report.txt"))
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(text)
		for _, f := range []string{"report.json", "conv-time-flow-n2.png", "conv-time-flow-n2.svg", "trajectories-flow.png"} {
			if _, err := os.Stat(filepath.Join(figures, f)); err != nil {
				t.Errorf("%s: got: %v, want: %s written", name, err, f)
			}
		}
	}
	if texts["s3.yaml"] != texts["folder.yaml"] || !strings.Contains(texts["s3.yaml"], "fits of the median τ") {
		t.Errorf("got: on S3:\n%s\nin a folder:\n%s\nwant: the same report, with fits", texts["s3.yaml"], texts["folder.yaml"])
	}
}
