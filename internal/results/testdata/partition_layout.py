"""Check which Hive layouts the Python readers accept.

Used by TestPartitionColumnsStayInPath. Given a results folder written by
package results (partition columns algorithm and n only in the path), it
makes two copies whose files also hold algorithm and n as columns (n as
int64, then as int32) and reads each layout with pyarrow.dataset
(partitioning="hive"), pandas.read_parquet and DuckDB read_parquet
(hive_partitioning = true). It prints {"<layout>/<reader>": "ok" | "error: …"
| "wrong values: …"} as JSON.

    python3 partition_layout.py --root DIR
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

try:
    import duckdb
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
except ImportError as exc:
    sys.stderr.write(f"{exc}; install with: python3 -m pip install pandas pyarrow duckdb\n")
    sys.exit(3)


def truth(points_dir):
    """Maps point_id to (algorithm, n) from the folder names."""
    out = {}
    for dirpath, _, files in os.walk(points_dir):
        parts = dict(p.split("=", 1) for p in os.path.relpath(dirpath, points_dir).split(os.sep) if "=" in p)
        for name in files:
            for pid in pq.read_table(os.path.join(dirpath, name), columns=["point_id"]).column("point_id").to_pylist():
                out[pid] = (parts["algorithm"], int(parts["n"]))
    return out


def with_columns(src, dst, n_type):
    """Copies a points folder, adding algorithm and n columns to every file."""
    for dirpath, _, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        parts = dict(p.split("=", 1) for p in rel.split(os.sep) if "=" in p)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in files:
            table = pq.read_table(os.path.join(dirpath, name))
            rows = table.num_rows
            table = table.append_column("algorithm", pa.array([parts["algorithm"]] * rows, pa.string()))
            table = table.append_column("n", pa.array([int(parts["n"])] * rows, n_type))
            pq.write_table(table, os.path.join(dst, rel, name))


def readers(points_dir):
    def pyarrow_dataset():
        t = ds.dataset(points_dir, format="parquet", partitioning="hive").to_table(columns=["point_id", "algorithm", "n"])
        return t.to_pylist()

    def pandas_read():
        f = pd.read_parquet(points_dir, columns=["point_id", "algorithm", "n"])
        return [{"point_id": r["point_id"], "algorithm": str(r["algorithm"]), "n": int(r["n"])} for r in f.to_dict("records")]

    def duckdb_hive():
        rel = duckdb.sql(f"SELECT point_id, algorithm, n FROM read_parquet('{points_dir}/**/*.parquet', hive_partitioning = true)")
        return [dict(zip(["point_id", "algorithm", "n"], r)) for r in rel.fetchall()]

    return {"pyarrow.dataset hive": pyarrow_dataset, "pandas.read_parquet": pandas_read, "duckdb hive_partitioning": duckdb_hive}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    points = os.path.join(os.path.abspath(args.root), "points")
    want = truth(points)
    work = tempfile.mkdtemp()
    try:
        layouts = {"path only": points}
        for label, n_type in (("inside, n int64", pa.int64()), ("inside, n int32", pa.int32())):
            layouts[label] = os.path.join(work, label.replace(" ", "_").replace(",", ""))
            with_columns(points, layouts[label], n_type)
        out = {}
        for label, folder in layouts.items():
            for name, read in readers(folder).items():
                try:
                    rows = read()
                except Exception as exc:  # the outcome being recorded
                    out[f"{label}/{name}"] = f"error: {exc}"
                    continue
                got = {r["point_id"]: (r["algorithm"], int(r["n"])) for r in rows}
                out[f"{label}/{name}"] = "ok" if got == want and len(rows) == len(want) else f"wrong values: {len(rows)} rows"
        json.dump(out, sys.stdout, indent=1)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
