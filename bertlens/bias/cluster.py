"""One audit fanned out over a Ray cluster: one task per checkpoint, the weights loaded on the worker.

Ray is optional (`pip install "ray[client]==2.60.0"`, see the README's "Scale" section) and imported only here, only
when asked for. Without an address a private local cluster is started on loopback (127.0.0.1) with no dashboard and
Ray's usage statistics off, so nothing is opened beyond this machine; with an address (`ray://host:10001` or
`host:6379`) the tasks go to that cluster, whose workers need BERT Lens importable. A task that raises or whose worker
dies is retried by Ray (`MAX_RETRIES`); a checkpoint that still fails is one failed row, never a crashed audit.

An address is checked before Ray is asked to join it (`check_address`): it must accept a TCP connection and answer
the HTTP/2 greeting that every Ray endpoint (GCS and Ray Client, both gRPC) answers, within `CONNECT_TIMEOUT_S`.
Ray's own connection loop retries a silent address for minutes, in native code that cannot be interrupted; this
check turns that into one InputError within seconds. Every other failure to connect is an InputError too.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import sys
from pathlib import Path
from typing import Any, Sequence

from bertlens.bias.audit import audit_checkpoint
from bertlens.errors import InputError

MAX_RETRIES = 2
LOCAL_HOST = "127.0.0.1"
OBJECT_STORE_BYTES = 128 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
CONNECT_TIMEOUT_S = 10.0
CLIENT_PORT = 10001
GCS_PORT = 6379
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS = 4


def import_ray():
    """The `ray` module, or an InputError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--ray needs Ray, which is optional: pip install \"ray[client]==2.60.0\" (see the README's "
                         "'Scale' section), or leave out --ray to run the checkpoints here in sequence.") from exc
    return ray


def split_address(address: str) -> tuple[str, int, bool]:
    """(host, port, is a Ray Client address) of `ray://host:port` (default port 10001) or `host:port` (6379).
    Raises InputError for anything else."""
    client = address.startswith("ray://")
    rest = address[len("ray://"):] if client else address
    host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    host = host.strip("[]")
    if not host or any(c in host for c in "/@?# ") or (port and not port.isdigit()):
        raise InputError(f"'{address}' is not a Ray address: use ray://HOST:10001 (Ray Client) or HOST:6379.")
    number = int(port) if port else (CLIENT_PORT if client else GCS_PORT)
    if not 0 < number < 65536:
        raise InputError(f"'{address}' has no valid port (1 to 65535).")
    return host, number, client


def check_address(address: str, timeout: float | None = None) -> None:
    """Raise InputError unless `address` answers like a Ray endpoint (a gRPC server) within `timeout` seconds."""
    host, port, _ = split_address(address)
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(_HTTP2_PREFACE)
            header = _read(connection, 9)
    except socket.timeout:
        raise InputError(f"The Ray cluster at {address} does not answer (nothing within {timeout:g} s). Check the "
                         "address and that the cluster is running.") from None
    except OSError as exc:
        raise InputError(f"The Ray cluster at {address} cannot be reached: {exc.strerror or exc}. Check the address "
                         "and that the cluster is running.") from None
    if len(header) < 9 or header[3] != _SETTINGS:
        raise InputError(f"{address} answers, but not as a Ray cluster does (no gRPC greeting). Check the port: "
                         f"{CLIENT_PORT} for ray://, {GCS_PORT} for the head's GCS.")


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def start(address: str | None = None, num_cpus: int | None = None):
    """Connect to the cluster at `address`, or start a local one on loopback. Returns the `ray` module."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    if not address:
        os.environ[LOOPBACK_ENV] = "0"
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if not address:
        _loopback_only()
    if address:
        _, _, client = split_address(address)
        if client and importlib.util.find_spec("grpc") is None:
            raise InputError("A ray:// address needs Ray Client: pip install \"ray[client]==2.60.0\".")
        check_address(address)
        try:
            ray.init(address=address, log_to_driver=False,
                     runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0", "TOKENIZERS_PARALLELISM": "false"}})
        except Exception as exc:  # Ray's own errors: one line for the user, not its traceback
            lines = str(exc).strip().splitlines()
            raise InputError(f"Cannot join the Ray cluster at {address}: {type(exc).__name__}: "
                             f"{lines[0] if lines else ''}") from None
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, _node_ip_address=LOCAL_HOST,
                 object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False,
                 runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
    return ray


def _loopback_only() -> None:
    """Ray resolves 127.0.0.1 to the machine's routable address unless its cluster mode is off
    (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, read when ray is imported); this applies it when ray was imported before,
    so every process of the local cluster binds loopback only."""
    try:
        from ray._private import ray_constants
    except ImportError:
        return
    ray_constants.ENABLE_RAY_CLUSTER = False


def ray_runner(address: str | None = None, num_cpus: int | None = None):
    """A runner for `bertlens.bias.audit.run_audit`: every checkpoint a Ray task, rows back in the models' order.
    A cluster it started (or connected to) is shut down after the run; one already running is left as it was."""

    def run(config_data: dict[str, Any], models: Sequence[str]) -> list[dict[str, Any]]:
        owned = sys.modules.get("ray") is None or not sys.modules["ray"].is_initialized()
        ray = start(address, num_cpus)
        try:
            return _gather(ray, config_data, models)
        finally:
            if owned:
                ray.shutdown()

    return run


def _gather(ray, config_data: dict[str, Any], models: Sequence[str]) -> list[dict[str, Any]]:
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(audit_checkpoint)
    refs = [task.remote(config_data, model) for model in models]
    rows = []
    for model, ref in zip(models, refs):
        try:
            rows.append(ray.get(ref))
        except Exception as exc:  # the task failed after Ray's retries: one failed row
            lines = str(exc).strip().splitlines()
            rows.append({"model": model, "status": "failed",
                         "reason": f"Ray task failed after {MAX_RETRIES} retries: {type(exc).__name__}: "
                                   f"{lines[-1] if lines else ''}"})
    return rows


def where(address: str | None) -> str:
    return f"Ray cluster at {address}" if address else "a local Ray cluster (127.0.0.1, one task per checkpoint)"
