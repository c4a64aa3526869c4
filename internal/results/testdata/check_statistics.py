"""Check the column statistics of isweep's Parquet files with pyarrow and DuckDB.

Used by TestInteropStatistics (encoder_test.go):

    python3 check_statistics.py --root DIR

For every Parquet file under DIR, every row group and every column:

  - pyarrow: the NULL count, min and max read from the footer must equal
    those computed from the column's values; a column chunk holding a NaN
    has no min and max (see columnStats in columns.go);
  - DuckDB, which skips row groups by these statistics: for each column,
    the rows counted by filters at the edges of its values (`col < min`,
    `col = max`, `col > max`, …) reading the file must equal those counted
    on the same rows handed to DuckDB as an Arrow table, where no
    statistics are involved.

Prints one JSON document: {"files", "columns_checked", "queries", "mismatches"}.
"""

import argparse
import json
import math
import os
import sys

try:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as exc:
    sys.stderr.write(f"{exc}; install with: python3 -m pip install pandas pyarrow duckdb\n")
    sys.exit(3)


def is_nan(v):
    return isinstance(v, float) and math.isnan(v)


def expected_stats(values):
    present = [v for v in values if v is not None]
    nulls = len(values) - len(present)
    if not present or any(is_nan(v) for v in present):
        return nulls, None, None
    return nulls, min(present), max(present)


def check_footer(path, mismatches):
    pf = pq.ParquetFile(path)
    checked = 0
    for g in range(pf.metadata.num_row_groups):
        table = pf.read_row_group(g)
        rg = pf.metadata.row_group(g)
        for c in range(rg.num_columns):
            col = rg.column(c)
            name = col.path_in_schema
            values = table.column(name).to_pylist()
            nulls, lo, hi = expected_stats(values)
            st = col.statistics
            where = f"{os.path.basename(path)} row group {g} column {name}"
            if st is None:
                mismatches.append(f"{where}: no statistics")
                continue
            checked += 1
            if st.null_count != nulls:
                mismatches.append(f"{where}: null_count {st.null_count}, want {nulls}")
            if (lo is None) == st.has_min_max:
                mismatches.append(f"{where}: has_min_max {st.has_min_max}, want {lo is not None}")
            elif lo is not None and (st.min != lo or st.max != hi):
                mismatches.append(f"{where}: min, max {st.min!r}, {st.max!r}, want {lo!r}, {hi!r}")
    return checked


def probes(values):
    """Filters at the edges of the values, where skipping by min and max
    goes wrong first: below and at the min, at and above the max."""
    present = [v for v in values if v is not None and not is_nan(v)]
    if not present:
        return []
    lo, hi = min(present), max(present)
    return [("<", lo), ("=", lo), ("=", hi), (">", hi)]


def check_filters(path, mismatches):
    table = pq.read_table(path)
    probed = [(name, op, v) for name in table.column_names
              for op, v in probes(table.column(name).to_pylist())]
    if not probed:
        return 0
    # One statement per source, one filtered count per probe: DuckDB pushes
    # each WHERE down to its own scan of the file.
    sql = " UNION ALL ".join(
        f'SELECT {k} AS probe, count(*) AS n FROM {{src}} WHERE "{name}" {op} ${k + 1}'
        for k, (name, op, _) in enumerate(probed))
    sql = f"SELECT n FROM ({sql}) ORDER BY probe"
    values = [v for _, _, v in probed]
    con = duckdb.connect()
    con.register("arrow_rows", table)
    from_file = [r[0] for r in con.execute(sql.format(src=f"read_parquet('{path}')"), values).fetchall()]
    from_arrow = [r[0] for r in con.execute(sql.format(src="arrow_rows"), values).fetchall()]
    con.close()
    for (name, op, v), f, a in zip(probed, from_file, from_arrow):
        if f != a:
            mismatches.append(
                f"{os.path.basename(path)}: DuckDB {name} {op} {v!r}: {f} rows from the file, "
                f"{a} from the same rows as Arrow")
    return len(probed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    args = ap.parse_args()

    files = []
    for dirpath, _, names in os.walk(args.root):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".parquet")]
    files.sort()
    mismatches = []
    columns = queries = 0
    for path in files:
        columns += check_footer(path, mismatches)
        queries += check_filters(path, mismatches)
    json.dump({"files": len(files), "columns_checked": columns, "queries": queries,
               "mismatches": mismatches}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
