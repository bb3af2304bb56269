"""SIGTERM: running DoGets finish within FLIGHT_SHUTDOWN_GRACE_MS or are cut at its end; a DoPut
still receiving is aborted with nothing committed; the process exits 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import NS_PER_DAY, NS_PER_MIN, bars, create, describe, ns, put


def seed(client, name: str, days: int, symbols: int = 20) -> int:
    create(client, name)
    syms = [f"S{i:03d}" for i in range(symbols)]
    t0 = ns("2024-01-02T09:30:00Z")
    rows = 0
    for d in range(days):
        table = bars(syms, [t0 + d * NS_PER_DAY + i * NS_PER_MIN for i in range(390)])
        put(client, name, table)
        rows += table.num_rows
    return rows


def parquet_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_sigterm_lets_a_running_doget_finish(tmp_path):
    srv = start_server(tmp_path, {"FLIGHT_SHUTDOWN_GRACE_MS": "20000", "FLIGHT_BATCH_ROWS": "2000"})
    client = fl.connect(srv.location)
    rows = seed(client, "bars", days=10)
    reader = client.do_get(fl.Ticket(b'{"dataset":"bars"}'))
    got = reader.read_chunk().data.num_rows
    srv.proc.send_signal(signal.SIGTERM)
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            break
        got += chunk.data.num_rows
        time.sleep(0.01)  # slow, steady reader
    assert got == rows
    assert srv.proc.wait(timeout=30) == 0
    logs = "".join(srv.stdout_lines)
    assert "flight server stopped" in logs
    client.close()


def test_sigterm_cuts_a_stalled_doget_at_the_grace_deadline(tmp_path):
    srv = start_server(tmp_path, {"FLIGHT_SHUTDOWN_GRACE_MS": "1000", "FLIGHT_BATCH_ROWS": "2000"})
    client = fl.connect(srv.location)
    # About 23 MB: well beyond what the server may leave unflushed (8 MiB) plus the HTTP/2 windows,
    # so the stream cannot complete into buffers before the signal, however fast the server reads.
    seed(client, "bars", days=20, symbols=60)
    reader = client.do_get(fl.Ticket(b'{"dataset":"bars"}'))
    reader.read_chunk()
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=30) == 0
    took = time.monotonic() - started
    assert 0.9 <= took < 10, took
    with pytest.raises((pa.ArrowException, OSError)):
        reader.read_all()
    assert "cutting the calls still open" in "".join(srv.stdout_lines)
    client.close()


def test_sigterm_during_doput_commits_nothing(tmp_path):
    srv = start_server(tmp_path, {"FLIGHT_SHUTDOWN_GRACE_MS": "5000"})
    client = fl.connect(srv.location)
    seed(client, "bars", days=2)
    before = describe(client, "bars")
    files_before = parquet_files(tmp_path / "bars")
    table = bars(["NEW"], [ns("2024-03-01T00:00:00Z") + i * NS_PER_MIN for i in range(5000)])
    writer, reader = client.do_put(fl.FlightDescriptor.for_path("bars"), table.schema)
    for batch in table.to_batches(max_chunksize=1000)[:3]:
        writer.write_batch(batch)
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=30) == 0
    with pytest.raises((pa.ArrowException, OSError)):
        for batch in table.to_batches(max_chunksize=1000)[3:]:
            writer.write_batch(batch)
        writer.done_writing()
        reader.read()
        writer.close()
    client.close()
    assert "flight server stopped" in "".join(srv.stdout_lines)

    again = start_server(tmp_path)
    try:
        c = fl.connect(again.location)
        after = describe(c, "bars")
        assert (after["version"], after["rows"]) == (before["version"], before["rows"])
        assert parquet_files(tmp_path / "bars") == files_before
        c.close()
    finally:
        again.stop()
