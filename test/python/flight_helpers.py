"""Client-side helpers shared by the interop tests: actions, DoPut, reading every endpoint,
building OHLCV bars, normalising tables for comparison and asserting gRPC statuses.

pyarrow turns a gRPC status into an exception whose text starts with a fixed phrase
("Flight returned invalid argument error, with message: ..."); asserting that phrase pins
the exact status code, since ArrowInvalid alone also covers RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.flight as fl
import pytest

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_HOUR = 60 * NS_PER_MIN
NS_PER_DAY = 24 * NS_PER_HOUR

# status -> (pyarrow exception class, phrase pyarrow puts in front of the server's message)
STATUS = {
    "INVALID_ARGUMENT": (pa.ArrowInvalid, "invalid argument error"),
    "NOT_FOUND": (pa.ArrowKeyError, "not found error"),
    "ALREADY_EXISTS": (pa.ArrowException, "already exists error"),
    "RESOURCE_EXHAUSTED": (pa.ArrowInvalid, "resource exhausted error"),
    "UNAUTHENTICATED": (fl.FlightUnauthenticatedError, "unauthenticated error"),
    "PERMISSION_DENIED": (fl.FlightUnauthorizedError, "unauthorized error"),
}

BAR_FIELDS = [
    {"name": "symbol", "type": "dictionary<utf8>", "nullable": False},
    {"name": "ts", "type": "timestamp[ns, UTC]", "nullable": False},
    {"name": "open", "type": "float64", "nullable": True},
    {"name": "high", "type": "float64", "nullable": True},
    {"name": "low", "type": "float64", "nullable": True},
    {"name": "close", "type": "float64", "nullable": True},
    {"name": "volume", "type": "int64", "nullable": True},
]
PRICE_COLUMNS = ["open", "high", "low", "close"]


# ---------------------------------------------------------------- time


def ns(iso: str) -> int:
    """Epoch nanoseconds of an ISO-8601 UTC string with up to 9 fractional digits."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)", iso)
    if not m:
        raise ValueError(f"not an ISO-8601 UTC timestamp: {iso!r}")
    whole = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    delta = whole - epoch
    seconds = delta.days * 86400 + delta.seconds
    frac = (m.group(2) or "").ljust(9, "0")
    return seconds * NS_PER_S + int(frac or "0")


def iso_precision_ns(iso: str) -> int:
    """The resolution of an ISO string in ns (1e9 for no fraction, 1e6 for .123, ...)."""
    m = re.search(r"\.(\d{1,9})", iso)
    return 10 ** (9 - (len(m.group(1)) if m else 0))


def utc_parts(t_ns: int) -> datetime:
    seconds, _ = divmod(t_ns, NS_PER_S)
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def partition_key(t_ns: int, kind: str) -> str:
    d = utc_parts(t_ns)
    if kind == "hour":
        return f"date={d:%Y-%m-%d}/hour={d:%H}"
    if kind == "day":
        return f"date={d:%Y-%m-%d}"
    if kind == "month":
        return f"month={d:%Y-%m}"
    if kind == "year":
        return f"year={d:%Y}"
    raise ValueError(kind)


def canonical_key(key: str) -> str:
    """Hive key with an unpadded hour normalised to two digits (hour=7 == hour=07)."""
    return re.sub(r"hour=(\d)$", r"hour=0\1", key)


# ---------------------------------------------------------------- data


def bars(
    symbols: Sequence[str],
    times_ns: Sequence[int],
    *,
    dictionary: bool = True,
    unit: str = "ns",
    seed: int = 0,
) -> pa.Table:
    """One row per (symbol, time), deterministic OHLCV values, rows in input order."""
    sym_col: list[str] = []
    ts_col: list[int] = []
    for s in symbols:
        for t in times_ns:
            sym_col.append(s)
            ts_col.append(t)
    n = len(ts_col)
    base = [100.0 + ((i * 7 + seed * 13) % 97) + (len(sym_col[i]) * 0.25) for i in range(n)]
    divisor = {"s": NS_PER_S, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    ts_values = [t // divisor for t in ts_col]
    symbol = pa.array(sym_col, pa.utf8())
    if dictionary:
        symbol = symbol.dictionary_encode()
    return pa.table(
        {
            "symbol": symbol,
            "ts": pa.array(ts_values, pa.timestamp(unit, tz="UTC")),
            "open": pa.array(base, pa.float64()),
            "high": pa.array([b + 1.5 for b in base], pa.float64()),
            "low": pa.array([b - 1.25 for b in base], pa.float64()),
            "close": pa.array([b + 0.5 for b in base], pa.float64()),
            "volume": pa.array([1000 + i * 3 + seed for i in range(n)], pa.int64()),
        }
    )


def minutes(start_iso: str, count: int, step_ns: int = NS_PER_MIN) -> list[int]:
    start = ns(start_iso)
    return [start + i * step_ns for i in range(count)]


# ---------------------------------------------------------------- normalising


def plain_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return plain_type(t.value_type)
    if pa.types.is_large_string(t):
        return pa.utf8()
    return t


def normalize(table: pa.Table) -> pa.Table:
    """Decodes dictionaries, drops metadata and nullability flags, merges chunks."""
    cols = []
    fields = []
    for f, col in zip(table.schema, table.columns):
        t = plain_type(f.type)
        cols.append(col.cast(t) if t != f.type else col)
        fields.append(pa.field(f.name, t, nullable=True))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields)).combine_chunks()


