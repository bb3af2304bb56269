"""Catalog actions: list_files (one version's Parquet files, read by DuckDB and pyarrow as they
are), list_keys (distinct first-key values, by prefix and limit) and retention
(create_dataset's `retention`, set_retention)."""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from flight_helpers import (
    BAR_FIELDS,
    NS_PER_DAY,
    action,
    assert_same_rows,
    bars,
    cmd,
    concat,
    create,
    describe,
    expect_status,
    minutes,
    normalize,
    put,
    read_flight,
    read_path,
)


def read_as_of(client, name: str, version: int) -> pa.Table:
    _, tables = read_flight(client, cmd({"dataset": name, "as_of": version}))
    return concat(tables)


def duckdb_read(urls: list[str], like: pa.Table) -> pa.Table:
    table = duckdb.read_parquet(urls, hive_partitioning=False).to_arrow_table()
    return table.select(like.column_names).cast(normalize(like).schema)


def test_list_files_names_exactly_one_version_that_duckdb_and_pyarrow_read(server, client, new_name):
    name = new_name("files")
    create(client, name, fields=BAR_FIELDS)
    put(client, name, bars(["AAPL", "MSFT"], minutes("2024-01-02T14:30:00Z", 30)))
    # Upserts rewrite the files they touch; the replaced files stay on disk for as_of.
    put(client, name, bars(["AAPL"], minutes("2024-01-02T14:40:00Z", 5), seed=9))
    put(client, name, bars(["MSFT", "NVDA"], minutes("2024-01-02T14:55:00Z", 10), seed=4))
    put(client, name, bars(["NVDA"], minutes("2024-01-03T14:30:00Z", 10)))

    listed = action(client, "list_files", {"dataset": name})
    assert listed["version"] == 4
    urls = [f["url"] for f in listed["files"]]
    assert all(u.startswith("file:///") and u.endswith(".parquet") for u in urls)
    d = describe(client, name)
    assert sum(f["rows"] for f in listed["files"]) == d["rows"]
    assert sum(f["bytes"] for f in listed["files"]) == d["bytes"]
    assert {f["partition"] for f in listed["files"]} == {p["key"] for p in d["partitions"]}

    flight = read_path(client, name)
    assert_same_rows(duckdb_read(urls, flight), flight)
    assert_same_rows(pa.concat_tables(pq.read_table(u) for u in urls), flight)
    # A glob finds the replaced files too: duplicate keys, old values.
    on_disk = [p for p in (server["data_dir"] / name).rglob("*.parquet")]
    assert len(on_disk) > len(urls)

    old = action(client, "list_files", {"dataset": name, "as_of": 1})
    assert old["version"] == 1
    assert_same_rows(duckdb_read([f["url"] for f in old["files"]], flight), read_as_of(client, name, 1))

    with expect_status("NOT_FOUND", name):
        action(client, "list_files", {"dataset": name, "as_of": 99})
    with expect_status("NOT_FOUND", "nope"):
        action(client, "list_files", {"dataset": "nope"})
    with expect_status("INVALID_ARGUMENT", "asof"):
        action(client, "list_files", {"dataset": name, "asof": 1})
    empty = new_name("files")
    create(client, empty, fields=BAR_FIELDS)
    assert action(client, "list_files", {"dataset": empty}) == {"version": 0, "files": []}


