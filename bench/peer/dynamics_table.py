#!/usr/bin/env python3
"""dynamics_table turns Go benchmark output and NumPy peer results into the
Markdown comparison table of bench/dynamics.sh.

Inputs:
- the text output of `go test -bench ... -count N ./internal/dynamics/`
  (benchmark lines may be interrupted by stray output of the benchmark body,
  followed by `--- BENCH:` log blocks, or carry extra metrics; every value is
  the median over the -count runs, as benchstat reports it);
- the JSON lines of bench/peer/whiten_numpy.py (one per algorithm × mode × n);
- optionally the JSON lines of bench/peer/goreference (Go's convergence time,
  steps and divergence on the same problems).

The table is printed and, with --out, written to a file. The exit status is 1
when a flow convergence time (NumPy or Go) misses the closed form by more than
1e-3 relative, so a run that timed wrong answers does not pass silently.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from typing import Dict, Iterable, List, Optional, Tuple

ALGORITHMS = ("direct", "interneuron")
MODES = ("flow", "online")
CONV_TIME_RTOL = 1e-3

_RESULT = re.compile(r"^\s*(\d+)((?:\s+[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s+\S+)+)\s*$")
_NAME = re.compile(r"^(Benchmark\S*)(?:\s+(.*))?$")
_PROCS = re.compile(r"-\d+$")
_FAIL = re.compile(r"--- FAIL: (Benchmark\S+)")


def benchmark_key(name: str) -> str:
    """benchmark_key drops the -GOMAXPROCS suffix of a benchmark name:
    "BenchmarkPoint/flow/direct/n=4-2" → "BenchmarkPoint/flow/direct/n=4"."""
    return _PROCS.sub("", name)


def _measurements(text: str) -> Optional[Dict[str, float]]:
    match = _RESULT.match(text)
    if not match:
        return None
    fields = match.group(2).split()
    values = {}
    for value, unit in zip(fields[0::2], fields[1::2]):
        values[unit] = float(value)
    values["iterations"] = float(match.group(1))
    return values


def parse_go_bench(
    lines: Iterable[str],
) -> Tuple[Dict[str, Dict[str, List[float]]], Dict[str, str], Dict[str, str]]:
    """parse_go_bench reads `go test -bench` output. It returns, per
    benchmark (GOMAXPROCS suffix dropped), every measurement of every unit
    (ns/op, B/op, allocs/op, custom metrics) in the order seen; the
    configuration lines (goos, goarch, pkg, cpu); and the failed benchmarks
    with the first line of their failure message."""
    runs: Dict[str, Dict[str, List[float]]] = {}
    config: Dict[str, str] = {}
    failures: Dict[str, str] = {}
    pending: Optional[str] = None
    failing: Optional[str] = None
    for raw in lines:
        line = raw.rstrip("\n")
        if failing is not None:
            if line.startswith((" ", "\t")):  # the failure's message
                failures[failing] = failures[failing] or line.strip()
                continue
            failing = None
        failed = _FAIL.search(line)
        if failed:
            failing = benchmark_key(failed.group(1))
            failures.setdefault(failing, "")
            pending = None
            continue
        named = _NAME.match(line)
        if named:
            pending = named.group(1)
            rest = named.group(2) or ""
        elif line.startswith("--- "):  # SKIP, BENCH log blocks
            pending = None
            continue
        elif pending is not None:
            rest = line
        else:
            key, sep, value = line.partition(":")
            if sep and key in ("goos", "goarch", "pkg", "cpu"):
                config[key] = value.strip()
            continue
        values = _measurements(rest)
        if values is None:
            continue  # stray output between the name and its result
        procs = _PROCS.search(pending)
        config.setdefault("gomaxprocs", procs.group(0)[1:] if procs else "1")
        per_unit = runs.setdefault(benchmark_key(pending), {})
        for unit, value in values.items():
            per_unit.setdefault(unit, []).append(value)
        pending = None
    return runs, config, failures


def medians(runs: Dict[str, Dict[str, List[float]]]) -> Dict[str, Dict[str, float]]:
    """medians reduces every benchmark's measurements to their median."""
    return {
        name: {unit: statistics.median(values) for unit, values in units.items()}
        for name, units in runs.items()
    }


def read_json_lines(path: Optional[str]) -> Dict[Tuple[str, str, int], dict]:
    """read_json_lines keys JSON lines by (algorithm, mode, n)."""
    if not path:
        return {}
    rows = {}
    with open(path) as source:
        for line in source:
            line = line.strip()
            if line.startswith("{"):
                row = json.loads(line)
                rows[(row["algorithm"], row["mode"], int(row["n"]))] = row
    return rows


def fmt_ns(value: Optional[float], failed: bool = False) -> str:
    if value is None:
        return "FAIL" if failed else "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_ratio(numerator: Optional[float], denominator: Optional[float]) -> str:
    if numerator is None or not denominator:
        return "—"
    ratio = numerator / denominator
    return f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}"


def fmt_count(value: Optional[float], failed: bool = False) -> str:
    if value is None:
        return "FAIL" if failed else "—"
    return f"{value:g}"