def sort_rows(table: pa.Table, keys: Sequence[str] = ("symbol", "ts")) -> pa.Table:
    t = normalize(table)
    return t.sort_by([(k, "ascending") for k in keys])


def assert_same_rows(actual: pa.Table, expected: pa.Table, keys: Sequence[str] = ("symbol", "ts")) -> None:
    a = sort_rows(actual, keys)
    e = sort_rows(expected, keys)
    assert a.schema == e.schema, f"schema differs:\nactual:\n{a.schema}\nexpected:\n{e.schema}"
    assert a.num_rows == e.num_rows, f"row count {a.num_rows} != expected {e.num_rows}"
    if not a.equals(e):
        for name in a.column_names:
            if not a[name].equals(e[name]):
                diff = [
                    (i, x, y)
                    for i, (x, y) in enumerate(zip(a[name].to_pylist(), e[name].to_pylist()))
                    if x != y
                ][:5]
                pytest.fail(f"column {name!r} differs at (row, actual, expected): {diff}")
        pytest.fail("tables differ")


def is_sorted_by(table: pa.Table, keys: Sequence[str] = ("symbol", "ts")) -> bool:
    t = normalize(table)
    return t.equals(t.sort_by([(k, "ascending") for k in keys]))


def concat(tables: Iterable[pa.Table]) -> pa.Table:
    tables = [normalize(t) for t in tables]
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables)


# ---------------------------------------------------------------- Flight calls


def action(client: fl.FlightClient, kind: str, body: Any) -> Any:
    """Runs an action with a JSON body and returns the parsed JSON of its single result."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    results = list(client.do_action(fl.Action(kind, payload)))
    assert len(results) == 1, f"action {kind} returned {len(results)} results, expected 1"
    return json.loads(results[0].body.to_pybytes())


def create(client: fl.FlightClient, name: str, **kwargs: Any) -> dict:
    body = {"name": name, "time_column": "ts", "key_columns": ["symbol"], "partition": "day"}
    body.update(kwargs)
    return action(client, "create_dataset", body)


def describe(client: fl.FlightClient, name: str) -> dict:
    return action(client, "describe_dataset", {"name": name})


def put(
    client: fl.FlightClient,
    name: str,
    data: pa.Table | Sequence[pa.RecordBatch],
    schema: pa.Schema | None = None,
    max_chunksize: int | None = None,
) -> dict:
    """One DoPut stream of all `data`'s batches; returns the parsed PutResult app_metadata."""
    if isinstance(data, pa.Table):
        schema = schema or data.schema
        batches = data.to_batches(max_chunksize=max_chunksize)
    else:
        batches = list(data)
        schema = schema or batches[0].schema
    writer, reader = client.do_put(fl.FlightDescriptor.for_path(name), schema)
    try:
        for b in batches:
            writer.write_batch(b)
        writer.done_writing()
        buf = reader.read()
    except Exception as first:
        # a write can fail with a generic broken-stream error; the real status comes on close
        try:
            writer.close()
        except Exception as second:
            raise second from first
        raise
    writer.close()
    assert buf is not None, "DoPut answered no PutResult"
    return json.loads(buf.to_pybytes())


def read_flight(client: fl.FlightClient, descriptor: fl.FlightDescriptor) -> tuple[fl.FlightInfo, list[pa.Table]]:
    """GetFlightInfo, then DoGet on every endpoint in order; returns the info and one table per endpoint."""
    info = client.get_flight_info(descriptor)
    assert len(info.endpoints) >= 1, "GetFlightInfo returned no endpoints"
    tables = [client.do_get(ep.ticket).read_all() for ep in info.endpoints]
    return info, tables


def read_path(client: fl.FlightClient, name: str) -> pa.Table:
    info, tables = read_flight(client, fl.FlightDescriptor.for_path(name))
    return concat(tables) if tables else pa.table({})


def cmd(query: dict) -> fl.FlightDescriptor:
    return fl.FlightDescriptor.for_command(json.dumps(query).encode())


def ticket_query(client: fl.FlightClient, query: dict) -> pa.Table:
    """The query JSON sent directly as a DoGet ticket."""
    return client.do_get(fl.Ticket(json.dumps(query).encode())).read_all()


@contextlib.contextmanager
def expect_status(code: str, *needles: str):
    """Asserts the block raises the pyarrow exception of gRPC status `code` and that the
    message names every needle (the field or value at fault)."""
    exc_type, phrase = STATUS[code]
    with pytest.raises(pa.ArrowException) as info:
        yield info
    err = info.value
    text = str(err)
    assert isinstance(err, exc_type), f"expected {exc_type.__name__} for {code}, got {type(err).__name__}: {text}"
    assert phrase in text, f"expected gRPC status {code} ('{phrase}'), got: {text}"
    for needle in needles:
        assert names(text, needle), f"error message should name {needle!r}: {text}"


def names(text: str, needle: str) -> bool:
    """True if `needle` occurs in `text` as a whole word ("ts" in 'column "ts"', not in "timestamps")."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(needle)}(?![A-Za-z0-9_])", text) is not None
