"""`ingestctl query` over a 1M-row record: the locked-down DuckDB path the CLI runs, on a Parquet file it writes
itself (the shape a structured parse writes: an id, a category, an amount, a date). Reports the time to load the
record into the locked database and the time of a SUM, a GROUP BY and a filtered COUNT, median of a few runs.

    python -m bench.query [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestctl.query import Record, locked_database

QUERIES = {
    "sum": 'SELECT sum(amount) FROM "parsed_bench"',
    "group_by": 'SELECT category, sum(amount), count(*) FROM "parsed_bench" GROUP BY category ORDER BY category',
    "filtered_count": "SELECT count(*) FROM \"parsed_bench\" WHERE amount > 500 AND day >= DATE '2026-06-01'",
}


def write_record(path: Path, rows: int) -> None:
    import pyarrow.compute as pc

    ids = pa.array(range(rows), pa.int64())
    table = pa.table({
        "id": ids,
        "category": pc.cast(pc.remainder(ids, 20), pa.string()),
        "amount": pc.divide(pc.cast(pc.remainder(pc.multiply(ids, 7919), 100_000), pa.float64()), 100.0),
        "day": pc.cast(pc.cast(pc.add(pc.remainder(ids, 365), 20454), pa.int32()), pa.date32()),
    })
    pq.write_table(table, path, row_group_size=128 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "parsed_bench.parquet"
        write_record(path, args.rows)
        record = Record("parsed_bench", "bench.csv", args.rows, ["id", "category", "amount", "day"], "", "gs://b/x")
        loads: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in QUERIES}
        for _ in range(args.runs):
            started = time.perf_counter()
            with locked_database([record], {"parsed_bench": path}) as con:
                loads.append(time.perf_counter() - started)
                for name, sql in QUERIES.items():
                    t0 = time.perf_counter()
                    con.execute(sql).fetchall()
                    times[name].append(time.perf_counter() - t0)
        import os

        result = {
            "rows": args.rows, "parquet_bytes": path.stat().st_size, "runs": args.runs,
            "load_seconds_median": round(statistics.median(loads), 3),
            "query_seconds_median": {k: round(statistics.median(v), 4) for k, v in times.items()},
            "load_average": os.getloadavg()[0],
        }
    print(json.dumps(result, indent=2))
    (Path(__file__).parent / "query_results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
