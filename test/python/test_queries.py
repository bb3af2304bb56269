"""Query JSON (as a CMD descriptor and directly as a DoGet ticket): symbols, start/end at exact
boundaries, column projection, limit."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from flight_helpers import (
    BAR_FIELDS,
    bars,
    cmd,
    concat,
    create,
    is_sorted_by,
    normalize,
    ns,
    put,
    read_flight,
    sort_rows,
    ticket_query,
)

TIMES = [
    "2024-01-02T00:00:00Z",
    "2024-01-02T12:00:00Z",
    "2024-01-02T23:59:59.999999999Z",
    "2024-01-03T00:00:00Z",
    "2024-01-03T00:00:00.000000001Z",
    "2024-01-03T09:30:00Z",
    "2024-01-03T23:59:59Z",
    "2024-01-04T00:00:00Z",
]
SYMBOLS = ["MSFT", "AAPL", "GOOG"]


@pytest.fixture(scope="module")
def ds(server):
    client = fl.connect(server["location"])
    name = "query_bars"
    create(client, name, fields=BAR_FIELDS)
    data = bars(SYMBOLS, [ns(t) for t in TIMES])
    put(client, name, data.slice(0, 12))
    put(client, name, data.slice(12))
    client.close()
    return {"name": name, "all": sort_rows(data)}


def run(client, query: dict, route: str) -> pa.Table:
    """The query's rows, through GetFlightInfo + every endpoint, or as a DoGet ticket."""
    if route == "flight_info":
        info, tables = read_flight(client, cmd(query))
        for t in tables:
            assert is_sorted_by(t, [c for c in ("symbol", "ts") if c in t.column_names])
        return concat(tables) if any(t.num_columns for t in tables) else normalize(info.schema.empty_table())
    table = client.do_get(fl.Ticket(json.dumps(query).encode())).read_all()
    assert is_sorted_by(table, [c for c in ("symbol", "ts") if c in table.column_names])
    return normalize(table)


def expected_rows(ds, *, symbols=None, start=None, end=None) -> pa.Table:
    t = ds["all"]
    ts = pc.cast(t["ts"], pa.int64())
    mask = pa.array([True] * t.num_rows)
    if symbols is not None:
        mask = pc.and_(mask, pc.is_in(t["symbol"], pa.array(symbols)))
    if start is not None:
        mask = pc.and_(mask, pc.greater_equal(ts, start))
    if end is not None:
        mask = pc.and_(mask, pc.less(ts, end))
    return t.filter(mask)


def assert_rows(actual: pa.Table, expected: pa.Table) -> None:
    """Same rows in the same key/time order."""
    a = normalize(actual)
    assert a.num_rows == expected.num_rows, f"{a.num_rows} rows, expected {expected.num_rows}"
    assert a.equals(expected.select(a.column_names)), f"rows differ:\n{a.to_pylist()[:5]}\nexpected:\n{expected.to_pylist()[:5]}"


ROUTES = ["flight_info", "ticket"]


@pytest.mark.parametrize("route", ROUTES)
def test_whole_dataset(client, ds, route):
    assert_rows(sort_rows(run(client, {"dataset": ds["name"]}, route)), ds["all"])


@pytest.mark.parametrize("route", ROUTES)
def test_symbols_filter(client, ds, route):
    got = run(client, {"dataset": ds["name"], "symbols": ["MSFT"]}, route)
    assert set(got["symbol"].to_pylist()) == {"MSFT"}
    assert_rows(got, expected_rows(ds, symbols=["MSFT"]))
    got = run(client, {"dataset": ds["name"], "symbols": ["MSFT", "AAPL"]}, route)
    assert_rows(sort_rows(got), expected_rows(ds, symbols=["MSFT", "AAPL"]))


@pytest.mark.parametrize("route", ROUTES)
def test_symbols_filter_no_match_is_empty_not_error(client, ds, route):
    got = run(client, {"dataset": ds["name"], "symbols": ["NOPE"]}, route)
    assert got.num_rows == 0


