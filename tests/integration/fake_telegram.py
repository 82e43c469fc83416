"""A local HTTP server speaking the two Bot API methods the control channel uses (getUpdates, sendMessage), with
a queue of incoming messages and a log of what was sent: Telegram stands in on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._next_id = 1
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.paths.append(self.path)
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                method = self.path[len(prefix):]
                with fake._lock:
                    if method == "getUpdates":
                        offset = int(body.get("offset", 0))
                        result = [u for u in fake.updates if u["update_id"] >= offset]
                        return self._reply(200, {"ok": True, "result": result})
                    if method == "sendMessage":
                        fake.sent.append(body)
                        return self._reply(200, {"ok": True, "result": {"message_id": len(fake.sent)}})
                return self._reply(404, {"ok": False, "description": "Not Found"})

            def _reply(self, code: int, doc: dict[str, Any]) -> None:
                data = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def say(self, chat_id: int | str, text: str) -> None:
        """A user writes `text` in chat `chat_id`."""
        with self._lock:
            self.updates.append({"update_id": self._next_id,
                                 "message": {"message_id": self._next_id, "chat": {"id": int(chat_id)}, "text": text}})
            self._next_id += 1

    def replies(self, chat_id: int | str) -> list[str]:
        return [m["text"] for m in self.sent if str(m["chat_id"]) == str(chat_id)]
