"""The command line calls the same core as the pages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bertlens.cli import main
from bertlens.fill_mask import Filters, fill_mask, score_words
from bertlens.nsp import rank_next_sentences

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_fill_mask_json_equals_core(lm, tiny_model_dir, capsys):
    text = "The man worked as a [MASK]."
    code, out, _ = run_cli(capsys, "fill-mask", text, "--model", str(tiny_model_dir), "--top-k", "7",
                           "--targets", "firefighter,doctor", "--json")
    assert code == 0
    data = json.loads(out)
    expected = fill_mask(lm, text, top_k=7, filters=Filters())
    assert [c["token"] for c in data["result"]["masks"][0]["candidates"]] == \
        [c.token for c in expected.masks[0].candidates]
    assert data["result"]["completed"] == expected.completed
    targets = score_words(lm, text, ["firefighter", "doctor"])
    assert [t["log_probability"] for t in data["targets"]] == pytest.approx([t.log_probability for t in targets])
    assert data["targets"][0]["multi_piece"] is True
    assert data["model"]["random_weights"] is True


def test_fill_mask_text_output(tiny_model_dir, capsys):
    code, out, err = run_cli(capsys, "fill-mask", "A [MASK] and a [MASK].", "--model", str(tiny_model_dir))
    assert code == 0
    assert out.count("[MASK] #") == 2 and "completed:" in out
    assert "RANDOM weights" in err


def test_nsp_ranks_candidates(lm, tiny_model_dir, capsys):
    code, out, _ = run_cli(capsys, "nsp", "I went out.", "It rained.", "Cats purr.", "--model",
                           str(tiny_model_dir), "--json")
    assert code == 0
    got = [r["p_is_next"] for r in json.loads(out)["results"]]
    want = [r.p_is_next for r in rank_next_sentences(lm, "I went out.", ["It rained.", "Cats purr."])]
    assert got == pytest.approx(want)


def test_info(tiny_model_dir, capsys):
    code, out, _ = run_cli(capsys, "info", "--model", str(tiny_model_dir), "--json")
    assert code == 0 and json.loads(out)["layers"] == 2


@pytest.mark.parametrize("args, code, message", [
    (["fill-mask", "no mask here"], 2, "no [MASK]"),
    (["fill-mask", "a [MASK]", "--top-k", "99"], 2, "top-k"),
    (["nsp", "A.", ""], 2, "empty"),
])
def test_bad_input_exit_codes(tiny_model_dir, capsys, args, code, message):
    got, _, err = run_cli(capsys, *args, "--model", str(tiny_model_dir))
    assert got == code
    assert message.lower() in err.lower()


def test_offline_without_weights_prints_help_and_fails(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "BERT_LENS_MODEL": ""}
    for command in (["info"], ["download"]):
        proc = subprocess.run([sys.executable, "-m", "bertlens", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 3
        assert "python -m bertlens download --model bert-large-cased" in proc.stderr


def test_int8_is_an_explicit_precision_named_in_the_output(lm, tiny_model_dir, capsys):
    text = "The man worked as a [MASK]."
    code, out, err = run_cli(capsys, "fill-mask", text, "--model", str(tiny_model_dir), "--device", "cpu",
                             "--dtype", "int8", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model"]["dtype"] == "int8"
    assert "int8" in err and "float32" in err
    code, out, err = run_cli(capsys, "fill-mask", text, "--model", str(tiny_model_dir), "--json")
    assert json.loads(out)["model"]["dtype"] == "float32" and "approximate" not in err


def test_int8_on_a_gpu_is_refused(tiny_model_dir, capsys):
    code, _, err = run_cli(capsys, "fill-mask", "A [MASK].", "--model", str(tiny_model_dir), "--device", "cuda",
                           "--dtype", "int8")
    assert code == 2 and "CPU only" in err


def test_every_command_help_reads_as_printed():
    """argparse %-formats argument help but prints descriptions as written, so a '%%' there reaches the user."""
    import argparse

    from bertlens.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert "stereoset" in commands
    for name, sub in commands.items():
        text = sub.format_help()
        assert "%%" not in text and "%(" not in text, name
