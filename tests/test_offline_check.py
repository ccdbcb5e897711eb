"""Offline, the app shows how to get the weights within seconds: the hub check is one bounded HTTPS request, name
lookup included, and a server that accepts connections but never answers (a captive portal, a firewall that drops
the traffic) counts as offline."""
from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

from bertlens import model as model_module
from bertlens.download import needs_download
from bertlens.model import hub_reachable
from net_support import http_listener, silent_listener

SLACK = 1.5  # seconds over the check's own budget for a thread start on a busy machine


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Each test starts with no remembered verdict and without the test suite's HF_HUB_OFFLINE=1."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(model_module, "_HUB_VERDICTS", {})


class NotFound(http.server.BaseHTTPRequestHandler):
    """Answers every request with 404: a server that answers at all is reachable."""

    def do_HEAD(self):
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_server_that_never_answers_is_offline_within_the_budget(monkeypatch):
    with silent_listener() as port:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        start = time.monotonic()
        assert hub_reachable(timeout=1.0) is False
        assert time.monotonic() - start < 1.0 + SLACK


def test_a_name_lookup_that_hangs_is_offline_within_the_budget(monkeypatch):
    release = threading.Event()

    def hanging_lookup(*args, **kwargs):
        release.wait(30)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    try:
        start = time.monotonic()
        assert hub_reachable(timeout=1.0) is False
        assert time.monotonic() - start < 1.0 + SLACK
    finally:
        release.set()


def test_a_server_that_answers_is_reachable_and_an_offline_verdict_is_remembered(monkeypatch):
    with http_listener(NotFound) as port:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_reachable(timeout=2.0) is True
    with silent_listener() as port:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_reachable(timeout=1.0) is False
        start = time.monotonic()
        assert hub_reachable(timeout=1.0) is False
        assert time.monotonic() - start < 0.5, "the second page view must not wait again"


def test_hf_hub_offline_means_offline_without_a_request(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(model_module, "_answers", lambda *a: pytest.fail("no request when HF_HUB_OFFLINE is set"))
    assert hub_reachable() is False


def test_needs_download_says_no_quickly_behind_a_black_hole(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with silent_listener() as port:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        start = time.monotonic()
        assert needs_download("bert-large-cased") is False
        assert time.monotonic() - start < model_module.HUB_CHECK_SECONDS + SLACK


def test_loading_an_uncached_hub_model_behind_a_black_hole_fails_fast_without_a_load(monkeypatch):
    """The weights panel's path: no from_pretrained at all (even a local-files-only load makes the hub client
    fetch a registry first, 3 s behind a black hole), one bounded check, then WeightsUnavailable."""
    from bertlens import Settings, load_model
    from bertlens.errors import WeightsUnavailable

    monkeypatch.setattr(model_module, "_load", lambda *a, **k: pytest.fail("no load without the weights"))
    with silent_listener() as port:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        start = time.monotonic()
        with pytest.raises(WeightsUnavailable, match="python -m bertlens download"):
            load_model(Settings(model="bertlens-tests/never-cached", device="cpu", dtype="float32"))
        assert time.monotonic() - start < model_module.HUB_CHECK_SECONDS + SLACK
