"""A minimal OSV-compatible API on 127.0.0.1 serving an AdvisoryDB.

pip-audit's OSV service posts one `/v1/query` per dependency; `/v1/querybatch`
and `GET /v1/vulns/<id>` are served too. Lives only for the duration of a scan.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .advisories import AdvisoryDB


class _Handler(BaseHTTPRequestHandler):
    db: AdvisoryDB  # set on a subclass per server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the scan's own output is what matters

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _query(self, q: Any) -> dict[str, Any]:
        if not isinstance(q, dict):
            return {}
        pkg = q.get("package") or {}
        name, eco, version = pkg.get("name"), pkg.get("ecosystem", "PyPI"), q.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return {}
        vulns = self.db.query(str(eco), name, version)
        return {"vulns": list(vulns)} if vulns else {}

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"code": 3, "message": "invalid JSON"})
            return
        if self.path.rstrip("/") == "/v1/query":
            self._send(200, self._query(body))
        elif self.path.rstrip("/") == "/v1/querybatch":
            queries = body.get("queries") if isinstance(body, dict) else None
            results = [
                {"vulns": [{"id": v["id"], "modified": v.get("modified", "")}
                           for v in self._query(q).get("vulns", [])]}
                for q in (queries or [])
            ]
            self._send(200, {"results": results})
        else:
            self._send(404, {"code": 5, "message": "not found"})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        record = self.db.get(self.path[len(prefix):]) if self.path.startswith(prefix) else None
        if record is None:
            self._send(404, {"code": 5, "message": "Bug not found."})
        else:
            self._send(200, record)


class OsvServer:
    """`with OsvServer(db) as server: server.query_url` — bound to 127.0.0.1 only."""

    def __init__(self, db: AdvisoryDB) -> None:
        handler = type("Handler", (_Handler,), {"db": db})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/v1/query"

    def __enter__(self) -> OsvServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
