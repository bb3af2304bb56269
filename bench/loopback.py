"""The loopback TCP limit: a sender process and a receiver process move --bytes over 127.0.0.1.

The sender writes one preallocated 4 MiB buffer repeatedly with sendall; the receiver recv_into's a
preallocated buffer and counts (no copies beyond the kernel's). Each repetition is timed by the
receiver from its first byte to the last. Prints {"reps":[{"seconds","bytes","gbps"}...]} (GB = 1e9).

  loopback.py --bytes 2000000000 --reps 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import sys
import time

CHUNK = 4 * 1024 * 1024


def send(port: int, total: int) -> None:
    buf = bytearray(CHUNK)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        left = total
        view = memoryview(buf)
        while left > 0:
            n = min(left, CHUNK)
            s.sendall(view[:n])
            left -= n


def receive_once(total: int) -> dict:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    sender = mp.get_context("spawn").Process(target=send, args=(port, total))
    sender.start()
    conn, _ = srv.accept()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    got = conn.recv_into(view)
    t0 = time.perf_counter()
    while got < total:
        n = conn.recv_into(view)
        if n == 0:
            break
        got += n
    seconds = time.perf_counter() - t0
    conn.close()
    srv.close()
    sender.join()
    return {"seconds": seconds, "bytes": got, "gbps": got / seconds / 1e9}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bytes", type=int, default=2_000_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    reps = [receive_once(args.bytes) for _ in range(args.reps)]
    print(json.dumps({"reps": reps}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
