"""Fixtures for the black-box pyarrow/DuckDB interop suite.

The real flight server runs as a subprocess on port 0 with its own DATA_DIR; tests talk to it
only through pyarrow.flight and the files it writes. It is started as `node <bundle>`, the
esbuild bundle of flight-server/src/main.ts that scripts/entry-bundle.mjs keeps up to date (it
starts in half the time of `node --import tsx`), and never through a wrapper such as the `tsx`
CLI, which would run the server in a child process: a SIGKILL sent to the wrapper leaves that child
running, so a "crash" would be no crash. It also gets its own process group, and stopping it
signals the whole group.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.flight as fl
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_MAIN = REPO_ROOT / "flight-server" / "src" / "main.ts"
ENTRY_BUNDLE = REPO_ROOT / "scripts" / "entry-bundle.mjs"
STARTUP_TIMEOUT_S = 60.0


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    data_dir: Path
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    port: int | None = None

    @property
    def location(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def logs(self, last: int = 80) -> str:
        out = "".join(self.stdout_lines[-last:])
        err = "".join(self.stderr_lines[-last:])
        return f"--- server stdout (last {last} lines) ---\n{out}\n--- server stderr ---\n{err}"

    def crashed(self) -> str | None:
        """A description of the crash if the process has exited on its own, else None."""
        code = self.proc.poll()
        if code is None:
            return None
        return f"flight server exited with status {code} during the run\n{self.logs()}"

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signals the server's process group (SIGTERM, then SIGKILL after 10 s); returns its status."""
        if self.proc.poll() is None:
            self._signal_group(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # anything the server itself spawned
        return self.proc.returncode

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)  # the server leads its own session and group
        except (ProcessLookupError, PermissionError):
            if self.proc.poll() is None:
                self.proc.send_signal(sig)


def _drain(stream, sink: list[str], on_line=None) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line)
        if on_line is not None:
            on_line(line)
    stream.close()


@functools.cache
def _server_bundle(node: str) -> str:
    """The up-to-date bundle of flight-server/src/main.ts (built on first use, when a source changed).

    Asked once per session: the sources do not change under a test run, and each ask is a node
    process of its own (about 0.2 s) that every server start, crash-test restarts included, paid."""
    if not (REPO_ROOT / "node_modules" / "esbuild").exists():
        pytest.fail("node_modules/esbuild is missing: run `npm ci` first", pytrace=False)
    out = subprocess.run(
        [node, str(ENTRY_BUNDLE), str(SERVER_MAIN.relative_to(REPO_ROOT))], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        pytest.fail(f"could not bundle {SERVER_MAIN.relative_to(REPO_ROOT)}: {out.stderr.strip()}", pytrace=False)
    return out.stdout.strip()


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> ServerProcess:
    """Starts the flight server on port 0 and waits for its 'flight server listening' log line."""
    if not SERVER_MAIN.exists():
        pytest.fail(f"{SERVER_MAIN.relative_to(REPO_ROOT)} does not exist", pytrace=False)
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH", pytrace=False)
    server_entry = _server_bundle(node)
    env = dict(os.environ)
    env.update(
        FLIGHT_PORT="0",
        FLIGHT_HOST="127.0.0.1",
        DATA_DIR=str(data_dir),
        LOG_LEVEL="info",
    )
    env.pop("FLIGHT_USERS", None)
    if extra_env:
        env.update(extra_env)
    proc = subprocess.Popen(
        # One process: a SIGKILL of it is a crash of the server.
        [node, server_entry],
        cwd=REPO_ROOT,
        start_new_session=True,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    server = ServerProcess(proc=proc, data_dir=data_dir)
    listening = threading.Event()

    def on_stdout(line: str) -> None:
        if listening.is_set():
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        if isinstance(record, dict) and record.get("msg") == "flight server listening":
            server.port = int(record["port"])
            listening.set()

    threading.Thread(target=_drain, args=(proc.stdout, server.stdout_lines, on_stdout), daemon=True).start()
    threading.Thread(target=_drain, args=(proc.stderr, server.stderr_lines), daemon=True).start()

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not listening.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            reason = (
                f"exited with status {proc.returncode}"
                if proc.poll() is not None
                else f"did not log 'flight server listening' within {STARTUP_TIMEOUT_S:.0f}s"
            )
            server.stop(signal.SIGKILL)
            time.sleep(0.2)
            pytest.fail(f"flight server {reason}\n{server.logs()}", pytrace=False)
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server per test module, with its own DATA_DIR; fails the module if it crashes."""
    data_dir = tmp_path_factory.mktemp("flight-data")
    srv = start_server(data_dir)
    yield {"location": srv.location, "data_dir": data_dir, "proc": srv.proc, "handle": srv}
    crash = srv.crashed()
    srv.stop()
    if crash:
        pytest.fail(crash, pytrace=False)


@pytest.fixture(autouse=True)
def _server_still_alive(request):
    """The server never crashes: after every test that used it, the process must still run."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")["handle"]
        crash = srv.crashed()
        if crash:
            pytest.fail(crash, pytrace=False)


@pytest.fixture
def client(server):
    c = fl.connect(server["location"])
    yield c
    c.close()


@pytest.fixture
def new_name():
    """Returns a factory of unique, valid dataset names."""

    def make(prefix: str = "ds") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def scratch_dir():
    with tempfile.TemporaryDirectory(prefix="flightdeck-py-") as d:
        yield Path(d)
