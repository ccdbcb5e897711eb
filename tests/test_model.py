"""Loading through the real from_pretrained path, and every way it can fail."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from bertlens import Settings, load_model
from bertlens.errors import InputError, MissingHead, ModelFolderError, WeightsUnavailable
from devtools.random_model import REAL_VOCAB_SIZE, VOCAB_PATH, build_random_model, vocabulary

VOCAB_SHA256 = "eeaa9875b23b04b4c54ef759d03db9d1ba1554838f8fb26c5d96fa551df93d02"


def test_info_describes_the_loaded_model(lm, tiny_model_dir):
    info = lm.info
    assert (info.layers, info.heads, info.hidden_size) == (2, 4, 32)
    assert info.parameters == sum(p.numel() for p in lm.model.parameters())
    assert info.random_weights and info.has_mlm and info.has_nsp
    assert info.device == "cpu" and info.dtype == "float32"
    assert lm.model.config._attn_implementation == "eager"
    assert lm.fingerprint().startswith("sha256 ")


def test_real_vocabulary_tokenises_as_the_model_card_says(lm):
    assert len(lm.tokenizer) == REAL_VOCAB_SIZE
    ids = lm.tokenizer("Hello I'm a [MASK] model.")["input_ids"]
    assert ids == [101, 8667, 146, 112, 182, 170, 103, 2235, 119, 102]
    assert lm.tokenizer.tokenize("firefighter") == ["fire", "##fighter"]


def test_shipped_vocabulary_is_bert_large_cased(tmp_path):
    assert hashlib.sha256(VOCAB_PATH.read_bytes()).hexdigest() == VOCAB_SHA256
    assert len(vocabulary()) == REAL_VOCAB_SIZE
    with pytest.raises(RuntimeError, match="missing"):
        build_random_model(tmp_path / "small", vocab_path=tmp_path / "no-vocab.txt")
    short = tmp_path / "short.txt"
    short.write_text("\n".join(vocabulary()[:500]) + "\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="not bert-large-cased"):
        build_random_model(tmp_path / "small", vocab_path=short)


def test_hub_model_offline_without_cache_says_how_to_get_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(WeightsUnavailable) as info:
        load_model(Settings(model="bert-large-cased"))
    message = str(info.value)
    assert "python -m bertlens download --model bert-large-cased" in message
    assert "BERT_LENS_MODEL" in message


def test_missing_folder(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_model(Settings(model=str(tmp_path / "nowhere")))


@pytest.fixture
def copy_of(tiny_model_dir, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, target)
    return target


def test_missing_weights_file(copy_of):
    (copy_of / "model.safetensors").unlink()
    with pytest.raises(ModelFolderError, match="no weights file"):
        load_model(Settings(model=str(copy_of)))


def test_truncated_weights_file(copy_of):
    weights = copy_of / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelFolderError, match="truncated or corrupt|could not be loaded|incomplete or corrupt"):
        load_model(Settings(model=str(copy_of)))


def test_wrong_config(copy_of):
    config = json.loads((copy_of / "config.json").read_text())
    config["hidden_size"] = 48
    (copy_of / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError):
        load_model(Settings(model=str(copy_of)))


def test_model_without_pretraining_heads(tmp_path):
    folder = build_random_model(tmp_path / "base", head="base")
    lm = load_model(Settings(model=str(folder)))
    assert not lm.info.has_mlm and not lm.info.has_nsp
    with pytest.raises(MissingHead, match="masked-language-model"):
        lm.require("mlm")
    with pytest.raises(MissingHead, match="next-sentence"):
        lm.require("nsp")


@pytest.mark.parametrize("overrides", [{"device": "tpu"}, {"dtype": "int3"}])
def test_bad_settings(overrides):
    with pytest.raises(InputError):
        Settings.from_env(**overrides)


def test_settings_read_environment(monkeypatch):
    monkeypatch.setenv("BERT_LENS_MODEL", "/some/folder")
    monkeypatch.setenv("BERT_LENS_DTYPE", "bfloat16")
    monkeypatch.setenv("BERT_LENS_DEVICE", "cpu")
    s = Settings.from_env()
    assert (s.model, s.dtype, s.device) == ("/some/folder", "bfloat16", "cpu")
    assert Settings.from_env(dtype="float32").dtype == "float32"


def test_auto_precision_is_exact_on_every_device(monkeypatch):
    import torch

    assert Settings(device="cpu").resolved_dtype() == "float32"
    assert Settings(device="cpu", dtype="bfloat16").resolved_dtype() == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert Settings().resolved_device() == "cuda"
    assert Settings().resolved_dtype() == "float32"
    assert Settings(device="cuda", dtype="float16").resolved_dtype() == "float16"
