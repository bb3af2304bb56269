"""Slow and many readers: a reader that takes one message and stalls, and many readers at once
(half of them stalled), must not make the server buffer without bound. Peak RSS of the server
process (VmHWM, reset between phases through /proc/<pid>/clear_refs) is measured and printed;
afterwards /metrics is scraped and checked against the traffic."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import NS_PER_DAY, NS_PER_S, action, ns, put

DAYS = 20
ROWS_PER_DAY = 86_400
MiB = 1024 * 1024


def mem(pid: int) -> dict[str, int]:
    text = open(f"/proc/{pid}/status").read()
    return {k: int(re.search(rf"{k}:\s+(\d+) kB", text).group(1)) * 1024 for k in ("VmRSS", "VmHWM")}


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    data = tmp_path_factory.mktemp("readers")
    srv = start_server(data, {"METRICS_PORT": "0", "CACHE_MB": "0"})
    port = next(json.loads(l)["metricsPort"] for l in srv.stdout_lines if '"metrics listening"' in l)
    client = fl.connect(srv.location)
    fields = [{"name": "ts", "type": "timestamp[ns, UTC]", "nullable": False}] + [
        {"name": f"v{i}", "type": "float64", "nullable": True} for i in range(6)
    ]
    action(client, "create_dataset", {"name": "ticks", "time_column": "ts", "key_columns": [], "partition": "day", "fields": fields})
    secs = pc.multiply(pa.array(range(ROWS_PER_DAY), pa.int64()), NS_PER_S)
    t0 = ns("2024-01-01T00:00:00Z")
    for day in range(DAYS):
        ts = pc.add(secs, t0 + day * NS_PER_DAY).cast(pa.timestamp("ns", tz="UTC"))
        put(client, "ticks", pa.table({"ts": ts, **{f"v{i}": pc.random(ROWS_PER_DAY) for i in range(6)}}))
    yield srv, client, port
    client.close()
    crash = srv.crashed()
    srv.stop()
    assert crash is None, crash


TICKET = fl.Ticket(b'{"dataset":"ticks"}')


def test_slow_and_many_readers_keep_memory_bounded(loaded):
    srv, client, port = loaded
    pid = srv.proc.pid
    rows = DAYS * ROWS_PER_DAY
    dataset_bytes = rows * 7 * 8
    assert client.do_get(TICKET).read_all().num_rows == rows  # warm-up
    time.sleep(1)
    baseline = mem(pid)["VmRSS"]
    report = {"dataset_MiB": round(dataset_bytes / MiB), "baseline_rss_MiB": round(baseline / MiB)}

    # One reader takes one message and stalls.
    reset_peak(pid)
    stalled = fl.connect(srv.location)
    reader = stalled.do_get(TICKET)
    first = reader.read_chunk().data.num_rows
    time.sleep(3)
    one = mem(pid)
    report["one_stalled_peak_MiB"] = round(one["VmHWM"] / MiB)
    assert first + reader.read_all().num_rows == rows  # nothing lost while it stalled
    stalled.close()

    # 16 readers at once: 8 stall after one message, 8 read everything.
    reset_peak(pid)
    clients = [fl.connect(srv.location) for _ in range(16)]
    stalls = [c.do_get(TICKET) for c in clients[:8]]
    firsts = [r.read_chunk().data.num_rows for r in stalls]
    counts = []

    def full(c):
        counts.append(c.do_get(TICKET).read_all().num_rows)

    threads = [threading.Thread(target=full, args=(c,)) for c in clients[8:]]
    [t.start() for t in threads]
    [t.join() for t in threads]
    time.sleep(1)
    many = mem(pid)
    report["sixteen_readers_peak_MiB"] = round(many["VmHWM"] / MiB)
    for first, r in zip(firsts, stalls):
        assert first + r.read_all().num_rows == rows
    [c.close() for c in clients]
    assert counts == [rows] * 8
    print("\nserver memory:", json.dumps(report))

    # A stalled reader holds about MAX_BYTES_IN_FLIGHT (8 MiB) plus the day file being forwarded
    # (5 MiB), not the dataset: without backpressure the 8 stalled readers alone would pin 8 copies.
    assert one["VmHWM"] - baseline < 64 * MiB, report
    assert many["VmHWM"] - baseline < 16 * 32 * MiB, report
    assert many["VmHWM"] - baseline < 4 * dataset_bytes, report


def test_metrics_after_traffic(loaded):
    srv, client, port = loaded
    m = metrics(port)
    rows = DAYS * ROWS_PER_DAY
    assert m['flightdeck_flight_calls_total{call="DoPut",status="OK"}'] == DAYS
    assert m['flightdeck_flight_rows_total{direction="in"}'] == rows
    assert m['flightdeck_flight_rows_total{direction="out"}'] >= 9 * rows
    assert m['flightdeck_flight_bytes_total{direction="out"}'] >= 9 * rows * 7 * 8
    assert m['flightdeck_flight_calls_total{call="DoGet",status="OK"}'] >= 9
    assert m['flightdeck_commit_duration_seconds_count{operation="put"}'] == DAYS
    assert m['flightdeck_flight_open_calls{call="DoGet"}'] == 0
    assert m['flightdeck_cache_misses_total'] >= 0 and 'flightdeck_cache_hits_total' in m
    assert m["process_resident_memory_bytes"] > 0
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert health.status == 200
