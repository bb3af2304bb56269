"""DoPut from pyarrow, then ListFlights / GetFlightInfo / GetSchema / DoGet read back exactly
the rows put, each stream ordered by key then time."""

from __future__ import annotations

import signal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import (
    BAR_FIELDS,
    NS_PER_S,
    assert_same_rows,
    bars,
    cmd,
    concat,
    create,
    describe,
    is_sorted_by,
    minutes,
    normalize,
    ns,
    plain_type,
    put,
    read_flight,
    read_path,
)

SYMBOLS = ["MSFT", "AAPL", "GOOG"]


def assert_schema_is_bars(schema: pa.Schema, unit: str = "ns") -> None:
    assert schema.names == ["symbol", "ts", "open", "high", "low", "close", "volume"]
    assert plain_type(schema.field("symbol").type) == pa.utf8()
    assert schema.field("ts").type == pa.timestamp(unit, tz="UTC")
    for col in ("open", "high", "low", "close"):
        assert schema.field(col).type == pa.float64()
    assert schema.field("volume").type == pa.int64()


def assert_endpoints_read_back(client, descriptor, expected: pa.Table, unit: str = "ns") -> fl.FlightInfo:
    """Every endpoint's stream is sorted by key then time, matches the info's schema, endpoints
    come in time order, `ordered` is truthful, and together they hold exactly `expected`."""
    info, tables = read_flight(client, descriptor)
    assert_schema_is_bars(info.schema, unit)
    for i, t in enumerate(tables):
        assert [(f.name, plain_type(f.type)) for f in t.schema] == [
            (f.name, plain_type(f.type)) for f in info.schema
        ], f"endpoint {i} stream schema differs from FlightInfo.schema"
        assert is_sorted_by(t), f"endpoint {i} stream is not ordered by symbol then ts"
    non_empty = [t for t in tables if t.num_rows]
    starts = [pc.min(t["ts"]).value for t in non_empty]
    assert starts == sorted(starts), "endpoints are not listed in time order"
    whole = concat(tables)
    if info.ordered:
        assert is_sorted_by(whole), "ordered=true but the endpoints read in order are not sorted by key then time"
    assert_same_rows(whole, expected)
    return info


@pytest.fixture(scope="module")
def market(server):
    """A dataset created with fields and filled by three DoPuts over three days."""
    client = fl.connect(server["location"])
    name = "market_put_read"
    create(client, name, fields=BAR_FIELDS)
    day1 = minutes("2024-01-02T09:30:00Z", 30)
    day2 = minutes("2024-01-03T14:00:00Z", 20)
    day3 = minutes("2024-01-04T23:50:00Z", 20)  # runs past midnight into 2024-01-05
    puts = []
    # put 1: two dictionary batches with different dictionaries in one stream
    first = bars(["MSFT", "AAPL"], day1, seed=1)
    second = bars(["GOOG", "AAPL"], day1[:10], seed=2)
    second = second.set_column(1, "ts", pc.add(second["ts"], pa.scalar(30, pa.duration("s"))))
    batches = first.to_batches() + second.to_batches()
    puts.append((batches, first.schema))
    # put 2: plain utf8 symbols, several batches
    puts.append((bars(SYMBOLS, day2, dictionary=False, seed=3).to_batches(max_chunksize=7), None))
    # put 3: crosses a day boundary
    puts.append((bars(SYMBOLS, day3, seed=4).to_batches(max_chunksize=16), None))
    results = [put(client, name, b, schema=s) for b, s in puts]
    expected = concat(pa.Table.from_batches(b) for b, _ in puts)
    client.close()
    return {"name": name, "results": results, "expected": expected, "puts": puts}


def test_put_result_metadata(market):
    r1, r2, r3 = market["results"]
    assert r1 == {"rows": 80, "version": 1, "partitions": ["date=2024-01-02"]}
    assert r2 == {"rows": 60, "version": 2, "partitions": ["date=2024-01-03"]}
    assert set(r3) == {"rows", "version", "partitions"}
    assert r3["rows"] == 60 and r3["version"] == 3
    assert sorted(r3["partitions"]) == ["date=2024-01-04", "date=2024-01-05"]
    assert len(r3["partitions"]) == 2


def test_describe_counts_every_put(client, market):
    d = describe(client, market["name"])
    assert d["version"] == 3
    assert d["rows"] == 200
    keys = sorted(p["key"] for p in d["partitions"])
    assert keys == ["date=2024-01-02", "date=2024-01-03", "date=2024-01-04", "date=2024-01-05"]


def test_list_flights_shows_dataset(client, market):
    infos = [i for i in client.list_flights() if list(i.descriptor.path or []) == [market["name"].encode()]]
    assert len(infos) == 1, "ListFlights should list the dataset exactly once with a PATH descriptor"
    info = infos[0]
    assert info.descriptor.descriptor_type == fl.DescriptorType.PATH
    assert info.total_records == 200
    assert_schema_is_bars(info.schema)


def test_get_flight_info_path_reads_every_row(client, market):
    info = assert_endpoints_read_back(client, fl.FlightDescriptor.for_path(market["name"]), market["expected"])
    assert info.total_records == 200
    assert list(info.descriptor.path) == [market["name"].encode()]


def test_get_flight_info_cmd_reads_every_row(client, market):
    info = assert_endpoints_read_back(client, cmd({"dataset": market["name"]}), market["expected"])
    assert info.total_records == 200


def test_get_schema_path(client, market):
    assert_schema_is_bars(client.get_schema(fl.FlightDescriptor.for_path(market["name"])).schema)


