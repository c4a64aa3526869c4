#!/usr/bin/env python3
"""sweeps_table turns the JSON lines of bench/sweeps.sh into a Markdown page.

Lines with a "layout" key come from bench/sweep (isweep), lines with a
"peer" key from bench/peer/sweep_peers.py.

    python3 sweeps_table.py --jsonl bench/out/sweeps-2026-11-26.jsonl --out bench/out/sweeps-2026-11-26.md
"""

from __future__ import annotations

import argparse
import json
import sys


def mib(b) -> str:
    return "–" if not b else f"{b / 2**20:.0f}"


def drift(r) -> str:
    """The bare loop's drift between before and after the sweeps, when recorded."""
    return f" ({100 * r['bare_drift']:.1f} %)" if "bare_drift" in r else ""


def isweep_table(rows: list) -> list:
    out = [
        "| layout | kind | points | chunk | chunks | wall s | bare compute s (drift) | efficiency | stored compute s (efficiency) | points/s | server MiB | worker MiB | one process MiB | server CPU s | worker (or process) CPU s | runs | max history | Parquet MB | load start → end |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['layout']} | {r['kind']} | {r['points']:,} | {r['chunk_size']} | {r['chunks']} | {r['wall_seconds']:.2f} | "
            f"{r['bare_compute_seconds']:.2f}{drift(r)} | {r['efficiency']:.3f} | {r['compute_seconds']:.2f} ({r['stored_efficiency']:.3f}) | "
            f"{r['points_per_second']:,.0f} | {mib(r.get('server_peak_bytes'))} | "
            f"{mib(r.get('worker_peak_bytes'))} | {mib(r.get('process_peak_bytes'))} | {r.get('server_cpu_seconds', 0):.1f} | "
            f"{r.get('worker_cpu_seconds') or r.get('process_cpu_seconds') or 0:.1f} | "
            f"{r.get('runs') or '–'} | {r.get('max_history_events') or '–'} | {r['parquet_bytes'] / 1e6:.1f} | {r['load_start']} → {r['load_end']} |"
        )
    return out


def peer_table(rows: list) -> list:
    out = [
        "| peer | points | wall s | compute s | efficiency | points/s | peak MiB (all processes) | versions | load start → end |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(r["versions"].items()))
        out.append(
            f"| {r['peer']} | {r['points']:,} | {r['wall_seconds']:.1f} | {r['compute_seconds']:.1f} | {r['efficiency']:.3f} | "
            f"{r['points_per_second']:,.1f} | {mib(r['peak_bytes'])} | {versions} | {r['load_start']} → {r['load_end']} |"
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jsonl", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--date", default="")
    parser.add_argument("--cpu", default="")
    parser.add_argument("--go-version", default="")
    args = parser.parse_args(argv)
    isweep, peers = [], []
    with open(args.jsonl) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            (isweep if "layout" in r else peers).append(r)
    lines = [
        f"# Sweep benchmarks {args.date}",
        "",
        f"Machine: {args.cpu}, {isweep[0]['cores'] if isweep else '?'} cores; {args.go_version}. "
        "Made by `bench/sweeps.sh`. Efficiency = bare compute / (wall × cores), where bare compute "
        "is the summed time of the same points integrated by a bare Go loop (one goroutine per core, "
        "no orchestration, no storage; fastest of up to 5 repeats; above 200,000 points a strided "
        "sample of 100,000, scaled; measured before and after the sweeps of each size, the faster "
        "counting, and the slower's excess shown as the drift). The stored compute (the points table's `wall_seconds`) is "
        "shown for reference: it includes the time a point waited while the worker's other work "
        "held its core. Wall: submit to result (separate), or the whole `isweep run` process, "
        "embedded server start included (run).",
        "",
        "## isweep",
        "",
    ]
    lines += isweep_table(isweep)
    if peers:
        lines += ["", "## Peers (flow2 points, NumPy reference per point)", ""]
        lines += peer_table(peers)
        lines += ["", "## isweep against the peers, same sweep", ""]
        for p in peers:
            for layout in ("run", "separate"):
                ref = [r for r in isweep if r["kind"] == "flow2" and r["layout"] == layout and r["points"] == p["points"]]
                if not ref:
                    continue
                lines.append(
                    f"- {p['points']:,} points: isweep ({layout}) {ref[0]['points_per_second']:,.0f} points/s vs {p['peer']} "
                    f"{p['points_per_second']:,.1f} points/s: {ref[0]['points_per_second'] / p['points_per_second']:,.0f}×; "
                    f"efficiency {ref[0]['efficiency']:.3f} vs {p['efficiency']:.3f}."
                )
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
