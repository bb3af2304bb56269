"""The files under DATA_DIR are plain Hive-partitioned, zstd Parquet with statistics that DuckDB
and pyarrow.dataset read directly. These datasets only ever append, so every file is live."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.flight as fl
import pyarrow.parquet as pq
import pytest

from flight_helpers import (
    BAR_FIELDS,
    assert_same_rows,
    bars,
    concat,
    create,
    describe,
    minutes,
    partition_key,
    put,
)

DATA_COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def on_disk(server):
    client = fl.connect(server["location"])
    name = "files_bars"
    create(client, name, fields=BAR_FIELDS)
    # whole microseconds, so DuckDB's microsecond TIMESTAMPTZ sees the exact values
    puts = [
        bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 60), seed=1),
        bars(["GOOG"], minutes("2024-01-02T15:00:00Z", 30), dictionary=False, seed=2),
        bars(["AAPL", "MSFT", "GOOG"], minutes("2024-01-03T23:30:00Z", 60), seed=3),
    ]
    for p in puts:
        put(client, name, p)
    description = describe(client, name)
    client.close()
    return {
        "name": name,
        "dir": Path(server["data_dir"]) / name,
        "expected": concat(puts),
        "describe": description,
    }


def parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))


def duck_arrow(sql: str) -> pa.Table:
    result = duckdb.sql(sql).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def test_hive_directories(on_disk):
    files = parquet_files(on_disk["dir"])
    assert files, f"no parquet files under {on_disk['dir']}"
    dirs = {f.parent.relative_to(on_disk["dir"]).as_posix() for f in files}
    assert dirs == {"date=2024-01-02", "date=2024-01-03", "date=2024-01-04"}


def test_duckdb_reads_exactly_the_rows_put(on_disk):
    glob = f"{on_disk['dir']}/**/*.parquet"
    t = duck_arrow(
        f"""
        SELECT symbol::VARCHAR AS symbol, epoch_ns(ts) AS ts_ns, open, high, low, close, volume,
               "date"::VARCHAR AS part
        FROM read_parquet('{glob}', hive_partitioning = true)
        """
    )
    exp = on_disk["expected"]
    assert t.num_rows == exp.num_rows
    actual = pa.table(
        {
            "symbol": t["symbol"],
            "ts": pc.cast(t["ts_ns"], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            **{c: t[c] for c in ("open", "high", "low", "close", "volume")},
        }
    )
    assert_same_rows(actual, exp)
    for ts_ns, part in zip(t["ts_ns"].to_pylist(), t["part"].to_pylist()):
        assert f"date={part}" == partition_key(ts_ns, "day"), f"row at {ts_ns} stored under date={part}"


def test_duckdb_aggregates(on_disk):
    glob = f"{on_disk['dir']}/**/*.parquet"
    rows = duckdb.sql(
        f"""
        SELECT "date"::VARCHAR, count(*), sum(volume)
        FROM read_parquet('{glob}', hive_partitioning = true)
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    exp = on_disk["expected"]
    by_day: dict[str, list[int]] = {}
    for ts, vol in zip(pc.cast(exp["ts"], pa.int64()).to_pylist(), exp["volume"].to_pylist()):
        key = partition_key(ts, "day").removeprefix("date=")
        by_day.setdefault(key, [0, 0])
        by_day[key][0] += 1
        by_day[key][1] += vol
    assert rows == [(k, c, s) for k, (c, s) in sorted(by_day.items())]


def test_pyarrow_dataset_reads_exactly_the_rows_put(on_disk):
    dataset = pds.dataset(on_disk["dir"], format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert "date" in table.column_names
    assert_same_rows(table.select(DATA_COLUMNS), on_disk["expected"])
    assert table["ts"].type == pa.timestamp("ns", tz="UTC")


def test_parquet_files_are_zstd_with_statistics(on_disk):
    for f in parquet_files(on_disk["dir"]):
        pf = pq.ParquetFile(f)
        meta = pf.metadata
        to_ns = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[pf.schema_arrow.field("ts").type.unit]
        assert meta.num_rows > 0, f"{f} is empty"
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        assert names[: len(DATA_COLUMNS)] == DATA_COLUMNS, f"{f}: columns {names}"
        ts_col = names.index("ts")
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for c in range(group.num_columns):
                col = group.column(c)
                assert col.compression == "ZSTD", f"{f} row group {rg} column {col.path_in_schema}: {col.compression}"
                assert col.is_stats_set and col.statistics.has_min_max, f"{f} {col.path_in_schema}: no statistics"
            stats = group.column(ts_col).statistics
            key = f.parent.name
            assert partition_key(stats.min_raw * to_ns, "day") == key, f"{f}: min ts outside its partition"
            assert partition_key(stats.max_raw * to_ns, "day") == key, f"{f}: max ts outside its partition"


def test_describe_matches_files(on_disk):
    files = parquet_files(on_disk["dir"])
    per_dir: dict[str, list[Path]] = {}
    for f in files:
        per_dir.setdefault(f.parent.relative_to(on_disk["dir"]).as_posix(), []).append(f)
    d = on_disk["describe"]
    assert {p["key"] for p in d["partitions"]} == set(per_dir)
    for p in d["partitions"]:
        fs = per_dir[p["key"]]
        assert p["files"] == len(fs), f"{p['key']}: describe says {p['files']} files, {len(fs)} on disk"
        assert p["rows"] == sum(pq.ParquetFile(f).metadata.num_rows for f in fs)
    assert d["rows"] == on_disk["expected"].num_rows