def test_dictionary_and_utf8_symbols_read_back_with_dataset_type(client, market):
    info, tables = read_flight(client, fl.FlightDescriptor.for_path(market["name"]))
    for t in tables:
        assert pa.types.is_dictionary(t.schema.field("symbol").type), "dataset declared dictionary<utf8>"


def test_one_stream_is_one_version(client, new_name):
    name = new_name("atomic")
    create(client, name, fields=BAR_FIELDS)
    data = bars(SYMBOLS, minutes("2024-02-01T00:00:00Z", 50))
    meta = put(client, name, data, max_chunksize=10)
    assert meta["version"] == 1 and meta["rows"] == 150
    meta = put(client, name, bars(["IBM"], minutes("2024-02-01T00:00:00Z", 5)))
    assert meta["version"] == 2 and meta["rows"] == 5
    d = describe(client, name)
    assert d["version"] == 2 and d["rows"] == 155


def test_microsecond_dataset_round_trip(client, new_name):
    name = new_name("micro")
    create(client, name)
    times = [t + 7_000 for t in minutes("2024-03-10T22:00:00Z", 180)]  # whole microseconds
    data = bars(["AAPL", "MSFT"], times, dictionary=False, unit="us")
    meta = put(client, name, data, max_chunksize=100)
    assert meta["rows"] == 360 and meta["version"] == 1
    assert sorted(meta["partitions"]) == ["date=2024-03-10", "date=2024-03-11"]
    assert_endpoints_read_back(client, fl.FlightDescriptor.for_path(name), data, unit="us")
    flights = [i for i in client.list_flights() if list(i.descriptor.path or []) == [name.encode()]]
    assert flights and flights[0].total_records == 360


def test_ordered_flag_single_key(client, new_name):
    """With one symbol, endpoints in time order do yield the whole result in key/time order."""
    name = new_name("onekey")
    create(client, name, fields=BAR_FIELDS)
    for day in ("2024-01-02", "2024-01-03", "2024-01-04"):
        put(client, name, bars(["AAPL"], minutes(f"{day}T10:00:00Z", 10)))
    info, tables = read_flight(client, fl.FlightDescriptor.for_path(name))
    whole = concat(tables)
    assert whole.num_rows == 30
    assert is_sorted_by(whole), "one key, endpoints in time order: the concatenation must be in time order"


def test_large_batch_accepted(client, new_name):
    """pyarrow sends one FlightData per batch: a ~30 MiB batch must be accepted and read back."""
    name = new_name("large")
    create(client, name, fields=BAR_FIELDS)
    per_symbol = 60_000
    symbols = [f"S{i:02d}" for i in range(10)]
    n = per_symbol * len(symbols)
    idx = pa.array(range(n), pa.int64())
    start = ns("2024-05-06T00:00:00Z") // NS_PER_S
    ts_s = pc.add(pc.divide(idx, len(symbols)), start)  # integer division on int64
    ts = pc.multiply(ts_s, NS_PER_S).cast(pa.timestamp("ns", tz="UTC"))
    slot = pc.subtract(idx, pc.multiply(pc.divide(idx, len(symbols)), len(symbols)))
    sym = pa.DictionaryArray.from_arrays(slot.cast(pa.int32()), pa.array(symbols))
    price = pc.add(pc.divide(pc.cast(pc.bit_wise_and(idx, 1023), pa.float64()), 8.0), 100.0)
    table = pa.table(
        {
            "symbol": sym,
            "ts": ts,
            "open": price,
            "high": pc.add(price, 1.0),
            "low": pc.subtract(price, 1.0),
            "close": pc.add(price, 0.5),
            "volume": idx,
        }
    )
    batch = table.combine_chunks().to_batches()[0]
    assert batch.num_rows == n
    size = batch.nbytes
    assert 20 * 2**20 <= size <= 40 * 2**20, f"test batch is {size} bytes"
    meta = put(client, name, [batch], schema=table.schema)
    assert meta["rows"] == n and meta["version"] == 1
    assert meta["partitions"] == ["date=2024-05-06"]
    back = read_path(client, name)
    assert back.num_rows == n
    assert pc.sum(back["volume"]).as_py() == n * (n - 1) // 2
    assert_same_rows(back, table)


def test_committed_data_survives_kill_and_restart(scratch_dir, new_name):
    """A crash at any moment leaves the last committed version readable and complete."""
    name = new_name("durable")
    first = start_server(scratch_dir)
    try:
        c = fl.connect(first.location)
        create(c, name, fields=BAR_FIELDS)
        a = bars(SYMBOLS, minutes("2024-01-02T09:30:00Z", 10))
        b = bars(SYMBOLS, minutes("2024-01-03T09:30:00Z", 10), dictionary=False, seed=5)
        put(c, name, a)
        put(c, name, b)
        c.close()
    finally:
        crash = first.crashed()
        first.stop(signal.SIGKILL)
    assert crash is None, crash
    second = start_server(scratch_dir)
    try:
        c = fl.connect(second.location)
        d = describe(c, name)
        assert d["version"] == 2 and d["rows"] == 60
        assert_same_rows(read_path(c, name), concat([a, b]))
        assert put(c, name, bars(["IBM"], minutes("2024-01-04T09:30:00Z", 3)))["version"] == 3
        c.close()
        assert second.crashed() is None, second.crashed()
    finally:
        second.stop()


def test_normalize_helper_is_strict():
    """Guards the comparison helper itself: a changed value must make tables unequal."""
    a = bars(["AAPL"], minutes("2024-01-02T00:00:00Z", 3))
    b = a.set_column(6, "volume", pa.array([1, 2, 3], pa.int64()))
    assert not normalize(a).equals(normalize(b))
