"""Tests of bench/peer/dynamics_table.py on real `go test -bench` output
(testdata/go-bench-sample.txt: the benchmark names of internal/dynamics, run
with -benchmem -count 3 over placeholder work, including stray stdout from a
benchmark body, `--- BENCH:` log blocks and a custom metric)."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dynamics_table as table  # noqa: E402

SAMPLE = os.path.join(HERE, "testdata", "go-bench-sample.txt")
DIMS = [4, 16, 64, 256]


def sample_runs():
    with open(SAMPLE) as source:
        runs, config, failures = table.parse_go_bench(source)
    assert failures == {}, f"got: failures {failures} want: none"
    return runs, config


def test_sample_has_every_benchmark_three_times():
    runs, config = sample_runs()
    want = set()
    for algorithm in table.ALGORITHMS:
        for n in DIMS:
            want.add(f"BenchmarkOnlineStep/{algorithm}/n={n}")
            want.add(f"BenchmarkFlowRHS/{algorithm}/n={n}")
            for mode in table.MODES:
                want.add(f"BenchmarkPoint/{mode}/{algorithm}/n={n}")
    assert set(runs) == want, f"got: {sorted(set(runs) ^ want)} differ, want: the 32 benchmark names"
    for name, units in runs.items():
        for unit in ("ns/op", "B/op", "allocs/op"):
            assert len(units.get(unit, [])) == 3, f"{name} {unit}: got: {units.get(unit)} want: 3 runs"
    assert config["cpu"] and config["goos"] == "linux", f"got: {config} want: cpu and goos lines"


def test_stray_output_and_logs_do_not_lose_results():
    runs, _ = sample_runs()
    # BenchmarkFlowRHS/*/n=16 print to stdout between name and result;
    # BenchmarkPoint/*/n=64 log (--- BENCH: blocks follow each result).
    got = runs["BenchmarkFlowRHS/direct/n=16"]["ns/op"]
    assert got == [1175, 1425, 1647], f"got: {got} want: [1175, 1425, 1647]"
    got = runs["BenchmarkPoint/flow/direct/n=64"]["ns/op"]
    assert got == [4211122, 4858526, 3312917], f"got: {got} want: [4211122, 4858526, 3312917]"
    got = runs["BenchmarkPoint/flow/direct/n=64"]["conv-time"]
    assert got == [12.5, 12.5, 12.5], f"got: {got} want: the custom metric 3 times"


def test_medians():
    runs, _ = sample_runs()
    got = table.medians(runs)["BenchmarkPoint/flow/direct/n=256"]["ns/op"]
    assert got == 62117498, f"got: {got} want: 62117498 (median of 53344503, 100079449, 62117498)"


@pytest.mark.parametrize(
    "name, want",
    [
        ("BenchmarkPoint/flow/direct/n=4-2", "BenchmarkPoint/flow/direct/n=4"),
        ("BenchmarkPoint/flow/direct/n=4", "BenchmarkPoint/flow/direct/n=4"),
        ("BenchmarkOnlineStep/interneuron/n=256-16", "BenchmarkOnlineStep/interneuron/n=256"),
    ],
)
def test_benchmark_key(name, want):
    got = table.benchmark_key(name)
    assert got == want, f"got: {got} want: {want}"


def test_failed_and_unsuffixed_benchmarks():
    text = [
        "BenchmarkFlowRHS/direct/n=4 \t 100\t 50.5 ns/op\t 0 B/op\t 0 allocs/op\n",
        "BenchmarkFlowRHS/direct/n=16 \t--- FAIL: BenchmarkFlowRHS/direct/n=16\n",
        "    x_test.go:12: broken\n",
        "BenchmarkFlowRHS/direct/n=64 \t 10\t 7.5e+03 ns/op\t 8 B/op\t 1 allocs/op\n",
        "PASS\n",
    ]
    runs, _, failures = table.parse_go_bench(text)
    assert failures == {"BenchmarkFlowRHS/direct/n=16": "x_test.go:12: broken"}, f"got: {failures}"
    assert set(runs) == {"BenchmarkFlowRHS/direct/n=4", "BenchmarkFlowRHS/direct/n=64"}, f"got: {sorted(runs)}"
    got = runs["BenchmarkFlowRHS/direct/n=64"]["ns/op"]
    assert got == [7500.0], f"got: {got} want: [7500.0]"


def numpy_row(algorithm, mode, n, conv_time=None, closed=None):
    row = dict(
        peer="numpy", algorithm=algorithm, mode=mode, n=n, seconds_per_point=0.002,
        steps=2000 if mode == "online" else 50, final_error=0.1, min_error=0.05,
        diverged="", numpy_version="x", scipy_version="y", blas=[],
    )
    if mode == "flow":
        row.update(seconds_per_rhs=2e-6, conv_time=conv_time, closed_form_conv_time=closed, rhs_evals=300)
    else:
        row.update(seconds_per_step=1e-6, conv_time=None)
    return row


def write_rows(path, rows):
    with open(path, "w") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")


def run_table(tmp_path, flow_time):
    rows = [
        numpy_row(a, m, n, conv_time=flow_time, closed=12.6)
        for a in table.ALGORITHMS
        for m in table.MODES
        for n in DIMS
    ]
    write_rows(tmp_path / "numpy.jsonl", rows)
    out = tmp_path / "table.md"
    run = subprocess.run(
        [sys.executable, os.path.join(HERE, "dynamics_table.py"), "--go-bench", SAMPLE,
         "--numpy", str(tmp_path / "numpy.jsonl"), "--out", str(out), "--date", "2026-01-02"],
        capture_output=True, text=True,
    )
    return run, out


def test_table_ratios(tmp_path):
    run, out = run_table(tmp_path, flow_time=12.6)
    assert run.returncode == 0, f"got: exit {run.returncode} {run.stderr!r} want: 0"
    text = out.read_text()
    assert text in run.stdout, "got: a file that differs from the printed table"
    # Go point flow/direct/n=256: median 62,117,498 ns; NumPy 0.002 s → ratio 0.0322.
    line = next(l for l in text.splitlines() if l.startswith("| direct | flow | 256 |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3] == "62,117,498" and cells[4] == "2,000,000" and cells[5] == "0.0322", f"got: {cells}"
    assert cells[9] == "0" and cells[10] == "1", f"got: allocs {cells[9:]} want: 0 per RHS, 1 per point"


def test_table_flags_a_wrong_convergence_time(tmp_path):
    run, out = run_table(tmp_path, flow_time=12.7)
    assert run.returncode == 1, f"got: exit {run.returncode} want: 1 on a τ mismatch"
    assert "mismatch" in run.stderr and "## Mismatches" in out.read_text(), f"got: {run.stderr!r}"


def test_failed_benchmark_sample(tmp_path):
    """Real output of a sub-benchmark calling b.Fatalf (-count 2): the failed
    one has no result, its message is kept, the later ones still count."""
    failing = os.path.join(HERE, "testdata", "go-bench-failure-sample.txt")
    with open(failing) as source:
        runs, _, failures = table.parse_go_bench(source)
    want_runs = {
        "BenchmarkOnlineStep/direct/n=4",
        "BenchmarkOnlineStep/interneuron/n=4",
        "BenchmarkOnlineStep/interneuron/n=256",
    }
    assert set(runs) == want_runs, f"got: {sorted(runs)} want: {sorted(want_runs)}"
    got = failures.get("BenchmarkOnlineStep/direct/n=256")
    assert got == "f_test.go:16: step 151 diverged: not_positive_definite", f"got: {got!r}"
    write_rows(tmp_path / "numpy.jsonl", [numpy_row("direct", "online", 256)])
    out = tmp_path / "table.md"
    run = subprocess.run(
        [sys.executable, os.path.join(HERE, "dynamics_table.py"), "--go-bench", failing,
         "--numpy", str(tmp_path / "numpy.jsonl"), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, f"got: exit {run.returncode} {run.stderr!r} want: 0"
    text = out.read_text()
    line = next(l for l in text.splitlines() if l.startswith("| direct | online | 256 |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[6] == "FAIL" and cells[3] == "—", f"got: {cells} want: step FAIL, point not run"
    assert "step 151 diverged" in text, "got: no failure section"
