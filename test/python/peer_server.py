"""A small pyarrow Flight server that the Node FlightClient is tested against: a peer we did not
write. In-memory tables by path; prints {"port": N} as its first stdout line.

  do_put            stores the stream's table under the descriptor's path (replacing it) and
                    answers one PutResult whose app_metadata is {"rows": N, "batches": B}
  do_get            ticket = the path; streams the stored table batch by batch
  get_flight_info   one endpoint whose ticket is the path
  get_schema        the stored schema
  list_flights      one FlightInfo per stored table
  do_action         'echo' returns the body; 'combine' merges a stored table's batches into one
                    (so DoGet sends one large message); 'fail' raises the error named by the body
  handshake         basic auth when --user/--password are given (the token is then required)
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import threading

import pyarrow as pa
import pyarrow.flight as fl

FAILURES = {
    "not_found": lambda m: pa.ArrowKeyError(m),
    "invalid": lambda m: pa.ArrowInvalid(m),
    "unauthenticated": lambda m: fl.FlightUnauthenticatedError(m),
    "unauthorized": lambda m: fl.FlightUnauthorizedError(m),
    "unimplemented": lambda m: NotImplementedError(m),
    "internal": lambda m: fl.FlightInternalError(m),
}


class BasicAuthMiddlewareFactory(fl.ServerMiddlewareFactory):
    """Basic auth on Handshake returns a bearer token; every other call must carry it."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__()
        self.user = user
        self.password = password
        self.tokens: set[str] = set()

    def start_call(self, info, headers):
        auth = _header(headers, "authorization")
        if info.method == fl.FlightMethod.HANDSHAKE:
            if not auth or not auth.startswith("Basic "):
                raise fl.FlightUnauthenticatedError("basic credentials required")
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if (user, password) != (self.user, self.password):
                raise fl.FlightUnauthenticatedError("wrong user or password")
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return _BearerMiddleware(token)
        if not auth or not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            raise fl.FlightUnauthenticatedError("bearer token required")
        return None


class _BearerMiddleware(fl.ServerMiddleware):
    def __init__(self, token: str) -> None:
        self.token = token

    def sending_headers(self):
        return {"authorization": f"Bearer {self.token}"}


def _header(headers, name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() == name and values:
            v = values[0]
            return v.decode() if isinstance(v, bytes) else v
    return None


class HeaderOnlyAuthHandler(fl.ServerAuthHandler):
    """Lets Handshake through without a payload; the middleware does the real checking."""

    def authenticate(self, outgoing, incoming):
        pass

    def is_valid(self, token):
        return ""


class PeerServer(fl.FlightServerBase):
    def __init__(self, location: str, middleware=None) -> None:
        super().__init__(
            location,
            auth_handler=HeaderOnlyAuthHandler() if middleware else None,
            middleware=middleware or {},
        )
        self.tables: dict[str, pa.Table] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _key(descriptor: fl.FlightDescriptor) -> str:
        if descriptor.descriptor_type != fl.DescriptorType.PATH or not descriptor.path:
            raise pa.ArrowInvalid("descriptor must be a PATH")
        return "/".join(p.decode() for p in descriptor.path)

    def _table(self, key: str) -> pa.Table:
        with self.lock:
            table = self.tables.get(key)
        if table is None:
            raise pa.ArrowKeyError(f"no table at path {key!r}")
        return table

    def _info(self, key: str, table: pa.Table) -> fl.FlightInfo:
        descriptor = fl.FlightDescriptor.for_path(*key.split("/"))
        endpoint = fl.FlightEndpoint(key.encode(), [])
        return fl.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, table.nbytes)

    def do_put(self, context, descriptor, reader, writer):
        key = self._key(descriptor)
        batches = []
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                break
            if chunk.data is not None:
                batches.append(chunk.data)
        table = pa.Table.from_batches(batches, schema=reader.schema)
        with self.lock:
            self.tables[key] = table
        writer.write(pa.py_buffer(json.dumps({"rows": table.num_rows, "batches": len(batches)}).encode()))

    def do_get(self, context, ticket):
        table = self._table(ticket.ticket.decode())
        return fl.RecordBatchStream(table)

    def get_flight_info(self, context, descriptor):
        key = self._key(descriptor)
        return self._info(key, self._table(key))

    def get_schema(self, context, descriptor):
        return fl.SchemaResult(self._table(self._key(descriptor)).schema)

    def list_flights(self, context, criteria):
        with self.lock:
            items = list(self.tables.items())
        for key, table in items:
            yield self._info(key, table)

    def list_actions(self, context):
        return [
            ("echo", "returns the body"),
            ("combine", "merges the batches stored at body.path into one"),
            ("fail", "raises the error named by the body"),
        ]

    def do_action(self, context, action):
        if action.type == "echo":
            return [action.body.to_pybytes()]
        if action.type == "combine":
            key = json.loads(action.body.to_pybytes())["path"]
            with self.lock:
                table = self.tables[key].combine_chunks()
                self.tables[key] = table
            return [json.dumps({"rows": table.num_rows, "batches": len(table.to_batches())}).encode()]
        if action.type == "fail":
            body = json.loads(action.body.to_pybytes() or b"{}")
            make = FAILURES.get(body.get("kind"))
            if make is None:
                raise pa.ArrowInvalid(f"unknown failure kind {body.get('kind')!r}")
            raise make(body.get("message", "failed on purpose"))
        raise NotImplementedError(f"unknown action {action.type!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    middleware = {}
    if args.user:
        middleware["auth"] = BasicAuthMiddlewareFactory(args.user, args.password or "")
    server = PeerServer(f"grpc://{args.host}:0", middleware=middleware)
    print(json.dumps({"port": server.port}), flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
