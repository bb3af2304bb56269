"""The neutral benchmark client: pyarrow.flight in a process of its own, for either server.

A worker: reads one JSON command per stdin line, answers one JSON line on stdout (prints
{"ready": true} first). Timings are wall-clock seconds measured here, around the Flight calls only.

  {"op":"get","url":U,"descriptor":D}            GetFlightInfo, then DoGet of every endpoint in order
  {"op":"concurrent","url":U,"descriptor":D,"streams":8}
                                                 `streams` threads, each a full "get" at once
  {"op":"put","url":U,"path":[..],"file":F}      DoPut of an Arrow IPC file's batches (loaded first)
  {"op":"action","url":U,"type":T,"body":{..}}   DoAction; the first result parsed as JSON
  {"op":"quit"}

D is {"path":[..]} or {"cmd":{..}} (sent as UTF-8 JSON). Bytes are the Arrow buffers delivered:
the sum of each received batch's `nbytes` (dictionaries included).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback

import pyarrow as pa
import pyarrow.flight as fl

_clients: dict[str, fl.FlightClient] = {}
_loaded: dict[str, pa.Table] = {}


def client_for(url: str) -> fl.FlightClient:
    c = _clients.get(url)
    if c is None:
        c = fl.FlightClient(url)
        c.wait_for_available(timeout=30)
        _clients[url] = c
    return c


def descriptor_of(d: dict) -> fl.FlightDescriptor:
    if "path" in d:
        return fl.FlightDescriptor.for_path(*d["path"])
    return fl.FlightDescriptor.for_command(json.dumps(d["cmd"]).encode())


def full_get(client: fl.FlightClient, descriptor: fl.FlightDescriptor) -> dict:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    info = client.get_flight_info(descriptor)
    t_plan = time.perf_counter()
    rows = nbytes = batches = 0
    first_batch = None
    endpoint_wait = 0.0
    for endpoint in info.endpoints:
        # Locations are ignored: both servers list none (or themselves).
        t_call = time.perf_counter()
        waiting = True
        reader = client.do_get(endpoint.ticket)
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                break
            batch = chunk.data
            if batch is None:
                continue
            if first_batch is None:
                first_batch = time.perf_counter() - t0
            if waiting:
                endpoint_wait += time.perf_counter() - t_call
                waiting = False
            rows += batch.num_rows
            nbytes += batch.nbytes
            batches += 1
    t_end = time.perf_counter()
    return {
        "seconds": t_end - t0,
        "plan_seconds": t_plan - t0,
        "first_batch_seconds": first_batch,
        "endpoint_wait_seconds": endpoint_wait,
        "rows": rows,
        "bytes": nbytes,
        "batches": batches,
        "endpoints": len(info.endpoints),
        "total_records": info.total_records,
        "total_bytes": info.total_bytes,
        # This process's CPU (all threads, gRPC's included) over the read: what decoding it cost the client.
        "client_cpu_seconds": time.process_time() - cpu0,
    }


def op_get(cmd: dict) -> dict:
    return full_get(client_for(cmd["url"]), descriptor_of(cmd["descriptor"]))


def op_concurrent(cmd: dict) -> dict:
    n = int(cmd.get("streams", 8))
    descriptor = descriptor_of(cmd["descriptor"])
    # One client (one channel) per stream, as n independent analysts would have.
    clients = [fl.FlightClient(cmd["url"]) for _ in range(n)]
    for c in clients:
        c.wait_for_available(timeout=30)
    results: list[dict | BaseException] = [None] * n  # type: ignore[list-item]
    barrier = threading.Barrier(n + 1)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = full_get(clients[i], descriptor)
        except BaseException as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    for c in clients:
        c.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return {
        "seconds": seconds,
        "rows": sum(r["rows"] for r in results),
        "bytes": sum(r["bytes"] for r in results),
        "streams": n,
        "stream_seconds": [r["seconds"] for r in results],
    }


def load_ipc(path: str) -> pa.Table:
    table = _loaded.get(path)
    if table is None:
        with pa.OSFile(path) as f:
            table = pa.ipc.open_file(f).read_all()
        _loaded[path] = table
    return table


def op_put(cmd: dict) -> dict:
    table = load_ipc(cmd["file"])
    batches = table.to_batches()
    client = client_for(cmd["url"])
    descriptor = fl.FlightDescriptor.for_path(*cmd["path"])
    t0 = time.perf_counter()
    writer, meta_reader = client.do_put(descriptor, table.schema)
    for batch in batches:
        writer.write_batch(batch)
    writer.done_writing()
    ack = meta_reader.read()
    writer.close()
    seconds = time.perf_counter() - t0
    result = None
    if ack is not None and ack.size > 0:
        try:
            result = json.loads(ack.to_pybytes())
        except ValueError:
            result = ack.to_pybytes().decode(errors="replace")
    return {"seconds": seconds, "rows": table.num_rows, "bytes": table.nbytes, "batches": len(batches), "result": result}


def op_action(cmd: dict) -> dict:
    client = client_for(cmd["url"])
    action = fl.Action(cmd["type"], json.dumps(cmd.get("body", {})).encode())
    out = None
    for r in client.do_action(action):
        if out is None:
            body = r.body.to_pybytes()
            out = json.loads(body) if body else None
    return {"result": out}


OPS = {"get": op_get, "concurrent": op_concurrent, "put": op_put, "action": op_action}


def main() -> int:
    print(json.dumps({"ready": True, "pyarrow": pa.__version__}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        if cmd.get("op") == "unload":
            _loaded.clear()
            print(json.dumps({"ok": True}), flush=True)
            continue
        try:
            out = {"ok": True, **OPS[cmd["op"]](cmd)}
        except Exception as e:
            out = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)}
        print(json.dumps(out), flush=True)
    for c in _clients.values():
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
