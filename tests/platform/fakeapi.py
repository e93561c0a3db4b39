"""A loopback HTTP server that answers like the GitHub / GitLab REST APIs.

Routes map a request path (with its query) to a queue of answers, each served once; the last
one repeats. Every request is recorded with its headers so tests can assert what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow API)


@dataclass
class FakeApi:
    routes: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def add(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def json(self, path: str, body: Any, status: int = 200, **headers: str) -> None:
        self.add(path, Answer(status=status, body=body, headers=headers))

    def answer(self, path: str) -> Answer:
        queue = self.routes.get(path)
        if not queue:
            return Answer(status=404, body={"message": "Not Found"})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def hits(self, prefix: str) -> int:
        return sum(1 for p, _ in self.seen if p.startswith(prefix))


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            api.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            ans = api.answer(self.path)
            if ans.delay:
                time.sleep(ans.delay)
            data = b"" if ans.body is None else json.dumps(ans.body).encode()
            self.send_response(ans.status)
            for k, v in ans.headers.items():
                self.send_header(k.replace("_", "-"), v.replace("{url}", api.url))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(api: FakeApi) -> Iterator[FakeApi]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
