"""`python -m bertlens random-model OUT`: a model a newcomer can try the app with; it says it is random."""
from __future__ import annotations

from pathlib import Path

import pytest

import bertlens
from bertlens import Settings, load_model
from bertlens.cli import main
from bertlens.random_model import REAL_VOCAB_SIZE, VOCAB_PATH


def test_random_model_command_writes_a_model_the_app_loads_and_labels_random(tmp_path, capsys):
    out = tmp_path / "try-me"
    assert main(["random-model", str(out), "--layers", "3", "--seed", "4"]) == 0
    assert f"BERT_LENS_MODEL={out} make run" in capsys.readouterr().err
    lm = load_model(Settings(model=str(out), device="cpu", dtype="float32"))
    info = lm.info
    assert info.random_weights, "every page shows the random-weights banner for this model"
    assert (info.layers, info.heads, info.vocab_size) == (3, 16, REAL_VOCAB_SIZE)
    assert info.has_mlm and info.has_nsp
    assert lm.tokenizer.tokenize("firefighter") == ["fire", "##fighter"]


@pytest.mark.parametrize("extra, message", [(["--layers", "0"], "--layers must be from 1 to 48"),
                                            (["--layers", "49"], "--layers must be from 1 to 48")])
def test_random_model_command_refuses_bad_input(tmp_path, capsys, extra, message):
    assert main(["random-model", str(tmp_path / "m"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_random_model_command_never_writes_over_a_folder(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["random-model", str(tmp_path / "full")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "full" / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_the_vocabulary_ships_inside_the_package():
    package = Path(bertlens.__file__).resolve().parent
    assert VOCAB_PATH.is_relative_to(package) and VOCAB_PATH.is_file()
    for name in ("LICENSE-Apache-2.0.txt", "README.md"):
        assert (VOCAB_PATH.parent / name).is_file()
