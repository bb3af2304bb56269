"""Storage engine semantics through real clients: upsert, delete_range, compact, evolve_schema,
time travel and vacuum checked through pyarrow's Flight client and by reading the files on disk
with DuckDB; resampling checked against DuckDB; concurrent writers; the hot cache."""

from __future__ import annotations

import json
import threading
import uuid

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from flight_helpers import (
    BAR_FIELDS,
    NS_PER_MIN,
    action,
    bars,
    cmd,
    create,
    describe,
    expect_status,
    minutes,
    normalize,
    put,
    read_flight,
    read_path,
    sort_rows,
)


@pytest.fixture
def client(server):
    c = fl.connect(server["location"])
    yield c
    c.close()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def duckdb_arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    result = con.execute(sql).arrow()
    # Newer DuckDB answers a RecordBatchReader, older ones a Table.
    return result.read_all() if hasattr(result, "read_all") else result


def on_disk(data_dir, name: str) -> pa.Table:
    """Every Parquet file under the dataset directory, read by DuckDB (no catalog involved)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    glob = f"{data_dir}/{name}/**/*.parquet"
    return duckdb_arrow(con, f"SELECT * EXCLUDE (date) FROM read_parquet('{glob}', hive_partitioning=true)")


def key_values(table: pa.Table) -> dict[tuple[str, int], float]:
    t = normalize(table)
    syms = t.column("symbol").to_pylist()
    ts = t.column("ts").cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_pylist()
    opens = t.column("open").to_pylist()
    return {(s, x): o for s, x, o in zip(syms, ts, opens)}


def test_upsert_replaces_rows_and_disk_holds_exactly_the_live_rows_after_compact_and_vacuum(client, server):
    name = unique("upsert")
    create(client, name, fields=BAR_FIELDS)
    first = bars(["AAPL", "MSFT"], minutes("2024-01-02T10:00:00Z", 30), seed=1)
    put(client, name, first)
    # Re-send the last 10 minutes and add 10 new ones, with other prices.
    resent = bars(["AAPL", "MSFT"], minutes("2024-01-02T10:20:00Z", 20), seed=2)
    out = put(client, name, resent)
    assert out["version"] == 2

    got = read_path(client, name)
    assert got.num_rows == 2 * 40
    expected = key_values(first)
    expected.update(key_values(resent))
    assert key_values(got) == expected

    # The replaced file stays on disk for time travel until vacuum.
    as_of_1 = action(client, "describe_dataset", {"name": name})
    assert as_of_1["rows"] == 80
    old = client.do_get(fl.Ticket(json.dumps({"dataset": name, "as_of": 1}).encode())).read_all()
    assert key_values(old) == key_values(first)

    # Several files in the partition, then compact + vacuum: the directory holds exactly the live rows.
    put(client, name, bars(["GOOG"], minutes("2024-01-02T15:00:00Z", 5), seed=3))
    assert describe(client, name)["partitions"][0]["files"] == 2
    compacted = action(client, "compact", {"dataset": name})
    assert compacted["files_before"] == 2 and compacted["files_after"] == 1
    assert compacted["version"] == 4
    vac = action(client, "vacuum", {"dataset": name, "retain_versions": 1})
    assert vac["oldest_version"] == 4 and vac["files_removed"] >= 2 and vac["bytes_freed"] > 0
    live = read_path(client, name)
    disk = on_disk(server["data_dir"], name)
    assert disk.num_rows == live.num_rows == 85
    assert key_values(disk) == key_values(live)
    with expect_status("NOT_FOUND", "version"):
        client.do_get(fl.Ticket(json.dumps({"dataset": name, "as_of": 1}).encode())).read_all()


def test_delete_range_evolve_schema_and_time_travel(client, server):
    name = unique("lifecycle")
    create(client, name, fields=BAR_FIELDS)
    put(client, name, bars(["AAPL", "MSFT"], minutes("2024-01-02T10:00:00Z", 60)))
    deleted = action(client, "delete_range", {"dataset": name, "symbols": ["MSFT"], "start": "2024-01-02T10:30:00Z"})
    assert deleted == {"rows_deleted": 30, "version": 2}
    # A no-op delete returns the current version.
    assert action(client, "delete_range", {"dataset": name, "symbols": ["NONE"]}) == {"rows_deleted": 0, "version": 2}
    got = read_path(client, name)
    msft = got.filter(pc.equal(got.column("symbol").cast(pa.utf8()), "MSFT"))
    assert msft.num_rows == 30
    assert pc.max(msft.column("ts")).value < pa.scalar(minutes("2024-01-02T10:30:00Z", 1)[0], pa.timestamp("ns", "UTC")).value

    evolved = action(client, "evolve_schema", {"dataset": name, "add": [{"name": "vwap", "type": "float64", "nullable": True}]})
    assert evolved["version"] == 3 and evolved["schema"][-1] == {"name": "vwap", "type": "float64", "nullable": True}
    # An old put shape (without vwap) is still accepted; a new one may carry it.
    put(client, name, bars(["GOOG"], minutes("2024-01-03T10:00:00Z", 3)))
    with_vwap = bars(["TSLA"], minutes("2024-01-03T10:00:00Z", 3))
    with_vwap = with_vwap.append_column("vwap", pa.array([1.5, 2.5, 3.5], pa.float64()))
    assert put(client, name, with_vwap)["version"] == 5
    now = read_path(client, name)
    assert now.schema.names[-1] == "vwap"
    vwap = {s: v for s, v in zip(now.column("symbol").to_pylist(), now.column("vwap").to_pylist())}
    assert vwap["AAPL"] is None and vwap["GOOG"] is None and vwap["TSLA"] == 3.5

    # as_of reads each version whole.
    v1 = read_flight(client, cmd({"dataset": name, "as_of": 1}))[1]
    assert sum(t.num_rows for t in v1) == 120
    v2 = read_flight(client, cmd({"dataset": name, "as_of": 2}))[1]
    assert sum(t.num_rows for t in v2) == 90
    with expect_status("NOT_FOUND", "99"):
        client.get_flight_info(cmd({"dataset": name, "as_of": 99}))
    with expect_status("INVALID_ARGUMENT", "nullable"):
        action(client, "evolve_schema", {"dataset": name, "add": [{"name": "x", "type": "int32", "nullable": False}]})
    with expect_status("INVALID_ARGUMENT", "retain_versions"):
        action(client, "vacuum", {"dataset": name, "retain_versions": 0})

    assert action(client, "drop_dataset", {"name": name}) == {"dropped": True}
    with expect_status("NOT_FOUND", name):
        describe(client, name)
    assert not (server["data_dir"] / name).exists()


@pytest.mark.parametrize("interval,bucket", [("5m", "5 minutes"), ("1h", "1 hour"), ("4h", "4 hours"), ("1d", "1 day"), ("1w", "1 week")])
def test_resample_matches_duckdb(client, interval, bucket):
    name = unique("resample")
    create(client, name, fields=BAR_FIELDS)
    # Ten days of 7-minute bars that straddle hour, day and week boundaries, one symbol with gaps.
    times = [t for t in minutes("2024-01-05T20:03:00Z", 2000, 7 * NS_PER_MIN)]
    data = pa.concat_tables([bars(["AAPL", "MSFT"], times, seed=4), bars(["ZZZ"], times[::13], seed=5)])
    put(client, name, data)
    got = read_flight(client, cmd({"dataset": name, "interval": interval}))[1]
    assert len(got) == 1
    ours = normalize(got[0])

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    src = normalize(data)
    con.register("src", src)
    ref = duckdb_arrow(
        con,
        f"""
        SELECT symbol, time_bucket(INTERVAL '{bucket}', ts) AS ts,
               arg_min(open, ts) AS open, max(high) AS high, min(low) AS low,
               arg_max(close, ts) AS close, sum(volume)::BIGINT AS volume
        FROM src GROUP BY 1, 2 ORDER BY 1, 2
        """,
    )
    assert ours.num_rows == ref.num_rows
    assert ours.column("symbol").to_pylist() == ref.column("symbol").to_pylist()
    assert ours.column("ts").cast(pa.int64()).to_pylist() == ref.column("ts").cast(pa.timestamp("ns", "UTC")).cast(pa.int64()).to_pylist()
    for col in ["open", "high", "low", "close", "volume"]:
        assert ours.column(col).to_pylist() == ref.column(col).to_pylist(), col


def test_resample_refuses_a_dataset_without_ohlc(client):
    name = unique("no_ohlc")
    create(client, name, fields=[BAR_FIELDS[0], BAR_FIELDS[1], {"name": "price", "type": "float64", "nullable": True}])
    with expect_status("INVALID_ARGUMENT", "interval", "open"):
        client.get_flight_info(cmd({"dataset": name, "interval": "1h"}))


def test_concurrent_writers_equal_a_serial_application(client, server):
    name = unique("concurrent")
    create(client, name, fields=BAR_FIELDS)
    writes = []
    for i in range(8):
        syms = ["AAPL", "MSFT"] if i % 2 else ["MSFT", "GOOG"]
        writes.append(bars(syms, minutes(f"2024-01-02T10:{i * 3:02d}:00Z", 40), seed=10 + i))
    results: list[dict | BaseException] = [None] * len(writes)  # type: ignore[list-item]

    def run(i: int) -> None:
        c = fl.connect(server["location"])
        try:
            results[i] = put(c, name, writes[i], max_chunksize=17)
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    versions = [r["version"] for r in results]  # type: ignore[index]
    assert sorted(versions) == list(range(1, len(writes) + 1))
    expected: dict = {}
    for _, i in sorted((v, i) for i, v in enumerate(versions)):
        expected.update(key_values(writes[i]))
    got = read_path(client, name)
    assert got.num_rows == len(expected)
    assert key_values(got) == expected


def test_hot_cache_serves_a_repeated_read(client):
    name = unique("cache")
    create(client, name, fields=BAR_FIELDS)
    put(client, name, bars(["AAPL"], minutes("2024-01-02T10:00:00Z", 500)))
    before = action(client, "health", {})["cache"]
    first = read_path(client, name)
    second = read_path(client, name)
    after = action(client, "health", {})["cache"]
    assert sort_rows(first).equals(sort_rows(second))
    assert after["hits"] > before["hits"]
    assert after["bytes"] > 0


def test_projections_of_several_dictionary_columns_decode(client):
    """Projected reads are forwarded as stored; their dictionary ids must match the schema sent."""
    name = unique("dicts")
    fields = [
        {"name": "symbol", "type": "dictionary<utf8>", "nullable": False},
        {"name": "ts", "type": "timestamp[ns, UTC]", "nullable": False},
        {"name": "venue", "type": "dictionary<utf8>", "nullable": True},
        {"name": "side", "type": "dictionary<utf8>", "nullable": True},
        {"name": "price", "type": "float64", "nullable": True},
    ]
    create(client, name, fields=fields)
    times = minutes("2024-01-02T10:00:00Z", 6)
    table = pa.table(
        {
            "symbol": pa.array(["AAPL"] * 6).dictionary_encode(),
            "ts": pa.array(times, pa.timestamp("ns", "UTC")),
            "venue": pa.array(["XNAS", "XNYS", "XNAS", "BATS", "XNYS", "XNAS"]).dictionary_encode(),
            "side": pa.array(["buy", "sell", "sell", "buy", None, "buy"]).dictionary_encode(),
            "price": pa.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        }
    )
    put(client, name, table)
    for columns in (["side"], ["side", "venue"], ["venue", "ts", "side"], ["price", "side"]):
        info = client.get_flight_info(cmd({"dataset": name, "columns": columns}))
        got = pa.concat_tables([client.do_get(e.ticket).read_all() for e in info.endpoints])
        assert got.schema.names == columns
        for c in columns:
            expected = table.column(c)
            assert normalize(got.select([c])).column(0).to_pylist() == normalize(pa.table({c: expected})).column(0).to_pylist(), c
