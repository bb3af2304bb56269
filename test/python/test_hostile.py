"""Hostile input through pyarrow: garbage tickets, commands, action bodies and descriptors,
oversized messages. Each gets a client-fault status, the server keeps serving, and the data
(version, rows, files) is unchanged. The raw-bytes and lying-FlightData suite is the Node one
(flight-server/src/server/hostile-input.test.ts)."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import STATUS, bars, create, describe, minutes, put


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile")
    srv = start_server(data, {"FLIGHT_MAX_MESSAGE_BYTES": str(1024 * 1024)})
    client = fl.connect(srv.location)
    create(client, "bars")
    put(client, "bars", bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 390)))
    yield srv, client, data
    client.close()
    crash = srv.crashed()
    srv.stop()
    assert crash is None, crash


def state(client, data):
    d = describe(client, "bars")
    files = sorted(str(p.relative_to(data)) for p in (data / "bars").rglob("*") if p.is_file())
    return d["version"], d["rows"], files


def status_of(fn) -> str:
    try:
        fn()
    except (pa.ArrowException, OSError) as e:
        text = str(e)
        for code, (_, phrase) in STATUS.items():
            if phrase in text:
                return code
        return f"OTHER: {text[:200]}"
    return "OK"


def rnd(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


CASES = {
    "random ticket": (lambda c: c.do_get(fl.Ticket(rnd(1, 64))).read_all(), {"INVALID_ARGUMENT"}),
    "ticket fd1: + garbage": (lambda c: c.do_get(fl.Ticket(b"fd1:" + rnd(2, 40))).read_all(), {"INVALID_ARGUMENT"}),
    "ticket of 2 MiB (over the 1 MiB limit)": (lambda c: c.do_get(fl.Ticket(rnd(3, 2 * 1024 * 1024))).read_all(), {"RESOURCE_EXHAUSTED"}),
    "ticket JSON nested 100000 deep": (lambda c: c.do_get(fl.Ticket(b"{" + b'"a":{' * 100000 + b"}" * 100001)).read_all(), {"INVALID_ARGUMENT"}),
    "random CMD": (lambda c: c.get_flight_info(fl.FlightDescriptor.for_command(rnd(4, 100))), {"INVALID_ARGUMENT"}),
    "CMD with an unknown field": (lambda c: c.get_flight_info(fl.FlightDescriptor.for_command(b'{"dataset":"bars","x":1}')), {"INVALID_ARGUMENT"}),
    "CMD not UTF-8": (lambda c: c.get_schema(fl.FlightDescriptor.for_command(b'{"dataset":"\xff\xfe"}')), {"INVALID_ARGUMENT"}),
    "PATH of three elements": (lambda c: c.get_flight_info(fl.FlightDescriptor.for_path("a", "b", "c")), {"INVALID_ARGUMENT"}),
    "PATH traversal": (lambda c: c.get_flight_info(fl.FlightDescriptor.for_path("../../etc")), {"INVALID_ARGUMENT"}),
    "PATH of 100 kB": (lambda c: c.get_flight_info(fl.FlightDescriptor.for_path("x" * 100_000)), {"INVALID_ARGUMENT"}),
    "random action type": (lambda c: list(c.do_action(fl.Action(rnd(5, 30).hex(), b""))), {"INVALID_ARGUMENT"}),
    "random action body": (lambda c: list(c.do_action(fl.Action("describe_dataset", rnd(6, 200)))), {"INVALID_ARGUMENT"}),
    "action body 2 MiB": (lambda c: list(c.do_action(fl.Action("describe_dataset", b" " * (2 * 1024 * 1024)))), {"RESOURCE_EXHAUSTED"}),
    "drop with a wrong-typed name": (lambda c: list(c.do_action(fl.Action("drop_dataset", b'{"name":["bars"]}'))), {"INVALID_ARGUMENT"}),
    "delete_range with a nonsense time": (lambda c: list(c.do_action(fl.Action("delete_range", b'{"dataset":"bars","start":"yesterday"}'))), {"INVALID_ARGUMENT"}),
}


def do_put(c, descriptor, table, chunk=None):
    writer, reader = c.do_put(descriptor, table.schema)
    try:
        for b in table.to_batches(max_chunksize=chunk):
            writer.write_batch(b)
        writer.done_writing()
        reader.read()
    finally:
        writer.close()


PUTS = {
    "DoPut with a CMD descriptor": (lambda c: do_put(c, fl.FlightDescriptor.for_command(b'{"dataset":"bars"}'), bars(["Z"], minutes("2024-05-01T00:00:00Z", 5))), {"INVALID_ARGUMENT"}),
    "DoPut with a PATH of two elements": (lambda c: do_put(c, fl.FlightDescriptor.for_path("bars", "x"), bars(["Z"], minutes("2024-05-01T00:00:00Z", 5))), {"INVALID_ARGUMENT"}),
    "DoPut with one batch over the 1 MiB message limit": (lambda c: do_put(c, fl.FlightDescriptor.for_path("bars"), bars(["Z"], minutes("2024-05-01T00:00:00Z", 40_000))), {"RESOURCE_EXHAUSTED"}),
    "DoPut whose schema lacks a column": (lambda c: do_put(c, fl.FlightDescriptor.for_path("bars"), bars(["Z"], minutes("2024-05-01T00:00:00Z", 5)).drop_columns(["open"])), {"INVALID_ARGUMENT"}),
    "DoPut with a valid batch, then one over the limit": (
        lambda c: do_put(c, fl.FlightDescriptor.for_path("bars"), pa.concat_tables([bars(["Y"], minutes("2024-05-01T00:00:00Z", 5)), bars(["Z"], minutes("2024-06-01T00:00:00Z", 40_000))])),
        {"RESOURCE_EXHAUSTED"},
    ),
}


@pytest.mark.parametrize("case", sorted({**CASES, **PUTS}))
def test_hostile_input_is_refused_and_changes_nothing(hostile, case):
    srv, client, data = hostile
    before = state(client, data)
    fn, allowed = {**CASES, **PUTS}[case]
    fresh = fl.connect(srv.location)
    try:
        got = status_of(lambda: fn(fresh))
    finally:
        fresh.close()
    assert got in allowed, f"{case}: {got}"
    assert state(client, data) == before
    assert srv.crashed() is None
