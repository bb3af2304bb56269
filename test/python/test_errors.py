"""Bad input maps to the contract's gRPC statuses (as pyarrow exceptions), names the field or
value at fault, commits nothing, and leaves the server serving."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from flight_helpers import (
    BAR_FIELDS,
    NS_PER_S,
    action,
    assert_same_rows,
    bars,
    cmd,
    create,
    describe,
    expect_status,
    minutes,
    names,
    ns,
    put,
    read_path,
    sort_rows,
)

# ---------------------------------------------------------------- fixtures


@pytest.fixture
def filled(client, new_name):
    """A dataset at version 1 with 20 rows, and a check that it is still exactly that."""
    name = new_name("filled")
    create(client, name, fields=BAR_FIELDS)
    data = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 10))
    assert put(client, name, data)["version"] == 1

    def unchanged() -> None:
        d = describe(client, name)
        assert d["version"] == 1, f"a refused DoPut changed the version to {d['version']}"
        assert d["rows"] == 20, f"a refused DoPut changed the row count to {d['rows']}"
        assert_same_rows(read_path(client, name), data)
        assert action(client, "health", {})["status"] == "ok"

    return {"name": name, "data": data, "unchanged": unchanged}


def replace_column(table: pa.Table, name: str, array: pa.Array, field: pa.Field | None = None) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, field or pa.field(name, array.type), array)


# ---------------------------------------------------------------- NOT_FOUND


def test_unknown_dataset_everywhere(client, new_name):
    name = new_name("ghost")
    with expect_status("NOT_FOUND", name):
        client.get_flight_info(fl.FlightDescriptor.for_path(name))
    with expect_status("NOT_FOUND", name):
        client.get_flight_info(cmd({"dataset": name}))
    with expect_status("NOT_FOUND", name):
        client.get_schema(fl.FlightDescriptor.for_path(name))
    with expect_status("NOT_FOUND", name):
        client.do_get(fl.Ticket(json.dumps({"dataset": name}).encode())).read_all()
    with expect_status("NOT_FOUND", name):
        put(client, name, bars(["AAPL"], minutes("2024-01-02T00:00:00Z", 2)))
    with expect_status("NOT_FOUND", name):
        describe(client, name)


def test_unknown_version_is_not_found(client, filled):
    with expect_status("NOT_FOUND", "99"):
        client.get_flight_info(cmd({"dataset": filled["name"], "as_of": 99}))


# ---------------------------------------------------------------- INVALID_ARGUMENT: queries


def test_unknown_column(client, filled):
    q = {"dataset": filled["name"], "columns": ["symbol", "vwap"]}
    with expect_status("INVALID_ARGUMENT", "vwap"):
        client.get_flight_info(cmd(q))
    with expect_status("INVALID_ARGUMENT", "vwap"):
        client.get_schema(cmd(q))
    with expect_status("INVALID_ARGUMENT", "vwap"):
        client.do_get(fl.Ticket(json.dumps(q).encode())).read_all()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\x00\x01garbage", b"", b"[1,2]", b'"bars"'])
def test_malformed_ticket(client, raw):
    with expect_status("INVALID_ARGUMENT"):
        client.do_get(fl.Ticket(raw)).read_all()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\x00\x01garbage", b"", b"[1,2]", b"null"])
def test_malformed_cmd_descriptor(client, raw):
    with expect_status("INVALID_ARGUMENT"):
        client.get_flight_info(fl.FlightDescriptor.for_command(raw))
    with expect_status("INVALID_ARGUMENT"):
        client.get_schema(fl.FlightDescriptor.for_command(raw))


def test_malformed_path_descriptor(client, filled):
    with expect_status("INVALID_ARGUMENT"):
        client.get_flight_info(fl.FlightDescriptor.for_path(filled["name"], "extra"))
    with expect_status("INVALID_ARGUMENT"):
        client.get_flight_info(fl.FlightDescriptor.for_path())


@pytest.mark.parametrize("bad", ["../etc", "Bad-Name", "a/b", "x" * 80])
def test_bad_dataset_name_in_descriptor_never_reaches_disk(client, bad):
    with pytest.raises((pa.ArrowInvalid, pa.ArrowKeyError)) as info:
        client.get_flight_info(fl.FlightDescriptor.for_path(bad))
    text = str(info.value)
    assert "invalid argument error" in text or "not found error" in text, text


def test_unknown_query_field_is_named(client, filled):
    q = {"dataset": filled["name"], "symbol": ["AAPL"]}
    with expect_status("INVALID_ARGUMENT", "symbol"):
        client.get_flight_info(cmd(q))
    with expect_status("INVALID_ARGUMENT", "symbol"):
        client.do_get(fl.Ticket(json.dumps(q).encode())).read_all()


@pytest.mark.parametrize(
    "field,value",
    [
        ("limit", "ten"),
        ("limit", -1),
        ("start", "not a date"),
        ("end", "2024-13-45T00:00:00Z"),
        ("symbols", "AAPL"),
        ("columns", "close"),
        ("interval", "7m"),
    ],
)
def test_ill_typed_query_field_is_named(client, filled, field, value):
    with expect_status("INVALID_ARGUMENT", field):
        client.get_flight_info(cmd({"dataset": filled["name"], field: value}))


def test_query_without_dataset(client):
    with expect_status("INVALID_ARGUMENT", "dataset"):
        client.get_flight_info(cmd({"symbols": ["AAPL"]}))


# ---------------------------------------------------------------- DoPut refusals commit nothing


def test_put_wrong_type(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    wrong = replace_column(data, "volume", data["volume"].cast(pa.float64()))
    with expect_status("INVALID_ARGUMENT", "volume"):
        put(client, filled["name"], wrong)
    filled["unchanged"]()


def test_put_wrong_timestamp_unit(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5), unit="us")
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, filled["name"], data)
    filled["unchanged"]()


def test_put_missing_column(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5)).drop_columns(["volume"])
    with expect_status("INVALID_ARGUMENT", "volume"):
        put(client, filled["name"], data)
    filled["unchanged"]()


def test_put_extra_column(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    data = data.append_column("vwap", pa.array([1.0] * 5))
    with expect_status("INVALID_ARGUMENT", "vwap"):
        put(client, filled["name"], data)
    filled["unchanged"]()


def test_put_reordered_columns(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    data = data.select(["symbol", "ts", "close", "open", "high", "low", "volume"])
    with expect_status("INVALID_ARGUMENT"):
        put(client, filled["name"], data)
    filled["unchanged"]()


def test_put_non_utc_time_column(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    ny = data["ts"].cast(pa.timestamp("ns", tz="America/New_York"))
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, filled["name"], replace_column(data, "ts", ny))
    naive = data["ts"].cast(pa.int64()).cast(pa.timestamp("ns"))
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, filled["name"], replace_column(data, "ts", naive))
    filled["unchanged"]()


def test_first_put_without_utc_time_column_is_refused(client, new_name):
    name = new_name("schemaless")
    create(client, name)
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, name, data.drop_columns(["ts"]))
    with expect_status("INVALID_ARGUMENT", "symbol"):
        put(client, name, data.drop_columns(["symbol"]))
    naive = data["ts"].cast(pa.int64()).cast(pa.timestamp("ns"))
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, name, replace_column(data, "ts", naive))
    d = describe(client, name)
    assert d["version"] == 0 and d["schema"] == [] and d["rows"] == 0


def test_put_null_in_time_column(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    ts = pa.array([*data["ts"].to_pylist()[:4], None], data["ts"].type)
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, filled["name"], replace_column(data, "ts", ts, pa.field("ts", ts.type, nullable=True)))
    filled["unchanged"]()


def test_put_null_in_key_column(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 5))
    sym = pa.array(["AAPL", None, "AAPL", "AAPL", "AAPL"]).dictionary_encode()
    with expect_status("INVALID_ARGUMENT", "symbol"):
        put(client, filled["name"], replace_column(data, "symbol", sym))
    sym = pa.array(["AAPL", "AAPL", None, "AAPL", "AAPL"], pa.utf8())
    with expect_status("INVALID_ARGUMENT", "symbol"):
        put(client, filled["name"], replace_column(data, "symbol", sym))
    filled["unchanged"]()


def test_bad_batch_late_in_stream_commits_nothing(client, filled):
    good = bars(["AAPL", "MSFT", "GOOG"], minutes("2024-01-05T09:30:00Z", 40)).to_batches(max_chunksize=20)
    bad = bars(["IBM"], minutes("2024-01-06T09:30:00Z", 3))
    ts = pa.array([*bad["ts"].to_pylist()[:2], None], bad["ts"].type)
    bad = replace_column(bad, "ts", ts, pa.field("ts", ts.type, nullable=True))
    schema = bad.schema
    batches = [pa.RecordBatch.from_arrays(b.columns, schema=schema) for b in good] + bad.to_batches()
    assert len(batches) >= 4
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, filled["name"], batches, schema=schema)
    filled["unchanged"]()


def test_put_to_path_with_several_elements(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 2))
    writer, reader = client.do_put(fl.FlightDescriptor.for_path(filled["name"], "x"), data.schema)
    with expect_status("INVALID_ARGUMENT"):
        try:
            writer.write_table(data)
            writer.done_writing()
            reader.read()
        finally:
            writer.close()
    filled["unchanged"]()


def test_put_with_cmd_descriptor_is_refused(client, filled):
    data = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 2))
    writer, reader = client.do_put(cmd({"dataset": filled["name"]}), data.schema)
    with pytest.raises(pa.ArrowException):
        try:
            writer.write_table(data)
            writer.done_writing()
            reader.read()
        finally:
            writer.close()
    filled["unchanged"]()


# ---------------------------------------------------------------- time range with seconds unit

SECONDS_FIELDS = [
    {"name": "symbol", "type": "utf8", "nullable": False},
    {"name": "ts", "type": "timestamp[s, UTC]", "nullable": False},
    {"name": "close", "type": "float64", "nullable": True},
]


def seconds_table(isos: list[str]) -> pa.Table:
    return pa.table(
        {
            "symbol": pa.array(["AAPL"] * len(isos)),
            "ts": pa.array([ns(i) // NS_PER_S for i in isos], pa.timestamp("s", tz="UTC")),
            "close": pa.array([float(i) for i in range(len(isos))]),
        }
    )


@pytest.mark.parametrize("outside", ["1677-12-31T23:59:59Z", "2262-01-01T00:00:00Z", "1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_time_outside_range_refused(client, new_name, outside):
    name = new_name("range")
    create(client, name, fields=SECONDS_FIELDS, key_columns=["symbol"], partition="year")
    inside = seconds_table(["2024-01-02T00:00:00Z"])
    assert put(client, name, inside)["version"] == 1
    with expect_status("INVALID_ARGUMENT") as info:
        put(client, name, seconds_table(["2024-01-03T00:00:00Z", outside]))
    text = str(info.value)
    assert names(text, "ts") or outside[:4] in text, f"message should name the column or value: {text}"
    d = describe(client, name)
    assert d["version"] == 1 and d["rows"] == 1
    assert read_path(client, name).num_rows == 1


def test_time_range_edges_accepted(client, new_name):
    name = new_name("edges")
    create(client, name, fields=SECONDS_FIELDS, key_columns=["symbol"], partition="year")
    data = seconds_table(["1678-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2261-12-31T23:59:59Z"])
    meta = put(client, name, data)
    assert meta["rows"] == 3
    assert sorted(meta["partitions"]) == ["year=1678", "year=1969", "year=2261"]
    back = read_path(client, name)
    assert back.schema.field("ts").type == pa.timestamp("s", tz="UTC")
    assert_same_rows(back, data)


# ---------------------------------------------------------------- ALREADY_EXISTS and survival


def test_already_exists_names_dataset(client, filled):
    with expect_status("ALREADY_EXISTS", filled["name"]):
        create(client, filled["name"], fields=BAR_FIELDS)
    filled["unchanged"]()


def test_server_serves_after_many_errors(client, filled):
    for raw in (b"{", b"\x00" * 10, b'{"dataset": 5}', b'{"dataset": "nope_nope"}'):
        with pytest.raises(pa.ArrowException):
            client.do_get(fl.Ticket(raw)).read_all()
    filled["unchanged"]()
    assert sort_rows(read_path(client, filled["name"])).num_rows == 20
