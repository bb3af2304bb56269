"""DoGet with `follow` (CONTRACT "Descriptors") read by pyarrow's Flight client.

A follower gets the query's rows, then the matching rows of each later commit with that commit's
`{"version":V}` as app_metadata; cancelling frees the server's listener and memory; a follower
that stops reading while commits go on is cut with RESOURCE_EXHAUSTED instead of buffered.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import action, bars, create, expect_status, minutes, put

MAX_PENDING = 3


@pytest.fixture(scope="module")
def follow_server(tmp_path_factory):
    """A server with a small follower queue and a metrics port, stopped by pid at the end."""
    srv = start_server(tmp_path_factory.mktemp("follow-data"), {"FLIGHT_FOLLOW_MAX_PENDING": str(MAX_PENDING), "METRICS_PORT": "0"})
    metrics_port = None
    for line in list(srv.stdout_lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "metrics listening":
            metrics_port = int(record["metricsPort"])
    try:
        assert metrics_port is not None, f"no 'metrics listening' line\n{srv.logs()}"
        yield {"location": srv.location, "metrics": f"http://127.0.0.1:{metrics_port}/metrics", "handle": srv}
        crash = srv.crashed()
        assert crash is None, crash
    finally:
        srv.stop()


@pytest.fixture
def fclient(follow_server):
    c = fl.connect(follow_server["location"])
    yield c
    c.close()


def gauge(url: str, name: str) -> float:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    m = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


def wait_for(predicate, timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - t0


class Follower:
    """Reads a follow stream on a thread: (version, table) per chunk, as they arrive."""

    def __init__(self, client: fl.FlightClient, query: dict, timeout_s: float = 60.0):
        self.reader = client.do_get(fl.Ticket(json.dumps(query).encode()), fl.FlightCallOptions(timeout=timeout_s))
        self.chunks: list[tuple[int, pa.Table]] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                chunk = self.reader.read_chunk()
                meta = json.loads(chunk.app_metadata.to_pybytes())
                self.chunks.append((meta["version"], pa.Table.from_batches([chunk.data])))
        except StopIteration:
            pass
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            self.error = e

    def rows(self, version: int) -> pa.Table | None:
        tables = [t for v, t in self.chunks if v == version]
        return pa.concat_tables(tables) if tables else None


def test_later_commits_arrive_with_their_version(fclient, follow_server, new_name):
    name = new_name("follow")
    create(fclient, name)
    v1 = put(fclient, name, bars(["AAPL", "MSFT"], minutes("2024-01-02T14:30:00Z", 5)))["version"]
    follower = Follower(fclient, {"dataset": name, "symbols": ["AAPL"], "follow": True})
    wait_for(lambda: follower.rows(v1) is not None and follower.rows(v1).num_rows == 5, 10, "the first rows")
    assert follower.reader.schema.names == ["symbol", "ts", "open", "high", "low", "close", "volume"]

    # An append, then an upsert of two stored minutes (the stored file is rewritten).
    v2 = put(fclient, name, bars(["AAPL", "MSFT"], minutes("2024-01-02T14:35:00Z", 3), seed=1))["version"]
    latency = wait_for(lambda: follower.rows(v2) is not None and follower.rows(v2).num_rows == 3, 1.0, "the appended rows")
    changed = bars(["AAPL"], minutes("2024-01-02T14:31:00Z", 2), seed=7)
    v3 = put(fclient, name, changed)["version"]
    wait_for(lambda: follower.rows(v3) is not None and follower.rows(v3).num_rows >= 2, 1.0, "the upserted rows")
    got = follower.rows(v3)
    assert got.num_rows == 2, "only the rows the upsert wrote, not the whole rewritten file"
    assert got.column("close").to_pylist() == changed.column("close").to_pylist()
    assert got.column("ts").cast(pa.int64()).to_pylist() == changed.column("ts").cast(pa.int64()).to_pylist()
    assert set(follower.rows(v2).column("symbol").to_pylist()) == {"AAPL"}
    versions = [v for v, _ in follower.chunks]
    assert versions == sorted(versions)
    assert follower.error is None
    assert latency < 1.0

    # Cancelling frees the server: no listener, no reserved stream memory.
    assert gauge(follow_server["metrics"], "flightdeck_flight_followers") == 1
    follower.reader.cancel()
    follower.thread.join(10)
    assert not follower.thread.is_alive()
    wait_for(lambda: gauge(follow_server["metrics"], "flightdeck_flight_followers") == 0, 5, "the listener to go")
    wait_for(lambda: gauge(follow_server["metrics"], "flightdeck_doget_memory_bytes") == 0, 5, "the memory to be released")
    assert action(fclient, "health", {})["followers"] == 0


def test_follow_refuses_limit_interval_as_of(fclient, new_name):
    name = new_name("follow")
    create(fclient, name)
    put(fclient, name, bars(["AAPL"], minutes("2024-01-02T14:30:00Z", 3)))
    for field, value in (("limit", 10), ("interval", "1h"), ("as_of", 1)):
        with expect_status("INVALID_ARGUMENT", field, "follow"):
            fclient.do_get(fl.Ticket(json.dumps({"dataset": name, "follow": True, field: value}).encode())).read_all()
    info = fclient.get_flight_info(fl.FlightDescriptor.for_command(json.dumps({"dataset": name, "follow": True}).encode()))
    assert len(info.endpoints) == 1
    assert info.total_records == -1
    with expect_status("NOT_FOUND", "nope_follow"):
        fclient.do_get(fl.Ticket(json.dumps({"dataset": "nope_follow", "follow": True}).encode())).read_all()


def test_a_slow_follower_is_cut_not_buffered(fclient, follow_server, new_name):
    name = new_name("follow")
    create(fclient, name)
    put(fclient, name, bars(["AAPL"], minutes("2024-01-02T14:30:00Z", 3)))
    reader = fclient.do_get(fl.Ticket(json.dumps({"dataset": name, "follow": True}).encode()), fl.FlightCallOptions(timeout=120))
    first = reader.read_chunk()
    assert first.data.num_rows == 3
    # The follower reads nothing more while commits of ~1 MB each go on.
    symbols = [f"S{i:03d}" for i in range(100)]
    writer = fl.connect(follow_server["location"])
    commits = 0
    t0 = time.monotonic()
    try:
        while gauge(follow_server["metrics"], "flightdeck_flight_followers") > 0 and commits < 200 and time.monotonic() - t0 < 60:
            # 100 new minutes of 100 symbols per commit, each commit after the last.
            times = minutes("2024-01-03T00:00:00Z", 100, step_ns=60_000_000_000)
            put(writer, name, bars(symbols, [t + commits * 100 * 60_000_000_000 for t in times], seed=commits))
            commits += 1
    finally:
        writer.close()
    assert gauge(follow_server["metrics"], "flightdeck_flight_followers") == 0, f"still following after {commits} commits"
    assert commits < 200
    wait_for(lambda: gauge(follow_server["metrics"], "flightdeck_doget_memory_bytes") == 0, 5, "the memory to be released")
    # What was flushed before the cut still arrives, then RESOURCE_EXHAUSTED naming the bound.
    received = 0
    with expect_status("RESOURCE_EXHAUSTED", f"FLIGHT_FOLLOW_MAX_PENDING={MAX_PENDING}"):
        while True:
            received += reader.read_chunk().data.num_rows
    # Far fewer rows than were committed reached the client: the rest were never buffered.
    assert received < commits * 100 * 100
    # The server and the committed data are intact.
    total = fclient.do_get(fl.Ticket(json.dumps({"dataset": name, "columns": ["ts"]}).encode())).read_all().num_rows
    assert total == 3 + commits * 100 * 100
