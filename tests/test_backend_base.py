"""serve.py (services/backend_base.py) writes the server's root into the HTML shell, so Streamlit's page asks /_stcore/health first instead of
guessing /PAGE/_stcore/health (a 404); every other response passes untouched. The browser check (no 404 on a deep
link) is in test_lesson_browser.py."""
from __future__ import annotations

import asyncio
import gzip
import re

import pytest

from services import backend_base as serve

SHELL = b'<!doctype html><html lang="en"><head><meta charset="UTF-8" /><script type="module" src="./x.js">' \
        b"</script></head><body></body></html>"


def run(response_headers: list[tuple[bytes, bytes]], body: bytes, method: str = "GET", chunks: int = 1):
    """Drive the middleware over an app that answers `body` in `chunks` parts; what reaches the client."""
    sent: list[dict] = []

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        size = -(-len(body) // chunks)
        for i in range(chunks):
            await send({"type": "http.response.body", "body": body[i * size:(i + 1) * size],
                        "more_body": i < chunks - 1})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/fill-mask", "headers": []}
    asyncio.run(serve.BackendBase(inner)(scope, receive, send))
    headers = {k: v for k, v in sent[0]["headers"]}
    return headers, b"".join(m.get("body", b"") for m in sent[1:])


def base_url(html: bytes) -> str:
    match = re.search(rb'BACKEND_BASE_URL: new URL\("([^"]*)", window.location.origin\)', html)
    assert match, html
    return match.group(1).decode()


def test_the_shell_names_the_servers_root_before_the_pages_script():
    headers, html = run([(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"%d" % len(SHELL))],
                        SHELL, chunks=3)
    assert base_url(html) == "/"
    assert html.index(b"BACKEND_BASE_URL") < html.index(b'type="module"')
    assert int(headers[b"content-length"]) == len(html)
    assert html.replace(serve.base_script(""), b"") == SHELL


def test_a_gzipped_shell_is_sent_plain_with_the_script():
    headers, html = run([(b"content-type", b"text/html"), (b"content-encoding", b"gzip")], gzip.compress(SHELL))
    assert b"content-encoding" not in headers and base_url(html) == "/"
    assert int(headers[b"content-length"]) == len(html)


@pytest.mark.parametrize("base, expected", [("", "/"), ("lens", "/lens/"), ("/lens/", "/lens/"),
                                            ("a/b", "/a/b/")])
def test_the_root_follows_the_base_url_path(base, expected):
    assert base_url(serve.with_base(SHELL, base)) == expected


@pytest.mark.parametrize("content_type, method", [(b"application/javascript", "GET"), (b"text/plain", "GET"),
                                                  (b"text/html", "POST")])
def test_every_other_response_passes_untouched(content_type, method):
    body = b"ok <head> stays"
    headers, sent = run([(b"content-type", content_type)], body, method=method, chunks=2)
    assert sent == body and headers == {b"content-type": content_type}