@pytest.mark.parametrize("route", ROUTES)
def test_start_inclusive_end_exclusive_iso(client, ds, route):
    q = {"dataset": ds["name"], "start": "2024-01-03T00:00:00Z", "end": "2024-01-04T00:00:00Z"}
    got = sort_rows(run(client, q, route))
    exp = expected_rows(ds, start=ns("2024-01-03T00:00:00Z"), end=ns("2024-01-04T00:00:00Z"))
    assert exp.num_rows == 12  # 00:00, 00:00.000000001, 09:30, 23:59:59 for three symbols
    assert_rows(got, exp)


@pytest.mark.parametrize("route", ROUTES)
def test_start_inclusive_end_exclusive_epoch_ns(client, ds, route):
    start, end = ns("2024-01-02T12:00:00Z"), ns("2024-01-03T00:00:00.000000001Z")
    got = sort_rows(run(client, {"dataset": ds["name"], "start": start, "end": end}, route))
    exp = expected_rows(ds, start=start, end=end)
    assert exp.num_rows == 9  # 12:00, 23:59:59.999999999, 00:00
    assert_rows(got, exp)


@pytest.mark.parametrize("route", ROUTES)
def test_nanosecond_boundaries_epoch_ns(client, ds, route):
    start, end = ns("2024-01-02T23:59:59.999999999Z"), ns("2024-01-03T00:00:00.000000001Z")
    got = sort_rows(run(client, {"dataset": ds["name"], "start": start, "end": end}, route))
    exp = expected_rows(ds, start=start, end=end)
    assert exp.num_rows == 6
    assert_rows(got, exp)


@pytest.mark.parametrize("route", ROUTES)
def test_nanosecond_boundaries_iso(client, ds, route):
    q = {"dataset": ds["name"], "start": "2024-01-02T23:59:59.999999999Z", "end": "2024-01-03T00:00:00.000000001Z"}
    got = sort_rows(run(client, q, route))
    exp = expected_rows(ds, start=ns(q["start"]), end=ns(q["end"]))
    assert exp.num_rows == 6
    assert_rows(got, exp)


@pytest.mark.parametrize("route", ROUTES)
def test_only_start_or_only_end(client, ds, route):
    start = ns("2024-01-03T09:30:00Z")
    got = sort_rows(run(client, {"dataset": ds["name"], "start": "2024-01-03T09:30:00Z"}, route))
    assert_rows(got, expected_rows(ds, start=start))
    got = sort_rows(run(client, {"dataset": ds["name"], "end": start}, route))
    assert_rows(got, expected_rows(ds, end=start))


@pytest.mark.parametrize("route", ROUTES)
def test_empty_range(client, ds, route):
    t = "2024-01-03T00:00:00Z"
    assert run(client, {"dataset": ds["name"], "start": t, "end": t}, route).num_rows == 0
    q = {"dataset": ds["name"], "start": "2030-01-01T00:00:00Z"}
    assert run(client, q, route).num_rows == 0


@pytest.mark.parametrize("route", ROUTES)
def test_columns_projection(client, ds, route):
    cols = ["symbol", "ts", "close"]
    got = run(client, {"dataset": ds["name"], "columns": cols}, route)
    assert got.column_names == cols
    assert_rows(sort_rows(got), ds["all"].select(cols))


@pytest.mark.parametrize("route", ROUTES)
def test_columns_projection_keeps_requested_order(client, ds, route):
    cols = ["close", "volume", "symbol", "ts"]
    got = run(client, {"dataset": ds["name"], "columns": cols}, route)
    assert got.column_names == cols


def test_projected_schema_from_get_schema_and_flight_info(client, ds):
    q = {"dataset": ds["name"], "columns": ["ts", "volume", "symbol"]}
    schema = client.get_schema(cmd(q)).schema
    assert schema.names == ["ts", "volume", "symbol"]
    assert schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert schema.field("volume").type == pa.int64()
    assert pa.types.is_dictionary(schema.field("symbol").type)
    info = client.get_flight_info(cmd(q))
    assert info.schema.names == schema.names
    assert [f.type for f in info.schema] == [f.type for f in schema]
    stream = client.do_get(info.endpoints[0].ticket)
    assert stream.schema.names == schema.names


