"""One audit fanned out over a Ray cluster: one task per checkpoint, the weights loaded on the worker.

Ray is optional (`pip install "ray==2.60.0"`, see the README's "Scale" section) and imported only here, only when
asked for. Without an address a private local cluster is started on loopback (127.0.0.1) with no dashboard and
Ray's usage statistics off, so nothing is opened beyond this machine; with an address (`ray://host:10001` or
`host:6379`) the tasks go to that cluster, whose workers need BERT Lens importable. A task that raises or whose worker
dies is retried by Ray (`MAX_RETRIES`); a checkpoint that still fails is one failed row, never a crashed audit.
"""
from __future__ import annotations

import os
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


def import_ray():
    """The `ray` module, or an InputError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--ray needs Ray, which is optional: pip install \"ray==2.60.0\" (see the README's "
                         "'Scale' section), or leave out --ray to run the checkpoints here in sequence.") from exc
    return ray


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
        ray.init(address=address, log_to_driver=False,
                 runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0", "TOKENIZERS_PARALLELISM": "false"}})
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
