#!/usr/bin/env python3
"""Time the analysis of a sweep's output in DuckDB and pandas.

Usage: python3 bench/analysis.py OUTPUT_FOLDER [--repeat N]

OUTPUT_FOLDER is a sweep's `output:` folder (it holds points/ and
trajectories/). Each query runs in a fresh Python process, so that its wall
time includes opening the files and its peak memory (ru_maxrss of that
process) is its own; the fastest of --repeat runs is reported (the two
queries that load the whole trajectories table into pandas run once).
Prints one Markdown table row per query.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

QUERIES = {
    "duckdb: best conv_time per (algorithm, init_scale), points table": (
        "duckdb",
        """SELECT algorithm, init_scale, min(conv_time) AS best, count(*) AS points
           FROM read_parquet('{out}/points/**/*.parquet', hive_partitioning = true)
           WHERE status = 'converged' GROUP BY ALL ORDER BY ALL""",
    ),
    "duckdb: rows and smallest error per algorithm, trajectories table": (
        "duckdb",
        """SELECT algorithm, count(*) AS rows, min(error) AS min_error
           FROM read_parquet('{out}/trajectories/**/*.parquet', hive_partitioning = true)
           GROUP BY ALL ORDER BY ALL""",
    ),
    "duckdb: trajectories of the points with init_scale = 100 (join)": (
        "duckdb",
        """SELECT p.algorithm, count(*) AS rows, max(t.t) AS last_t
           FROM read_parquet('{out}/points/**/*.parquet', hive_partitioning = true) p
           JOIN read_parquet('{out}/trajectories/**/*.parquet', hive_partitioning = true) t
             ON t.point_id = p.point_id
           WHERE p.init_scale = 100 GROUP BY ALL ORDER BY ALL""",
    ),
    "pandas: whole points table, then a groupby": ("pandas-points", None),
    "pandas: one point's trajectory (pyarrow filter)": ("pandas-one", None),
    "pandas: one point's trajectory from its own part (chunk from the points table)": ("pandas-one-part", None),
    "pandas: trajectories table, 3 columns, point_id categorical": ("pandas-traj-lean", None),
    "pandas: whole trajectories table": ("pandas-traj-all", None),
}

# HEAVY queries run once whatever --repeat says: they take seconds and GBs.
HEAVY = {"pandas-traj-lean", "pandas-traj-all"}


def run_query(kind, sql, out):
    """Runs one query in this process and returns a short result summary."""
    if kind == "duckdb":
        import duckdb

        rows = duckdb.sql(sql.format(out=out)).fetchall()
        return f"{len(rows)} result rows"
    import pyarrow.dataset as ds

    if kind == "pandas-points":
        points = ds.dataset(f"{out}/points", partitioning="hive").to_table().to_pandas()
        best = points.groupby(["algorithm", "init_scale"], observed=True)["conv_time"].min()
        return f"{len(points)} points, {len(best)} groups"
    if kind == "pandas-one":
        points = ds.dataset(f"{out}/points", partitioning="hive")
        first = points.head(1, columns=["point_id"]).column("point_id")[0].as_py()
        traj = ds.dataset(f"{out}/trajectories", partitioning="hive")
        one = traj.to_table(filter=ds.field("point_id") == first).to_pandas()
        return f"{len(one)} rows of point {first[:8]}…"
    if kind == "pandas-one-part":
        import pyarrow.parquet as pq

        points = ds.dataset(f"{out}/points", partitioning="hive")
        row = points.head(1, columns=["point_id", "sweep_id", "chunk", "algorithm", "n"]).to_pylist()[0]
        # A point's trajectory is in the part of its chunk, in its partition.
        part = f"{out}/trajectories/algorithm={row['algorithm']}/n={row['n']}/part-{row['sweep_id']}-{row['chunk']:06d}.parquet"
        one = pq.read_table(part, filters=[("point_id", "=", row["point_id"])]).to_pandas()
        return f"{len(one)} rows of point {row['point_id'][:8]}…"
    if kind == "pandas-traj-lean":
        traj = ds.dataset(f"{out}/trajectories", partitioning="hive")
        frame = traj.to_table(columns=["point_id", "t", "error"]).to_pandas(strings_to_categorical=True)
        return f"{len(frame)} rows, frame {frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB"
    if kind == "pandas-traj-all":
        frame = ds.dataset(f"{out}/trajectories", partitioning="hive").to_table().to_pandas()
        return f"{len(frame)} rows, frame {frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB"
    raise ValueError(kind)


def child(kind, sql, out):
    start = time.perf_counter()
    summary = run_query(kind, sql, out)
    wall = time.perf_counter() - start
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "rss_mib": rss_kib / 1024, "summary": summary}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("output", help="the sweep's output folder (holds points/ and trajectories/)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query; the fastest counts (default 3)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = os.path.abspath(args.output)
    if args.child:
        name = args.child[0]
        kind, sql = QUERIES[name]
        child(kind, sql, out)
        return
    for sub in ("points", "trajectories"):
        if not os.path.isdir(os.path.join(out, sub)):
            sys.exit(f"analysis.py: {out} has no {sub}/ folder: give a sweep's output folder")
    import duckdb
    import pandas
    import pyarrow

    print(f"duckdb {duckdb.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}; {out}")
    print()
    print("| query | wall s (fastest of %d) | peak MiB | result |" % args.repeat)
    print("|---|---:|---:|---|")
    for name in QUERIES:
        best = None
        for _ in range(1 if QUERIES[name][0] in HEAVY else args.repeat):
            res = subprocess.run(
                [sys.executable, __file__, out, "--child", name, "x"],
                check=True, capture_output=True, text=True,
            )
            m = json.loads(res.stdout.strip().splitlines()[-1])
            if best is None or m["wall"] < best["wall"]:
                best = m
        print(f"| {name} | {best['wall']:.2f} | {best['rss_mib']:.0f} | {best['summary']} |", flush=True)


if __name__ == "__main__":
    main()
