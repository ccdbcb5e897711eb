"""Downloading with progress, without the hub: the hub client is replaced at its boundary."""
from __future__ import annotations

import pytest

from bertlens import download as dl
from bertlens.errors import WeightsUnavailable


def test_download_reports_bytes_and_skips_optional_files(monkeypatch, tmp_path):
    from huggingface_hub.errors import EntryNotFoundError

    sizes = {"config.json": 10, "model.safetensors": 1000, "tokenizer.json": 50}

    def fake_download(repo, name, tqdm_class=None):
        if name not in sizes:
            raise EntryNotFoundError(f"{name} missing")
        bar = tqdm_class(total=sizes[name])
        for _ in range(4):
            bar.update(sizes[name] // 4)
        (tmp_path / name).write_text("x")
        return str(tmp_path / name)

    monkeypatch.setattr(dl, "hub_reachable", lambda **_: True)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    seen = []
    folder = dl.download("some/model", lambda name, done, total: seen.append((name, done, total)))
    assert folder == tmp_path
    assert ("model.safetensors", 1000, 1000) in seen
    assert [s for s in seen if s[0] == "config.json"][-1] == ("config.json", 8, 10)


def test_required_file_missing_is_weights_unavailable(monkeypatch):
    from huggingface_hub.errors import EntryNotFoundError

    def fake_download(repo, name, tqdm_class=None):
        raise EntryNotFoundError("nope")

    monkeypatch.setattr(dl, "hub_reachable", lambda **_: True)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    with pytest.raises(WeightsUnavailable, match="no config.json"):
        dl.download("some/model")


def test_unreachable_hub(monkeypatch):
    monkeypatch.setattr(dl, "hub_reachable", lambda **_: False)
    with pytest.raises(WeightsUnavailable, match="not reachable"):
        dl.download("bert-large-cased")
    assert not dl.needs_download("bert-large-cased")


def test_local_folder_never_needs_download(tiny_model_dir):
    assert not dl.needs_download(str(tiny_model_dir))


def test_an_id_the_hub_client_refuses_is_left_to_the_load_to_report(monkeypatch):
    monkeypatch.setattr(dl, "hub_reachable", lambda timeout=None: True)
    assert not dl.is_cached("bert-large-cased")
    assert dl.needs_download("bert-large-cased")
    assert dl.is_cached("not a valid id!!")
    assert not dl.needs_download("not a valid id!!")
