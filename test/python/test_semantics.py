"""Dataset semantics beyond plain appends: primary-key replacement, `as_of`, `interval`."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flight_helpers import (
    BAR_FIELDS,
    NS_PER_DAY,
    NS_PER_HOUR,
    NS_PER_MIN,
    assert_same_rows,
    bars,
    cmd,
    concat,
    create,
    describe,
    expect_status,
    minutes,
    normalize,
    ns,
    put,
    read_flight,
    read_path,
    sort_rows,
    ticket_query,
)


def query_rows(client, query: dict) -> pa.Table:
    info, tables = read_flight(client, cmd(query))
    return concat(tables) if any(t.num_columns for t in tables) else normalize(info.schema.empty_table())


# ---------------------------------------------------------------- primary key


def test_later_put_replaces_rows_with_the_same_key(client, new_name):
    name = new_name("upsert")
    create(client, name, fields=BAR_FIELDS)
    first = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 10), seed=1)
    put(client, name, first)
    # 5 of AAPL's keys again with other values, plus 3 new AAPL rows
    second = bars(["AAPL"], minutes("2024-01-02T09:35:00Z", 8), seed=50)
    put(client, name, second)
    back = read_path(client, name)
    assert back.num_rows == 23, "readers never see two rows with one key"
    first_kept = first.filter(
        pc.invert(pc.and_(pc.equal(first["symbol"].cast(pa.utf8()), "AAPL"), pc.greater_equal(first["ts"], second["ts"][0])))
    )
    assert_same_rows(back, concat([first_kept, second]))
    d = describe(client, name)
    assert d["rows"] == 23 and d["version"] == 2


def test_duplicate_keys_in_one_stream_last_wins(client, new_name):
    name = new_name("dupkeys")
    create(client, name, fields=BAR_FIELDS)
    a = bars(["AAPL"], minutes("2024-01-02T09:30:00Z", 3), seed=1)
    b = bars(["AAPL"], minutes("2024-01-02T09:30:00Z", 3), seed=2)
    meta = put(client, name, [*a.to_batches(), *b.to_batches()], schema=a.schema)
    assert meta["version"] == 1
    back = read_path(client, name)
    assert_same_rows(back, b)
    assert describe(client, name)["rows"] == 3


# ---------------------------------------------------------------- as_of


def test_as_of_reads_committed_versions(client, new_name):
    name = new_name("asof")
    create(client, name, fields=BAR_FIELDS)
    v1 = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 5), seed=1)
    v2 = bars(["AAPL"], minutes("2024-01-02T09:32:00Z", 5), seed=2)  # replaces 3 AAPL rows
    assert put(client, name, v1)["version"] == 1
    assert put(client, name, v2)["version"] == 2
    assert query_rows(client, {"dataset": name, "as_of": 0}).num_rows == 0
    assert_same_rows(query_rows(client, {"dataset": name, "as_of": 1}), v1)
    assert_same_rows(ticket_query(client, {"dataset": name, "as_of": 1}), v1)
    now = read_path(client, name)
    assert_same_rows(query_rows(client, {"dataset": name, "as_of": 2}), now)
    assert now.num_rows == 12
    with expect_status("NOT_FOUND", "3"):
        client.get_flight_info(cmd({"dataset": name, "as_of": 3}))


# ---------------------------------------------------------------- interval


def expected_resample(table: pa.Table, bucket_ns) -> list[dict]:
    t = sort_rows(table)
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in t.to_pylist():
        t_ns = row["ts_ns"]
        groups[(row["symbol"], bucket_ns(t_ns))].append(row)
    out = []
    for (symbol, start), rows in sorted(groups.items()):
        out.append(
            {
                "symbol": symbol,
                "ts": start,
                "open": rows[0]["open"],
                "high": max(r["high"] for r in rows),
                "low": min(r["low"] for r in rows),
                "close": rows[-1]["close"],
                "volume": sum(r["volume"] for r in rows),
            }
        )
    return out


def with_ts_ns(table: pa.Table) -> pa.Table:
    return table.append_column("ts_ns", pc.cast(table["ts"], pa.int64()))


def as_rows(table: pa.Table) -> list[dict]:
    t = normalize(table)
    t = t.set_column(t.schema.get_field_index("ts"), "ts", pc.cast(t["ts"], pa.int64()))
    return t.to_pylist()


@pytest.mark.parametrize("route", ["flight_info", "ticket"])
def test_interval_1h(client, new_name, route):
    name = new_name("hourly")
    create(client, name, fields=BAR_FIELDS)
    data = bars(["MSFT", "AAPL"], minutes("2024-01-02T09:30:00Z", 150), seed=3)  # 09:30 .. 11:59
    put(client, name, data, max_chunksize=100)
    q = {"dataset": name, "interval": "1h"}
    got = query_rows(client, q) if route == "flight_info" else normalize(ticket_query(client, q))
    expected = expected_resample(with_ts_ns(data), lambda t: t - t % NS_PER_HOUR)
    assert len(expected) == 6
    assert as_rows(got) == expected


def test_interval_1w_starts_monday_and_1d_at_midnight_utc(client, new_name):
    name = new_name("weekly")
    create(client, name, fields=BAR_FIELDS)
    # Sunday 2024-01-07 23:58 .. Monday 2024-01-08 00:02
    data = bars(["AAPL"], minutes("2024-01-07T23:58:00Z", 5), seed=4)
    put(client, name, data)
    monday = ns("2024-01-01T00:00:00Z")
    weekly = as_rows(query_rows(client, {"dataset": name, "interval": "1w"}))
    assert [r["ts"] for r in weekly] == [monday, monday + 7 * NS_PER_DAY]
    assert weekly == expected_resample(with_ts_ns(data), lambda t: monday + (t - monday) // (7 * NS_PER_DAY) * 7 * NS_PER_DAY)
    daily = as_rows(query_rows(client, {"dataset": name, "interval": "1d"}))
    assert [r["ts"] for r in daily] == [ns("2024-01-07T00:00:00Z"), ns("2024-01-08T00:00:00Z")]
    assert [r["volume"] for r in daily] == [sum(data["volume"].to_pylist()[:2]), sum(data["volume"].to_pylist()[2:])]
    five = as_rows(query_rows(client, {"dataset": name, "interval": "5m"}))
    assert [r["ts"] for r in five] == [ns("2024-01-07T23:55:00Z"), ns("2024-01-08T00:00:00Z")]
    assert five == expected_resample(with_ts_ns(data), lambda t: t - t % (5 * NS_PER_MIN))


def test_interval_refused_without_ohlcv_columns(client, new_name):
    name = new_name("noohlcv")
    fields = [
        {"name": "sensor", "type": "utf8", "nullable": False},
        {"name": "ts", "type": "timestamp[ms, UTC]", "nullable": False},
        {"name": "reading", "type": "float64", "nullable": True},
    ]
    create(client, name, fields=fields, key_columns=["sensor"])
    with expect_status("INVALID_ARGUMENT", "interval"):
        client.get_flight_info(cmd({"dataset": name, "interval": "1h"}))
