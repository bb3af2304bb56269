"""Partition kinds hour/day/month/year, by the time column in UTC, with rows one nanosecond
either side of each edge (including the Unix epoch itself)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.flight as fl
import pytest

from flight_helpers import (
    BAR_FIELDS,
    assert_same_rows,
    bars,
    canonical_key,
    cmd,
    concat,
    create,
    describe,
    iso_precision_ns,
    ns,
    partition_key,
    put,
    read_flight,
    read_path,
)

EDGES = [
    "1969-12-31T23:59:59.999999999Z",
    "1970-01-01T00:00:00Z",
    "2024-02-29T13:59:59.999999999Z",
    "2024-02-29T14:00:00Z",
    "2024-02-29T23:59:59.999999999Z",
    "2024-03-01T00:00:00Z",
    "2024-12-31T23:59:59.999999999Z",
    "2025-01-01T00:00:00Z",
]
SYMBOLS = ["AAPL", "MSFT"]
KEY_PATTERNS = {
    "hour": r"date=\d{4}-\d{2}-\d{2}/hour=\d{1,2}",
    "day": r"date=\d{4}-\d{2}-\d{2}",
    "month": r"month=\d{4}-\d{2}",
    "year": r"year=\d{4}",
}
DATA_COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module", params=["hour", "day", "month", "year"])
def part(request, server):
    kind = request.param
    client = fl.connect(server["location"])
    name = f"edges_{kind}"
    create(client, name, fields=BAR_FIELDS, partition=kind)
    data = bars(SYMBOLS, [ns(t) for t in EDGES])
    first = put(client, name, data.slice(0, 8))
    second = put(client, name, data.slice(8))
    d = describe(client, name)
    client.close()
    times = pc.cast(data["ts"], pa.int64()).to_pylist()
    expected_rows = Counter(partition_key(t, kind) for t in times)
    return {
        "kind": kind,
        "name": name,
        "data": data,
        "results": [first, second],
        "describe": d,
        "expected_rows": expected_rows,
        "times": times,
        "dir": Path(server["data_dir"]) / name,
    }


def expected_keys(times: list[int], kind: str) -> set[str]:
    return {partition_key(t, kind) for t in times}


def test_put_result_partitions(part):
    kind, data = part["kind"], part["data"]
    for i, (result, piece) in enumerate(zip(part["results"], [data.slice(0, 8), data.slice(8)])):
        times = pc.cast(piece["ts"], pa.int64()).to_pylist()
        got = result["partitions"]
        assert len(got) == len(set(got)), f"duplicate partitions in {got}"
        for k in got:
            assert re.fullmatch(KEY_PATTERNS[kind], k), f"partition key {k!r} is not a {kind} Hive path"
        assert {canonical_key(k) for k in got} == expected_keys(times, kind), f"put {i + 1}"
        assert result["rows"] == piece.num_rows
        assert result["version"] == i + 1


def test_describe_partitions(part):
    d = part["describe"]
    assert d["partition"] == part["kind"]
    got = {canonical_key(p["key"]): p for p in d["partitions"]}
    assert set(got) == set(part["expected_rows"])
    for key, rows in part["expected_rows"].items():
        assert got[key]["rows"] == rows, f"{key}: {got[key]['rows']} rows, expected {rows}"
    for key, p in got.items():
        in_part = [t for t in part["times"] if partition_key(t, part["kind"]) == key]
        for field, actual in (("min_time", min(in_part)), ("max_time", max(in_part))):
            stated = p[field]
            assert stated.endswith("Z") or stated.endswith("+00:00"), f"{key} {field} not UTC: {stated}"
            step = iso_precision_ns(stated)
            assert ns(stated) <= actual < ns(stated) + step, f"{key} {field} {stated} != {actual} ns"


def test_directories_on_disk(part):
    root = part["dir"]
    files = [p for p in root.rglob("*.parquet") if not any(s.startswith((".", "_")) for s in p.relative_to(root).parts)]
    dirs = {f.parent.relative_to(root).as_posix() for f in files}
    assert {canonical_key(x) for x in dirs} == set(part["expected_rows"])
    described = {p["key"] for p in part["describe"]["partitions"]}
    assert dirs == described, "describe keys and directory names should be the same strings"
    assert set().union(*[set(r["partitions"]) for r in part["results"]]) == described


def test_pyarrow_dataset_hive_read(part):
    table = pds.dataset(part["dir"], format="parquet", partitioning="hive").to_table()
    assert_same_rows(table.select(DATA_COLUMNS), part["data"])


def test_duckdb_hive_read(part):
    kind = part["kind"]
    cols = {"hour": ['"date"', '"hour"'], "day": ['"date"'], "month": ['"month"'], "year": ['"year"']}[kind]
    select = ", ".join(f"{c}::VARCHAR" for c in cols)
    rows = duckdb.sql(
        f"SELECT {select}, count(*) FROM read_parquet('{part['dir']}/**/*.parquet', hive_partitioning = true) GROUP BY ALL"
    ).fetchall()
    got = {}
    for row in rows:
        *values, count = row
        if kind == "hour":
            key = f"date={values[0]}/hour={int(values[1]):02d}"
        else:
            key = f"{cols[0].strip(chr(34))}={values[0]}"
        got[key] = count
    assert got == dict(part["expected_rows"])


def test_flight_read_back(client, part):
    assert_same_rows(read_path(client, part["name"]), part["data"])


def test_query_at_partition_edge(client, part):
    edge = "2025-01-01T00:00:00Z"
    info, tables = read_flight(client, cmd({"dataset": part["name"], "start": edge}))
    after = concat(tables)
    assert after.num_rows == 2
    assert set(pc.cast(after["ts"], pa.int64()).to_pylist()) == {ns(edge)}
    info, tables = read_flight(client, cmd({"dataset": part["name"], "end": edge}))
    assert concat(tables).num_rows == 14
    info, tables = read_flight(client, cmd({"dataset": part["name"], "start": 0, "end": 1}))
    before = concat(tables)
    assert set(pc.cast(before["ts"], pa.int64()).to_pylist()) == {0}