@pytest.mark.parametrize("route", ROUTES)
def test_limit_first_rows_in_key_time_order(client, ds, route):
    got = run(client, {"dataset": ds["name"], "limit": 5}, route)
    assert_rows(got, ds["all"].slice(0, 5))


def test_limit_query_has_one_endpoint(client, ds):
    info = client.get_flight_info(cmd({"dataset": ds["name"], "limit": 5}))
    assert len(info.endpoints) == 1
    info = client.get_flight_info(cmd({"dataset": ds["name"], "limit": 10_000}))
    assert len(info.endpoints) == 1


@pytest.mark.parametrize("route", ROUTES)
def test_limit_larger_than_result(client, ds, route):
    got = run(client, {"dataset": ds["name"], "limit": 10_000}, route)
    assert_rows(got, ds["all"])


@pytest.mark.parametrize("route", ROUTES)
def test_combined_query(client, ds, route):
    q = {
        "dataset": ds["name"],
        "symbols": ["GOOG", "MSFT"],
        "start": "2024-01-02T12:00:00Z",
        "end": ns("2024-01-03T23:59:59Z"),
        "columns": ["symbol", "ts", "close"],
        "limit": 7,
    }
    got = run(client, q, route)
    exp = expected_rows(ds, symbols=["GOOG", "MSFT"], start=ns("2024-01-02T12:00:00Z"), end=ns("2024-01-03T23:59:59Z"))
    assert exp.num_rows == 10
    assert got.column_names == ["symbol", "ts", "close"]
    assert_rows(got, exp.select(["symbol", "ts", "close"]).slice(0, 7))


def test_ticket_query_equals_flight_info_tickets(client, ds):
    q = {"dataset": ds["name"], "symbols": ["AAPL"], "start": "2024-01-02T12:00:00Z"}
    direct = normalize(ticket_query(client, q))
    info, tables = read_flight(client, cmd(q))
    assert sort_rows(concat(tables)).equals(sort_rows(direct))
    assert direct.num_rows == 7


@pytest.fixture(scope="module")
def wide(server):
    """120 symbols over three days, put as two halves whose minutes interleave (even, then odd), so
    every day partition holds two files of many symbols whose rows interleave: reads must merge them,
    and a symbol query reads its runs from the IPC tier."""
    client = fl.connect(server["location"])
    name = "query_wide"
    create(client, name, fields=BAR_FIELDS)
    start = ns("2024-02-05T00:00:00Z")
    times = [start + m * 60_000_000_000 for m in range(0, 3 * 1440, 5)]
    data = bars([f"W{i:03d}" for i in range(120)], times, seed=7)
    minute = pc.divide(pc.subtract(pc.cast(data["ts"], pa.int64()), start), 5 * 60_000_000_000)
    even = pc.equal(pc.bit_wise_and(minute, 1), 0)
    put(client, name, data.filter(even))
    put(client, name, data.filter(pc.invert(even)))
    client.close()
    return {"name": name, "all": sort_rows(data)}


@pytest.mark.parametrize("route", ROUTES)
def test_interleaving_files_of_many_symbols_read_in_order(client, wide, route):
    assert_rows(run(client, {"dataset": wide["name"]}, route), wide["all"])


@pytest.mark.parametrize("route", ROUTES)
def test_a_few_symbols_of_many_with_a_time_window(client, wide, route):
    symbols = ["W077", "W003", "W119"]
    start, end = ns("2024-02-05T18:00:00Z"), ns("2024-02-07T06:00:00Z")
    q = {"dataset": wide["name"], "symbols": symbols, "start": "2024-02-05T18:00:00Z", "end": "2024-02-07T06:00:00Z"}
    expected = expected_rows(wide, symbols=symbols, start=start, end=end)
    assert expected.num_rows > 0
    assert_rows(run(client, q, route), expected)
