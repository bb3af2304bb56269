"""Actions: create_dataset, describe_dataset, health, ListActions, Handshake with auth off."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from flight_helpers import (
    BAR_FIELDS,
    action,
    bars,
    create,
    describe,
    expect_status,
    minutes,
    names,
    ns,
    put,
    read_flight,
)

DESCRIPTION_KEYS = {
    "name",
    "schema",
    "time_column",
    "key_columns",
    "partition",
    "version",
    "rows",
    "bytes",
    "partitions",
}
PARTITION_KEYS = {"key", "files", "rows", "bytes", "min_time", "max_time"}


def assert_description_shape(d: dict) -> None:
    missing = DESCRIPTION_KEYS - set(d)
    assert not missing, f"description lacks {sorted(missing)}: {d}"
    assert isinstance(d["schema"], list)
    for f in d["schema"]:
        assert {"name", "type", "nullable"} <= set(f), f
        assert isinstance(f["nullable"], bool)
    assert isinstance(d["version"], int)
    assert isinstance(d["rows"], int)
    assert isinstance(d["bytes"], int)
    assert isinstance(d["partitions"], list)
    for p in d["partitions"]:
        missing = PARTITION_KEYS - set(p)
        assert not missing, f"partition entry lacks {sorted(missing)}: {p}"


def test_health(client):
    result = action(client, "health", {})
    assert result["status"] == "ok"


def test_list_actions_names_the_actions(client):
    types = {a.type for a in client.list_actions()}
    expected = {"create_dataset", "describe_dataset", "health"}
    assert expected <= types, f"missing actions: {sorted(expected - types)}"


def test_handshake_with_auth_off_returns_bearer_token(client):
    header, value = client.authenticate_basic_token("anyone", "anything")
    assert header.lower() == b"authorization"
    assert value.startswith(b"Bearer ")
    options = fl.FlightCallOptions(headers=[(header, value)])
    assert action_with(client, options, "health", {})["status"] == "ok"


def action_with(client, options, kind, body):
    results = list(client.do_action(fl.Action(kind, json.dumps(body).encode()), options))
    return json.loads(results[0].body.to_pybytes())


def test_create_dataset_with_fields(client, new_name):
    name = new_name("created")
    created = create(client, name, fields=BAR_FIELDS, partition="hour")
    assert_description_shape(created)
    assert created["name"] == name
    assert created["version"] == 0
    assert created["rows"] == 0
    assert created["partitions"] == []
    assert created["time_column"] == "ts"
    assert created["key_columns"] == ["symbol"]
    assert created["partition"] == "hour"
    assert created["schema"] == BAR_FIELDS

    d = describe(client, name)
    assert d["schema"] == BAR_FIELDS
    assert d["version"] == 0 and d["rows"] == 0 and d["partitions"] == []

    schema = client.get_schema(fl.FlightDescriptor.for_path(name)).schema
    assert schema.names == [f["name"] for f in BAR_FIELDS]
    assert pa.types.is_dictionary(schema.field("symbol").type)
    assert schema.field("symbol").type.value_type == pa.utf8()
    assert schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    for col in ("open", "high", "low", "close"):
        assert schema.field(col).type == pa.float64()
    assert schema.field("volume").type == pa.int64()

    info, tables = read_flight(client, fl.FlightDescriptor.for_path(name))
    assert info.total_records == 0
    assert sum(t.num_rows for t in tables) == 0


def test_create_dataset_default_partition_is_day(client, new_name):
    name = new_name("defpart")
    created = action(client, "create_dataset", {"name": name, "time_column": "ts", "key_columns": ["symbol"]})
    assert created["partition"] == "day"
    assert describe(client, name)["partition"] == "day"


def test_create_dataset_all_field_types(client, new_name):
    name = new_name("types")
    fields = [
        {"name": "ts", "type": "timestamp[ms, UTC]", "nullable": False},
        {"name": "k", "type": "utf8", "nullable": False},
        {"name": "b", "type": "bool", "nullable": True},
        {"name": "i32", "type": "int32", "nullable": True},
        {"name": "i64", "type": "int64", "nullable": True},
        {"name": "f32", "type": "float32", "nullable": True},
        {"name": "f64", "type": "float64", "nullable": True},
        {"name": "d", "type": "date32", "nullable": True},
        {"name": "t_s", "type": "timestamp[s, UTC]", "nullable": True},
        {"name": "t_us", "type": "timestamp[us, UTC]", "nullable": True},
    ]
    created = action(
        client,
        "create_dataset",
        {"name": name, "time_column": "ts", "key_columns": ["k"], "partition": "month", "fields": fields},
    )
    assert created["schema"] == fields
    schema = client.get_schema(fl.FlightDescriptor.for_path(name)).schema
    expected = [
        pa.timestamp("ms", tz="UTC"),
        pa.utf8(),
        pa.bool_(),
        pa.int32(),
        pa.int64(),
        pa.float32(),
        pa.float64(),
        pa.date32(),
        pa.timestamp("s", tz="UTC"),
        pa.timestamp("us", tz="UTC"),
    ]
    assert [f.type for f in schema] == expected


def test_create_dataset_without_fields_reads_empty_until_first_put(client, new_name):
    name = new_name("nofields")
    created = create(client, name)
    assert created["schema"] == []
    assert created["version"] == 0

    info, tables = read_flight(client, fl.FlightDescriptor.for_path(name))
    assert len(info.schema) == 0, f"expected an empty schema before the first DoPut, got {info.schema}"
    assert info.total_records == 0
    assert sum(t.num_rows for t in tables) == 0

    # the first DoPut fixes the schema: utf8 symbol, microsecond timestamps
    data = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 3), dictionary=False, unit="us")
    meta = put(client, name, data)
    assert meta["version"] == 1
    d = describe(client, name)
    assert [(f["name"], f["type"]) for f in d["schema"]] == [
        ("symbol", "utf8"),
        ("ts", "timestamp[us, UTC]"),
        ("open", "float64"),
        ("high", "float64"),
        ("low", "float64"),
        ("close", "float64"),
        ("volume", "int64"),
    ]
    schema = client.get_schema(fl.FlightDescriptor.for_path(name)).schema
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")

    # ... after which another timestamp unit is refused, naming the column
    other_unit = bars(["AAPL"], minutes("2024-01-03T09:30:00Z", 2), dictionary=False, unit="ns")
    with expect_status("INVALID_ARGUMENT", "ts"):
        put(client, name, other_unit)
    # ... while Dictionary<Utf8> counts as Utf8
    as_dict = bars(["GOOG"], minutes("2024-01-03T09:30:00Z", 2), dictionary=True, unit="us")
    assert put(client, name, as_dict)["version"] == 2
    assert describe(client, name)["rows"] == 8


def test_describe_dataset_after_puts(client, new_name):
    name = new_name("described")
    create(client, name, fields=BAR_FIELDS)
    day1 = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 4))
    day2 = bars(["AAPL"], minutes("2024-01-03T15:00:00Z", 3))
    put(client, name, day1)
    put(client, name, day2)
    d = describe(client, name)
    assert_description_shape(d)
    assert d["name"] == name
    assert d["version"] == 2
    assert d["rows"] == 11
    assert d["bytes"] > 0
    assert d["time_column"] == "ts" and d["key_columns"] == ["symbol"] and d["partition"] == "day"
    by_key = {p["key"]: p for p in d["partitions"]}
    assert set(by_key) == {"date=2024-01-02", "date=2024-01-03"}
    assert by_key["date=2024-01-02"]["rows"] == 8
    assert by_key["date=2024-01-03"]["rows"] == 3
    assert sum(p["rows"] for p in d["partitions"]) == d["rows"]
    assert sum(p["bytes"] for p in d["partitions"]) == d["bytes"]
    for p in d["partitions"]:
        assert p["files"] >= 1 and p["bytes"] > 0
    assert ns(by_key["date=2024-01-02"]["min_time"]) == ns("2024-01-02T09:30:00Z")
    assert ns(by_key["date=2024-01-02"]["max_time"]) == ns("2024-01-02T09:33:00Z")
    assert ns(by_key["date=2024-01-03"]["min_time"]) == ns("2024-01-03T15:00:00Z")
    assert ns(by_key["date=2024-01-03"]["max_time"]) == ns("2024-01-03T15:02:00Z")


def test_create_dataset_twice_is_already_exists(client, new_name):
    name = new_name("dup")
    create(client, name, fields=BAR_FIELDS)
    with expect_status("ALREADY_EXISTS", name):
        create(client, name, fields=BAR_FIELDS)
    assert describe(client, name)["version"] == 0


@pytest.mark.parametrize(
    "bad",
    ["Upper", "1starts_with_digit", "has-dash", "has space", "_leading", "a" * 64, "", "../escape", "a/b"],
)
def test_create_dataset_bad_name(client, bad):
    with expect_status("INVALID_ARGUMENT") as info:
        create(client, bad, fields=BAR_FIELDS)
    text = str(info.value)
    assert names(text, "name") or (bad and bad in text), f"message should name the field or value: {text}"


def test_create_dataset_longest_valid_name(client, new_name):
    name = (new_name("l") + "x" * 63)[:63]
    assert create(client, name, fields=BAR_FIELDS)["name"] == name


def test_describe_unknown_dataset_is_not_found(client, new_name):
    name = new_name("missing")
    with expect_status("NOT_FOUND", name):
        describe(client, name)


def test_unknown_field_in_action_body_is_named(client, new_name):
    with expect_status("INVALID_ARGUMENT", "colour"):
        action(
            client,
            "create_dataset",
            {"name": new_name("x"), "time_column": "ts", "key_columns": ["symbol"], "colour": "red"},
        )
    with expect_status("INVALID_ARGUMENT", "verbose"):
        action(client, "describe_dataset", {"name": new_name("x"), "verbose": True})


def test_create_dataset_bad_partition_kind(client, new_name):
    with expect_status("INVALID_ARGUMENT") as info:
        create(client, new_name("p"), fields=BAR_FIELDS, partition="week")
    assert "partition" in str(info.value) or "week" in str(info.value)


def test_create_dataset_time_column_must_be_utc_timestamp(client, new_name):
    for ts_type in ("int64", "timestamp[ns]", "date32"):
        fields = [dict(f) for f in BAR_FIELDS]
        fields[1]["type"] = ts_type
        with expect_status("INVALID_ARGUMENT") as info:
            create(client, new_name("badts"), fields=fields)
        text = str(info.value)
        assert names(text, "ts") or ts_type in text, f"message should name the column or its type: {text}"


def test_create_dataset_columns_must_exist_in_fields(client, new_name):
    fields = [f for f in BAR_FIELDS if f["name"] != "symbol"]
    with expect_status("INVALID_ARGUMENT", "symbol"):
        create(client, new_name("nokey"), fields=fields)
    fields = [f for f in BAR_FIELDS if f["name"] != "ts"]
    with expect_status("INVALID_ARGUMENT", "ts"):
        create(client, new_name("notime"), fields=fields)


def test_create_dataset_unknown_field_type(client, new_name):
    fields = [dict(f) for f in BAR_FIELDS]
    fields[2]["type"] = "decimal128"
    with expect_status("INVALID_ARGUMENT", "decimal128"):
        create(client, new_name("badtype"), fields=fields)


def test_action_body_malformed_json(client):
    with expect_status("INVALID_ARGUMENT"):
        list(client.do_action(fl.Action("describe_dataset", b"{not json")))