def test_list_keys_by_prefix_and_limit(client, new_name):
    name = new_name("keys")
    create(client, name, fields=BAR_FIELDS)
    day1 = ["AAPL", "AMD", "AMZN", "MSFT", "NFLX", "NVDA"]
    day2 = ["AMD", "GOOG", "INTC", "NVDA", "TSLA"]
    put(client, name, bars(day1, minutes("2024-01-02T14:30:00Z", 20)))
    put(client, name, bars(day2, minutes("2024-01-03T14:30:00Z", 20)))
    put(client, name, bars(["ZM"], minutes("2024-01-03T16:00:00Z", 1)))
    every = sorted(set(day1 + day2 + ["ZM"]))

    assert action(client, "list_keys", {"dataset": name}) == {"keys": every, "truncated": False}
    assert action(client, "list_keys", {"dataset": name, "prefix": "AM"}) == {"keys": ["AMD", "AMZN"], "truncated": False}
    assert action(client, "list_keys", {"dataset": name, "limit": 3}) == {"keys": every[:3], "truncated": True}
    assert action(client, "list_keys", {"dataset": name, "prefix": "N", "limit": 1}) == {"keys": ["NFLX"], "truncated": True}
    assert action(client, "list_keys", {"dataset": name, "prefix": "N", "limit": 2}) == {"keys": ["NFLX", "NVDA"], "truncated": False}
    assert action(client, "list_keys", {"dataset": name, "prefix": "Q"}) == {"keys": [], "truncated": False}
    # Deleted keys leave the list with the version that deletes them.
    action(client, "delete_range", {"dataset": name, "symbols": ["ZM", "INTC"]})
    assert action(client, "list_keys", {"dataset": name, "prefix": "I"}) == {"keys": [], "truncated": False}
    assert "ZM" not in action(client, "list_keys", {"dataset": name})["keys"]

    with expect_status("INVALID_ARGUMENT", "limit"):
        action(client, "list_keys", {"dataset": name, "limit": 0})
    with expect_status("NOT_FOUND", "nope"):
        action(client, "list_keys", {"dataset": "nope"})
    keyless = new_name("keys")
    action(client, "create_dataset", {"name": keyless, "time_column": "ts", "key_columns": []})
    with expect_status("INVALID_ARGUMENT", keyless):
        action(client, "list_keys", {"dataset": keyless})


def test_retention_removes_partitions_wholly_older_than_it(client, new_name):
    name = new_name("kept")
    created = create(client, name, fields=BAR_FIELDS, retention="400d")
    assert created["retention"] == "400d"
    now = time.time_ns()
    today = now - now % NS_PER_DAY
    recent = bars(["AAPL", "MSFT"], [today - NS_PER_DAY + i * 60_000_000_000 for i in range(30)])
    old = bars(["AAPL"], [today - 500 * NS_PER_DAY + i * 60_000_000_000 for i in range(30)])
    put(client, name, recent)
    # A write into a partition already past the retention is removed by the check after its commit.
    written = put(client, name, old)["version"]
    deadline = time.monotonic() + 20
    while describe(client, name)["version"] == written and time.monotonic() < deadline:
        time.sleep(0.1)
    d = describe(client, name)
    assert d["version"] == written + 1 and d["rows"] == recent.num_rows
    assert_same_rows(read_path(client, name), recent)
    # Until vacuum, as_of still reads what retention removed.
    assert_same_rows(read_as_of(client, name, written), concat([recent, old]))

    # set_retention: the partitions older than the new retention leave in the same version.
    name2 = new_name("kept")
    create(client, name2, fields=BAR_FIELDS)
    week_ago = bars(["AAPL"], [today - 8 * NS_PER_DAY + i * 60_000_000_000 for i in range(10)])
    put(client, name2, concat([recent, week_ago]))
    out = action(client, "set_retention", {"dataset": name2, "retention": "1w"})
    assert out["retention"] == "1w" and out["version"] == 2 and out["rows"] == recent.num_rows
    assert_same_rows(read_path(client, name2), recent)
    assert_same_rows(read_as_of(client, name2, 1), concat([recent, week_ago]))
    assert describe(client, name2)["retention"] == "1w"
    # The same retention again with nothing past it changes nothing; null removes it.
    assert action(client, "set_retention", {"dataset": name2, "retention": "1w"})["version"] == 2
    cleared = action(client, "set_retention", {"dataset": name2, "retention": None})
    assert "retention" not in cleared and cleared["version"] == 3

    for bad in ["400", "1m", "0d", "-1d", "1.5y", "10 y"]:
        with expect_status("INVALID_ARGUMENT", "retention"):
            action(client, "set_retention", {"dataset": name2, "retention": bad})
    with expect_status("INVALID_ARGUMENT", "retention"):
        create(client, new_name("kept"), fields=BAR_FIELDS, retention="forever")
    with expect_status("NOT_FOUND", "nope"):
        action(client, "set_retention", {"dataset": "nope", "retention": "26w"})
