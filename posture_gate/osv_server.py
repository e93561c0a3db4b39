"""A minimal OSV-compatible API on 127.0.0.1 serving an AdvisoryDB.

pip-audit's OSV service posts one `/v1/query` per dependency; `/v1/querybatch`
and `GET /v1/vulns/<id>` are served too. Lives only for the duration of a scan.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .advisories import AdvisoryDB
from .workers import signals_to_main

MAX_BODY = 1 << 20  # pip-audit sends one small query per package
POLL_S = 0.02


class _Handler(BaseHTTPRequestHandler):
    db: AdvisoryDB  # set on a subclass per server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the scan's own output is what matters

    def _send(self, code: int, body: Any) -> None:
        self._send_bytes(code, json.dumps(body).encode())

    def _send_bytes(self, code: int, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _matches(self, q: Any) -> list[str]:
        if not isinstance(q, dict):
            return []
        pkg = q.get("package")
        pkg = pkg if isinstance(pkg, dict) else {}
        name, eco, version = pkg.get("name"), pkg.get("ecosystem", "PyPI"), q.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return []
        return self.db.matching_ids(str(eco), name, version)

    def _unavailable(self) -> bool:
        """True (503 sent) when the index could not be built: the scan reports why."""
        try:
            self.db.wait()  # an index still being built is waited for
        except Exception:  # the build's error, raised again on the scan's main thread
            self._send(503, {"code": 14, "message": "advisory index unavailable"})
            return True
        return False

    def do_POST(self) -> None:
        if self._unavailable():
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(400, {"code": 3, "message": "bad Content-Length"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"code": 3, "message": "invalid JSON"})
            return
        route = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if route == "/v1/query":
            # The records as the index holds them: no decode and re-encode per request.
            ids = self._matches(body)
            raws = [r for i in ids if (r := self.db.raw(i)) is not None]
            self._send_bytes(200, b'{"vulns":[' + b",".join(raws) + b"]}" if raws else b"{}")
        elif route == "/v1/querybatch":
            queries = body.get("queries") if isinstance(body, dict) else None
            results = [
                {"vulns": [{"id": i, "modified": (self.db.get(i) or {}).get("modified", "")}
                           for i in self._matches(q)]}
                for q in (queries if isinstance(queries, list) else [])
            ]
            self._send(200, {"results": results})
        else:
            self._send(404, {"code": 5, "message": "not found"})

    def do_GET(self) -> None:
        if self._unavailable():
            return
        prefix = "/v1/vulns/"
        path = urllib.parse.urlsplit(self.path).path
        raw = self.db.raw(urllib.parse.unquote(path[len(prefix):])) \
            if path.startswith(prefix) else None
        if raw is None:
            self._send(404, {"code": 5, "message": "Bug not found."})
        else:
            self._send_bytes(200, raw)


class OsvServer:
    """`with OsvServer(db) as server: server.query_url` — bound to 127.0.0.1 only."""

    def __init__(self, db: AdvisoryDB) -> None:
        handler = type("Handler", (_Handler,), {"db": db})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # shutdown() waits for the serve loop to wake up: at the default 0.5 s poll that
        # added up to half a second to every scan's wall time.
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": POLL_S}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/v1/query"

    def __enter__(self) -> OsvServer:
        with signals_to_main():  # it and its request threads leave SIGTERM/SIGINT to main
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
