"""Ray for a public audit: `ray[client]` is installed by requirements-dev.txt, an address that does not answer fails
within 30 s with exit 2, and every other failure to connect is one message, not a traceback."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bertlens.bias import cluster
from bertlens.errors import InputError
from net_support import closed_port, http_listener, silent_listener

ROOT = Path(__file__).resolve().parent.parent


def test_ray_client_is_installed_and_pinned():
    assert importlib.util.find_spec("ray") is not None and importlib.util.find_spec("grpc") is not None
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert "ray[client]==2.60.0" in lines and any(line.startswith("grpcio==") for line in lines)


@pytest.mark.parametrize("address", ["http://host:1", "ray://", "host:port", "ray://a b:1", "h:70000"])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(InputError, match="Ray address|valid port"):
        cluster.check_address(address)


def test_a_refused_port_fails_at_once():
    for address in (f"127.0.0.1:{closed_port()}", f"ray://127.0.0.1:{closed_port()}"):
        started = time.monotonic()
        with pytest.raises(InputError, match="cannot be reached"):
            cluster.check_address(address)
        assert time.monotonic() - started < 5


def test_a_silent_port_fails_after_the_connect_timeout():
    with silent_listener() as port:
        started = time.monotonic()
        with pytest.raises(InputError, match="does not answer"):
            cluster.check_address(f"ray://127.0.0.1:{port}", timeout=1.0)
        assert time.monotonic() - started < 5


def test_a_web_server_is_not_taken_for_ray():
    with http_listener() as port:
        with pytest.raises(InputError, match="not as a Ray cluster"):
            cluster.check_address(f"127.0.0.1:{port}")


def test_the_command_line_gives_up_on_a_dead_address_within_30_s_with_exit_2(tmp_path):
    """As a user runs it: a fresh process, Ray imported, the default timeout, an address that never answers."""
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"bertlens_audit": 1, "models": ["m"], "metrics": ["crows"]}))
    with silent_listener() as port:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bertlens", "audit", str(config), "--ray", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        took = time.monotonic() - started
    assert done.returncode == 2, done.stderr[-2000:]
    assert took < 30, f"took {took:.0f} s"
    assert "does not answer" in done.stderr and "Traceback" not in done.stderr
