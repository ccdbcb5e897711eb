"""Deep links without a 404: an ASGI middleware that writes the server's root into Streamlit's HTML shell.

Streamlit's page cannot tell a page's path from a base path: opened at /fill-mask, it first asks for
/fill-mask/_stcore/health and /fill-mask/_stcore/host-config (two 404s in every log and network panel), then for
/_stcore/health (streamlit/streamlit#7074, open). The page reads `window.__streamlit.BACKEND_BASE_URL` first when a
host sets it, so the middleware sets it in the shell to the server's root (server.baseUrlPath), which the page then
asks first and only. The shell is some 1.5 KB; every other response passes untouched. serve.py installs it.
"""
from __future__ import annotations

import gzip
import json
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD = b"<head>"


def base_script(base_url_path: str) -> bytes:
    """The inline script that tells the page where the server's root is, on the page's own origin."""
    base = "/" + "/".join(part for part in base_url_path.split("/") if part)
    base = base if base.endswith("/") else base + "/"
    return (f"<script>window.__streamlit = Object.assign(window.__streamlit || {{}}, "
            f"{{BACKEND_BASE_URL: new URL({json.dumps(base)}, window.location.origin).href}});</script>").encode()


def with_base(html: bytes, base_url_path: str) -> bytes:
    """The shell with the script as the first thing in its head (it must run before the page's module script)."""
    at = html.find(HEAD)
    return html if at < 0 else html[:at + len(HEAD)] + base_script(base_url_path) + html[at + len(HEAD):]


class BackendBase:
    """ASGI middleware: a GET answered with HTML gets `base_script` (unzipped first if Streamlit gzipped it);
    `base_url_path()` is read per response, so it follows the server's setting however it was given."""

    def __init__(self, app: ASGIApp, base_url_path: Callable[[], str] = lambda: "") -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body"):
                await self.send_shell(send, start, b"".join(body))

        await self.app(scope, receive, capture)

    async def send_shell(self, send: Send, start: Message, html: bytes) -> None:
        headers = [(k, v) for k, v in start.get("headers", [])
                   if k.lower() not in (b"content-length", b"content-encoding")]
        encoding = {k.lower(): v for k, v in start.get("headers", [])}.get(b"content-encoding", b"")
        if encoding == b"gzip":
            html = gzip.decompress(html)
        html = with_base(html, self.base_url_path() or "")
        headers.append((b"content-length", str(len(html)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": html})
