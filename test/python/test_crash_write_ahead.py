"""Write-ahead ingest (INGEST_PARQUET=background) under SIGKILL: a DoPut is acknowledged once its
rows are durable as Arrow IPC, before any Parquet file exists. Kills land in the window between
acknowledgement and Parquet (held open with FLIGHT_TEST_ENCODE_DELAY_MS, a test-only pause
before each file's encoding), while Parquet files are written, and while the next commit swaps
them in. After each restart every acknowledged row is read back, list_files names only whole
Parquet files that pyarrow and DuckDB read to the same rows, and no file outside a committed
version is left on disk."""

from __future__ import annotations

import random
import signal

import duckdb
import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.parquet as pq

from conftest import start_server
from flight_helpers import BAR_FIELDS, action, assert_same_rows, bars, concat, create, describe, minutes, ns, put, read_path
from test_crash_safety import committed_files, files_on_disk, kill_while_a_crawler_appends

NAME = "wal"


def listed_parquet(client: fl.FlightClient, name: str) -> pa.Table:
    """The rows of the Parquet files list_files names, read by pyarrow; DuckDB must agree."""
    listed = action(client, "list_files", {"dataset": name})
    urls = [f["url"] for f in listed["files"]]
    assert all(u.startswith("file:///") and u.endswith(".parquet") for u in urls)
    paths = [u[len("file://"):] for u in urls]
    for f, path in zip(listed["files"], paths):
        meta = pq.read_metadata(path)
        assert meta.num_rows == f["rows"], f"{path}: {meta.num_rows} rows, list_files says {f['rows']}"
    table = pa.concat_tables(pq.read_table(p) for p in paths) if paths else None
    con = duckdb.connect()
    try:
        count = con.execute(f"SELECT count(*) FROM read_parquet({paths!r})").fetchone()[0] if paths else 0
    finally:
        con.close()
    assert count == sum(f["rows"] for f in listed["files"])
    return table


def check_restart(data_dir, acked: list[pa.Table], in_flight: dict, env: dict[str, str]) -> list[pa.Table]:
    server = start_server(data_dir, {**env, "FLIGHT_COMPACT_FILES": "0"})
    try:
        c = fl.connect(server.location)
        got = read_path(c, NAME)
        if got.num_rows != sum(t.num_rows for t in acked):
            assert "table" in in_flight, f"{got.num_rows} rows after restart, {sum(t.num_rows for t in acked)} acknowledged"
            acked = [*acked, in_flight["table"]]  # committed, then killed before the answer
        assert_same_rows(got, concat(acked))
        # list_files waits for the Parquet of the files the crash left pending.
        assert_same_rows(listed_parquet(c, NAME), got)
        assert files_on_disk(data_dir, NAME) <= committed_files(data_dir, NAME), "files outside every committed version were left"
        c.close()
    finally:
        server.stop()
    return acked


def test_sigkill_after_acknowledgement_before_parquet_loses_no_row(tmp_path):
    """The encoder pauses 60 s before each file: every kill lands after the acknowledgement of
    whole DoPuts (new partitions and upserts into pending files) and before any Parquet."""
    data_dir = tmp_path / "data"
    env = {"INGEST_PARQUET": "background", "FLIGHT_TEST_ENCODE_DELAY_MS": "60000"}
    acked: list[pa.Table] = []
    for attempt in range(3):
        server = start_server(data_dir, env)
        c = fl.connect(server.location)
        if attempt == 0:
            create(c, NAME, fields=BAR_FIELDS)
        day = f"2024-01-0{2 + attempt}T00:00:00Z"
        first = bars([f"S{i:02d}" for i in range(20)], minutes(day, 500), seed=attempt)
        put(c, NAME, first)
        # An upsert over the pending file: merged from its IPC copy.
        second = bars([f"S{i:02d}" for i in range(5)], minutes(day, 50), seed=100 + attempt)
        put(c, NAME, second)
        acked += [first, second]
        assert not list((data_dir / NAME).glob("date=*/*.parquet")), "a Parquet file was written during the pause"
        c.close()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        expected = dedupe_last(acked)
        server = start_server(data_dir, env)  # the pause holds at restart too: reads come from IPC copies
        c = fl.connect(server.location)
        assert_same_rows(read_path(c, NAME), expected)
        c.close()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
    # Without the pause the restart encodes what three crashes left pending.
    check_restart(data_dir, [dedupe_last(acked)], {}, {"INGEST_PARQUET": "background"})


def dedupe_last(tables: list[pa.Table]) -> pa.Table:
    """The rows of `tables` upserted in order: the last row of each (symbol, ts) wins."""
    rows: dict[tuple, dict] = {}
    for t in tables:
        for r in t.to_pylist():
            rows[(r["symbol"], r["ts"])] = r
    return pa.Table.from_pylist(list(rows.values()), schema=tables[0].schema)


def test_sigkill_while_parquet_is_written_and_swapped_in_keeps_every_acknowledged_row(tmp_path):
    """A crawler appends DoPuts of one minute of 500 symbols while the encoder writes Parquet right
    behind it (a short pause staggers it); SIGKILL at random moments lands in IPC writes, Parquet
    writes, and the commits that swap encoded files in."""
    data_dir = tmp_path / "data"
    env = {"INGEST_PARQUET": "background", "FLIGHT_TEST_ENCODE_DELAY_MS": "30", "FLIGHT_COMPACT_FILES": "0"}
    symbols = [f"S{i:03d}" for i in range(500)]
    server = start_server(data_dir, env)
    c = fl.connect(server.location)
    create(c, NAME, fields=BAR_FIELDS)
    c.close()
    t0 = ns("2024-01-02T00:00:00Z")
    acked: list[pa.Table] = []
    rng = random.Random(11)
    try:
        for _ in range(4):
            in_flight = kill_while_a_crawler_appends(server, NAME, symbols, t0, acked, rng.uniform(1.0, 3.0))
            acked[:] = check_restart(data_dir, acked, in_flight, env)
            server = start_server(data_dir, env)
    finally:
        server.stop()
    assert len(acked) >= 10, f"only {len(acked)} appends were acknowledged"
    c = None
    server = start_server(data_dir, env)
    try:
        c = fl.connect(server.location)
        assert describe(c, NAME)["rows"] == sum(t.num_rows for t in acked)
    finally:
        if c:
            c.close()
        server.stop()
