"""Local servers that receive what the cockpit sends out: an HTTP server standing in for
webhooks (WeCom, DingTalk, Slack, a generic one) and an SMTP server standing in for a mail
relay. Both record every request, and both run in a thread on a free loopback port."""
from __future__ import annotations

import json
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict


@dataclass
class WebhookSink:
    """POSTs to http://127.0.0.1:<port>/<path>. `answers[path]` is a list of (status, body)
    given in turn (the last repeats); the default is 200 {"errcode": 0, "errmsg": "ok"}."""

    answers: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length", 0))
                sink.received.append(Received(parsed.path, dict(urllib.parse.parse_qsl(parsed.query)),
                                              json.loads(self.rfile.read(length) or b"{}")))
                queue = sink.answers.get(parsed.path) or [(200, '{"errcode": 0, "errmsg": "ok"}')]
                status, text = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """Enough of SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to accept
    messages; `messages` holds (envelope sender, recipients, parsed message)."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], object]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 localhost test sink")
                sender, recipients = "", []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode().strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        sink.messages.append((sender, recipients, message_from_bytes(b"".join(lines),
                                                                                     policy=policy.default)))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    else:
                        self.reply("502 not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