def fmt_time(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.7f}"


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _relative_gap(got: Optional[float], want: Optional[float]) -> Optional[float]:
    if got is None or want is None:
        return None
    return abs(got - want) / abs(want) if want else abs(got)


def build_tables(
    go: Dict[str, Dict[str, float]],
    numpy_rows: Dict[Tuple[str, str, int], dict],
    go_reference: Dict[Tuple[str, str, int], dict],
    dims: List[int],
    failures: Optional[Dict[str, str]] = None,
) -> Tuple[List[str], List[str], List[str]]:
    """build_tables returns the Markdown lines of the speed table and of the
    answers table, and the list of problems (empty when all agree) whose flow
    convergence time misses the closed form. Cells of failed Go benchmarks
    read FAIL, those of benchmarks that did not run read —."""
    failures = failures or {}
    speed = [
        "| algorithm | mode | n | Go ns/point | NumPy ns/point | NumPy/Go | "
        "Go ns/step·RHS | NumPy ns/step·RHS | NumPy/Go | Go allocs/step·RHS | Go allocs/point |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    answers = [
        "| algorithm | mode | n | closed-form τ | NumPy τ | Go τ | NumPy steps / RHS evals | "
        "Go steps / RHS evals | NumPy min/final error | Go min/final error | NumPy diverged | Go diverged |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    problems = []
    for algorithm in ALGORITHMS:
        for mode in MODES:
            for n in dims:
                point_name = f"BenchmarkPoint/{mode}/{algorithm}/n={n}"
                unit_bench = "BenchmarkFlowRHS" if mode == "flow" else "BenchmarkOnlineStep"
                unit_name = f"{unit_bench}/{algorithm}/n={n}"
                point, unit = go.get(point_name, {}), go.get(unit_name, {})
                point_failed, unit_failed = point_name in failures, unit_name in failures
                peer = numpy_rows.get((algorithm, mode, n), {})
                reference = go_reference.get((algorithm, mode, n), {})
                peer_point = peer.get("seconds_per_point")
                peer_point = None if peer_point is None else peer_point * 1e9
                peer_unit = peer.get("seconds_per_rhs" if mode == "flow" else "seconds_per_step")
                peer_unit = None if peer_unit is None else peer_unit * 1e9
                speed.append(
                    f"| {algorithm} | {mode} | {n} | {fmt_ns(point.get('ns/op'), point_failed)} | "
                    f"{fmt_ns(peer_point)} | {fmt_ratio(peer_point, point.get('ns/op'))} | "
                    f"{fmt_ns(unit.get('ns/op'), unit_failed)} | {fmt_ns(peer_unit)} | "
                    f"{fmt_ratio(peer_unit, unit.get('ns/op'))} | "
                    f"{fmt_count(unit.get('allocs/op'), unit_failed)} | "
                    f"{fmt_count(point.get('allocs/op'), point_failed)} |"
                )
                closed = peer.get("closed_form_conv_time", reference.get("closed_form_conv_time"))
                if mode == "flow":
                    for who, row in (("NumPy", peer), ("Go", reference)):
                        if not row:
                            continue
                        gap = _relative_gap(row.get("conv_time"), closed)
                        if gap is None or not gap <= CONV_TIME_RTOL:
                            problems.append(
                                f"{who} {algorithm} flow n={n}: got: conv_time {row.get('conv_time')}, "
                                f"want: {closed} (closed form) within {CONV_TIME_RTOL:g} relative"
                            )

                def counts(row):
                    if not row:
                        return "—"
                    if mode == "flow":
                        return f"{row.get('steps')} / {row.get('rhs_evals')}"
                    return f"{row.get('steps')}"

                def errors(row):
                    if not row or row.get("final_error") is None:
                        return "—"
                    return f"{row.get('min_error', float('nan')):.3g} / {row['final_error']:.3g}"

                def diverged(row):
                    if not row:
                        return "—"
                    return row.get("diverged") or "no"

                answers.append(
                    f"| {algorithm} | {mode} | {n} | {fmt_time(closed if mode == 'flow' else None)} | "
                    f"{fmt_time(peer.get('conv_time'))} | {fmt_time(reference.get('conv_time'))} | "
                    f"{counts(peer)} | {counts(reference)} | {errors(peer)} | {errors(reference)} | "
                    f"{diverged(peer)} | {diverged(reference)} |"
                )
    return speed, answers, problems


def single_threaded(go_config: Dict[str, str]) -> str:
    """single_threaded says why GOMAXPROCS is 1 when it is: the comparison
    is one core against one core."""
    if go_config.get("gomaxprocs") != "1":
        return ""
    return (
        " (go test -cpu 1: single-threaded, as a sweep runs one point per core and as the NumPy "
        "peer runs with one BLAS thread)"
    )


def render(
    go_runs: Dict[str, Dict[str, List[float]]],
    go_config: Dict[str, str],
    go_failures: Dict[str, str],
    numpy_rows: Dict[Tuple[str, str, int], dict],
    go_reference: Dict[Tuple[str, str, int], dict],
    dims: List[int],
    machine: Dict[str, str],
) -> Tuple[str, List[str]]:
    """render returns the whole Markdown report and the list of problems."""
    go = medians(go_runs)
    speed, answers, problems = build_tables(go, numpy_rows, go_reference, dims, go_failures)
    any_peer = next(iter(numpy_rows.values()), {})
    counts = sorted({len(units.get("ns/op", [])) for units in go_runs.values()})
    blas_lines = []
    for entry in any_peer.get("blas", []):
        blas_lines.append(
            f"{entry.get('internal_api')} {entry.get('version')}, kernel {entry.get('architecture')}, "
            f"{entry.get('num_threads')} threads ({entry.get('threading_layer')}), {entry.get('filepath')}"
        )
    header = [
        f"# Dynamics benchmarks: Go (gonum) vs NumPy/SciPy peer — {machine.get('date', '?')}",
        "",
        f"- machine: {machine.get('cpu', go_config.get('cpu', '?'))}, {machine.get('cores', '?')} cores"
        f" (Go reports cpu: {go_config.get('cpu', '?')}); load average (1, 5, 15 min): "
        f"{machine.get('load', '?')}",
        f"- Go: {machine.get('go_version', '?')}, GOMAXPROCS {go_config.get('gomaxprocs', '?')}"
        f"{single_threaded(go_config)}; "
        f"runs per Go benchmark: {', '.join(str(c) for c in counts) or '—'} (median shown)",
        f"- NumPy {any_peer.get('numpy_version', '?')}, SciPy {any_peer.get('scipy_version', '?')}, "
        f"NumPy built with {any_peer.get('numpy_blas') or '?'}",
        "- BLAS loaded (threadpoolctl): " + ("; ".join(blas_lines) if blas_lines else "threadpoolctl not available"),
        f"- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the environment: {machine.get('openblas_env', '?')}"
        " (unset for the NumPy runs)",
        f"- NumPy repeats per point: {machine.get('repeats', '?')} (median shown)",
        "",
        "Standard problems (same in both peers): input spectrum log-spaced in [0.5, 2], Haar-random input "
        "basis, M₀ = μI aligned, tol 0.01; flow: μ = 10, integrated to convergence (Go: Dormand–Prince "
        "5(4); NumPy: solve_ivp RK45, rtol 1e-8, atol 1e-10, event e(t) = tol); online: μ = 2, η = 0.01, "
        "batch 1, 2000 steps, error every 100 steps. \"step·RHS\" is one online step (online rows, "
        "BenchmarkOnlineStep) or one right-hand side (flow rows, BenchmarkFlowRHS). The NumPy peer's "
        "online step is the obvious code (np.linalg.solve per step, interneuron M = WᵀW rebuilt per "
        "step); Go's interneuron step carries M⁻¹ by Sherman–Morrison. Go integrates the flow in the "
        "eigenbasis of C (state QᵀMQ, for the interneuron network M = WᵀW rather than W; see "
        "internal/dynamics/flow.go), NumPy in the input basis (interneuron: W), so their integrators "
        "take different numbers of steps on the same problem (second table).",
        "",
        "## Speed",
        "",
        *speed,
        "",
        "## Answers on the same problems",
        "",
        "τ is the flow convergence time (closed form of model.md for the aligned case). Online rows: steps "
        "run, and the smallest / last recorded error (the samples differ between the peers, so only the "
        "scale is comparable). A direct online point that loses positive definiteness stops: Go at the "
        "first failed Cholesky step, NumPy (np.linalg.solve does not notice) at the next error evaluation.",
        "",
        *answers,
        "",
    ]
    failed = {name: why for name, why in go_failures.items() if why}
    if failed:
        header += ["## Go benchmarks that failed", ""]
        header += [f"- {name}: {_shorten(why)}" for name, why in sorted(failed.items())] + [""]
    if problems:
        header += ["## Mismatches", ""] + [f"- {p}" for p in problems] + [""]
    return "\n".join(header), problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--go-bench", required=True, help="go test -bench output")
    parser.add_argument("--numpy", required=True, help="JSON lines of whiten_numpy.py")
    parser.add_argument("--go-reference", help="JSON lines of bench/peer/goreference")
    parser.add_argument("--n", default="4,16,64,256", help="dimensions, comma-separated")
    parser.add_argument("--out", help="also write the Markdown here")
    for field in ("date", "cpu", "cores", "go-version", "openblas-env", "repeats", "load"):
        parser.add_argument(f"--{field}", default="?")
    args = parser.parse_args(argv)
    with open(args.go_bench) as source:
        go_runs, go_config, go_failures = parse_go_bench(source)
    machine = {
        "date": args.date,
        "cpu": args.cpu,
        "cores": args.cores,
        "go_version": args.go_version,
        "openblas_env": args.openblas_env,
        "repeats": args.repeats,
        "load": args.load,
    }
    dims = [int(n) for n in args.n.split(",")]
    text, problems = render(
        go_runs, go_config, go_failures, read_json_lines(args.numpy), read_json_lines(args.go_reference), dims, machine
    )
    print(text)
    if args.out:
        with open(args.out, "w") as sink:
            sink.write(text)
    for problem in problems:
        print(f"mismatch: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
