"""Shared fixtures: a tiny random BertForPreTraining on the real vocabulary, loaded through the real path."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bertlens import Settings, load_model  # noqa: E402
from devtools.random_model import build_random_model  # noqa: E402

REAL_WEIGHTS = os.environ.get("BERT_LENS_REAL_MODEL", "bert-large-cased")


def pytest_configure(config):
    config.addinivalue_line("markers", "real_weights: needs the real bert-large-cased weights (skipped without them)")
    config.addinivalue_line("markers", "browser: drives headless chromium against a running app")
    config.addinivalue_line("markers", "load: many concurrent sessions against a running app")
    config.addinivalue_line("markers", "deploy: Debian's nginx with deploy/'s configuration in front of two replicas")
    config.addinivalue_line("markers", "container: builds deploy/Dockerfile and runs its health check")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Many small passes of a tiny model: one torch thread is many times faster than two on a shared 2-core
    machine. A module takes it with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    folder = build_random_model(tmp_path_factory.mktemp("models") / "tiny-bert", size="tiny")
    os.environ["BERT_LENS_MODEL"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def lm(tiny_model_dir):
    return load_model(Settings(model=str(tiny_model_dir), device="cpu", dtype="float32"))


@pytest.fixture(scope="session")
def real_lm():
    """The real bert-large-cased from the local cache, or the folder BERT_LENS_REAL_MODEL names; else skip."""
    from bertlens.errors import BertLensError

    try:
        lm = load_model(Settings(model=REAL_WEIGHTS, device="cpu", dtype="float32"))
    except BertLensError as exc:
        pytest.skip(f"real weights not available: {str(exc).splitlines()[0]}")
    if lm.info.random_weights:
        pytest.skip("BERT_LENS_REAL_MODEL points at a random-weight model")
    return lm


@pytest.fixture
def app_env(tiny_model_dir, monkeypatch):
    """Environment for AppTest: the tiny model, offline."""
    monkeypatch.setenv("BERT_LENS_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("BERT_LENS_DEVICE", "cpu")
    monkeypatch.chdir(ROOT)
    return tiny_model_dir


@pytest.fixture
def passes(monkeypatch) -> list[int]:
    """Grows by one entry for every encoder forward pass, in any model instance (transformers' BertEncoder)."""
    from transformers.models.bert import modeling_bert

    calls: list[int] = []
    original = modeling_bert.BertEncoder.forward

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(modeling_bert.BertEncoder, "forward", counted)
    return calls


@pytest.fixture(autouse=True)
def fresh_result_store():
    """Each test starts with an empty result store: the app's store is process-wide (as on a server), so without
    this a page would show results another test computed."""
    jobs = sys.modules.get("services.jobs")
    if jobs is not None:
        from app_support import job_runner

        runner = job_runner()
        deadline = time.monotonic() + 120
        while not runner.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.store.clear()
    yield
