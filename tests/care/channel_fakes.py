"""A real local SMTP server (aiosmtpd) and a fake SMS gateway over HTTP, for the outbox tests
and the events bench. Both listen on 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from careweave.devtools import free_port


@dataclass
class Inbox:
    """What the SMTP server received; addresses in ``refuse`` get 550."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    peers: list[tuple[str, int]] = field(default_factory=list)  # each message's connection
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.arrived:
            self.messages.append(msg)
            self.peers.append(tuple(session.peer))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Gateway:
    """The fake SMS provider: ``mode`` 'up', 'down' (503, nothing taken) or 'lose' (takes
    the message, then answers 504 as if the reply were lost). One delivery per key."""

    mode: str = "up"
    delivered: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: int = 0


def start_gateway() -> tuple[ThreadingHTTPServer, Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers["Idempotency-Key"]
            state.requests += 1
            if state.mode == "down":
                self.send_response(503)
            else:
                state.delivered.setdefault(key, body)
                self.send_response(504 if state.mode == "lose" else 202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state
