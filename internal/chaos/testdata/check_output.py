"""Reads an isweep output folder with DuckDB and prints, as JSON, what the
chaos harness checks (the harness compares; this script only reads):

  points        every row of points/**/*.parquet: [point_id, sweep_id, chunk]
  traj_rows     rows of trajectories/**/*.parquet
  traj_dups     (point_id, sample) pairs found more than once, with counts (first 20)
  traj_orphans  point ids with trajectory rows but no points row (first 20)
  sweeps        per sweep id given: its members rows [point_id, sweep_id, chunk],
                and summary_problems: how its summary.parquet differs from the
                summary recomputed here from the points joined with the members

Usage: check_output.py ROOT SWEEP_ID...
"""

import json
import os
import sys

import duckdb


def parts(root, table):
    return os.path.join(root, table, "**", "*.parquet")


def has_parts(root, table):
    for _, _, files in os.walk(os.path.join(root, table)):
        if any(f.endswith(".parquet") for f in files):
            return True
    return False


def summary_problems(con, root, sweep):
    """Differences between the stored summary and one recomputed from the
    points rows of the sweep's members (joined on point_id and sweep_id):
    per (algorithm, mode, n, init_scale), points, converged and diverged
    counts, the smallest conv_time of a converged point and its eta (ties to
    the smaller eta)."""
    members = os.path.join(root, "sweeps", sweep, "members.parquet")
    summary = os.path.join(root, "sweeps", sweep, "summary.parquet")
    rows = con.execute(
        f"""SELECT p.algorithm, p.mode, p.n, p.init_scale, p.eta, p.conv_time, p.status
            FROM read_parquet('{parts(root, "points")}', hive_partitioning = true) p
            JOIN read_parquet('{members}') m ON p.point_id = m.point_id AND p.sweep_id = m.sweep_id"""
    ).fetchall()
    want = {}
    for alg, mode, n, mu, eta, conv, status in rows:
        g = want.setdefault((alg, mode, int(n), mu), {"points": 0, "converged": 0, "diverged": 0, "best": None, "eta": None})
        g["points"] += 1
        if status == "converged":
            g["converged"] += 1
        if status == "diverged":
            g["diverged"] += 1
        if status == "converged" and conv is not None:
            if g["best"] is None or conv < g["best"] or (conv == g["best"] and eta < g["eta"]):
                g["best"], g["eta"] = conv, eta
    got = {}
    for alg, mode, n, mu, best_eta, best, points, converged, diverged in con.execute(
        f"""SELECT algorithm, mode, n, init_scale, best_eta, best_conv_time, points, converged, diverged
            FROM read_parquet('{summary}')"""
    ).fetchall():
        key = (alg, mode, int(n), mu)
        if key in got:
            return [f"summary group {key} appears twice"]
        got[key] = {"points": points, "converged": converged, "diverged": diverged, "best": best, "eta": best_eta}
    problems = []
    for key in sorted(set(want) | set(got), key=repr):
        w, g = want.get(key), got.get(key)
        if w != g:
            problems.append(f"group {key}: summary.parquet has {g}, the points joined with the members give {w}")
    return problems


def main():
    root, sweeps = sys.argv[1], sys.argv[2:]
    con = duckdb.connect()
    out = {"points": [], "traj_rows": 0, "traj_dups": [], "traj_orphans": [], "sweeps": {}}
    have_points, have_traj = has_parts(root, "points"), has_parts(root, "trajectories")
    if have_points:
        out["points"] = [
            list(r)
            for r in con.execute(
                f"SELECT point_id, sweep_id, chunk FROM read_parquet('{parts(root, 'points')}', hive_partitioning = true)"
            ).fetchall()
        ]
    if have_traj:
        traj = f"read_parquet('{parts(root, 'trajectories')}', hive_partitioning = true)"
        out["traj_rows"] = con.execute(f"SELECT count(*) FROM {traj}").fetchone()[0]
        out["traj_dups"] = [
            list(r)
            for r in con.execute(
                f"SELECT point_id, sample, count(*) AS c FROM {traj} GROUP BY ALL HAVING c > 1 ORDER BY ALL LIMIT 20"
            ).fetchall()
        ]
        if have_points:
            out["traj_orphans"] = [
                r[0]
                for r in con.execute(
                    f"""SELECT DISTINCT t.point_id FROM {traj} t
                        ANTI JOIN read_parquet('{parts(root, 'points')}', hive_partitioning = true) p USING (point_id)
                        ORDER BY 1 LIMIT 20"""
                ).fetchall()
            ]
    for sweep in sweeps:
        rec = {"members": [], "summary_problems": []}
        members = os.path.join(root, "sweeps", sweep, "members.parquet")
        if os.path.exists(members):
            rec["members"] = [list(r) for r in con.execute(f"SELECT point_id, sweep_id, chunk FROM read_parquet('{members}')").fetchall()]
        else:
            rec["summary_problems"].append("members.parquet is missing")
        if not os.path.exists(os.path.join(root, "sweeps", sweep, "summary.parquet")):
            rec["summary_problems"].append("summary.parquet is missing")
        elif have_points and os.path.exists(members):
            rec["summary_problems"] = summary_problems(con, root, sweep)
        out["sweeps"][sweep] = rec
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
