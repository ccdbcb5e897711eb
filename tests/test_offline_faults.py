"""Offline and broken models: every page and the command line say what is wrong and how to fix it.

- No network, no cached weights: every page shows the "how to get the weights" panel; the CLI exits non-zero with
  the same help.
- A corrupt or incomplete model folder gets a message naming the problem, in the core and on the page.
- A checkpoint without pre-training heads still opens the attention page; the other pages name the missing head.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens import Settings, load_model
from bertlens.errors import ModelFolderError, weights_help
from devtools.random_model import build_random_model
from browser_support import app_pages

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
HUB_ID = "bert-large-cased"
PAGES = [page.script for page in app_pages()]  # the default page first
HOME = PAGES[0]
# The pre-training head each page needs (by page name); None: the page works on a plain BertModel.
HEAD_NEEDED = {
    "home": None,
    "glossary": None,
    "attention": None,
    "fill_mask": "masked-language-model (MLM)",
    "next_sentence": "next-sentence-prediction (NSP)",
    "bias_probe": "masked-language-model (MLM)",
    "explain": "masked-language-model (MLM)",
    "counterfactual": "masked-language-model (MLM)",
    "heads": "masked-language-model (MLM)",
    "debias": "masked-language-model (MLM)",  # the probe, CrowS and the language-model cost read the MLM
}
TRACEBACK = re.compile(r"Traceback|File \"|Error\(|^\w+Error:", re.MULTILINE)


def offline_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "empty-hf-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
    env.update({"HF_HUB_OFFLINE": "1", "HF_HOME": str(home), "BERT_LENS_MODEL": HUB_ID, "BERT_LENS_DEVICE": "cpu",
                "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)})
    return env


# AppTest runs in a fresh interpreter: huggingface_hub reads HF_HOME when first imported, and this test process
# has imported it already.
_PAGES_OFFLINE = textwrap.dedent("""
    import json, sys
    from streamlit.testing.v1 import AppTest
    out = {}
    for number, page in enumerate(sys.argv[2:]):
        at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
        if number:  # the first is the default page
            at.switch_page(page).run()
        out[page] = {
            "exception": [str(e.value) for e in at.exception],
            "error": [e.value for e in at.error],
            "markdown": [m.value for m in at.markdown],
            "code": [c.value for c in at.code],
            "text": [t.value for t in at.text],
        }
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def offline_pages(tmp_path_factory) -> dict:
    env = offline_env(tmp_path_factory.mktemp("offline"))
    done = subprocess.run([sys.executable, "-c", _PAGES_OFFLINE, APP, *PAGES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("page", PAGES)
def test_offline_every_page_shows_the_weights_panel(offline_pages, page):
    shown = offline_pages[page]
    assert not shown["exception"], shown["exception"]
    assert any("not available on this machine" in e and HUB_ID in e.replace("\\", "") for e in shown["error"]), \
        shown["error"]
    assert f"python -m bertlens download --model {HUB_ID}" in shown["code"]
    assert any("BERT_LENS_MODEL=" in c for c in shown["code"])
    assert not any(TRACEBACK.search(text) for text in shown["error"] + shown["text"])


@pytest.mark.parametrize("argv", [["info"], ["fill-mask", "Hello I'm a [MASK] model."]])
def test_offline_cli_exits_non_zero_with_the_same_help(tmp_path, offline_pages, argv):
    done = subprocess.run([sys.executable, "-m", "bertlens", *argv], cwd=ROOT, env=offline_env(tmp_path),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith(weights_help(HUB_ID).split("\n\nDetails")[0]), done.stderr
    assert not TRACEBACK.search(done.stderr)
    page = offline_pages[HOME]
    for command in page["code"]:
        assert command.replace("/path/to/bert-large-cased", "") in done.stderr.replace("/path/to/bert-large-cased", "")


# --- corrupt or incomplete model folders --------------------------------------------------------------------

def _truncate(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _edit_config(**changes):
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(changes)
        (folder / "config.json").write_text(json.dumps(config))
    return edit


FAULTS = {
    "missing weights file": (lambda f: (f / "model.safetensors").unlink(), r"no weights file \(model\.safetensors\)"),
    "truncated safetensors": (_truncate, r"weights file .* is truncated or corrupt"),
    "empty safetensors": (lambda f: (f / "model.safetensors").write_bytes(b""), r"truncated or corrupt"),
    "config with the wrong hidden size": (_edit_config(hidden_size=64), r"config\.json .* does not match its weights"),
    "config with more layers than the weights": (_edit_config(num_hidden_layers=4),
                                                 r"does not match its weights: the config asks for weights"),
    "config that is not JSON": (lambda f: (f / "config.json").write_text("{not json"), r"not a valid JSON file"),
    "missing config": (lambda f: (f / "config.json").unlink(), r"has no config\.json"),
    "missing tokenizer": (lambda f: [p.unlink() for p in f.glob("tokenizer.json")], r"has no tokenizer"),
}


@pytest.fixture(params=list(FAULTS), ids=list(FAULTS))
def broken_folder(request, tiny_model_dir, tmp_path) -> tuple[Path, str]:
    folder = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, folder)
    damage, pattern = FAULTS[request.param]
    damage(folder)
    return folder, pattern


def test_broken_folder_core_names_the_problem(broken_folder):
    folder, pattern = broken_folder
    with pytest.raises(ModelFolderError, match=pattern):
        load_model(Settings(model=str(folder), device="cpu"))


def test_broken_folder_page_names_the_problem(broken_folder, app_env, monkeypatch):
    folder, pattern = broken_folder
    monkeypatch.setenv("BERT_LENS_MODEL", str(folder))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("could not be loaded" in e and re.search(pattern, e.replace("\\", "")) for e in errors), errors
    assert not at.get("plotly_chart") and not at.sidebar.dataframe


# --- a plain BertModel checkpoint: no MLM, no NSP head ------------------------------------------------------

@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory) -> Path:
    return build_random_model(tmp_path_factory.mktemp("base") / "bert-base-only", size="tiny", head="base")


@pytest.mark.parametrize("page", PAGES)
def test_headless_checkpoint_pages(base_model_dir, app_env, monkeypatch, page):
    monkeypatch.setenv("BERT_LENS_MODEL", str(base_model_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    if page != HOME:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    messages = [w.value.replace("\\", "") for w in at.warning] + [e.value.replace("\\", "") for e in at.error]
    needed = HEAD_NEEDED.get(Path(page).stem, "unknown")
    if needed is None:
        assert not [m for m in messages if "head" in m], messages
        assert not at.error, [e.value for e in at.error]
    else:
        assert any(f"no trained {needed} head" in m and "attention page still works" in m for m in messages), \
            messages
    if Path(page).stem == "attention":
        assert at.get("plotly_chart") or at.get("iframe") or at.dataframe, "the attention page shows no view"


def test_the_download_command_shown_runs_as_printed_for_any_id():
    import shlex

    for model_id in ("bert-large-cased", "my models/bert large", "it's; rm -rf ~"):
        line = next(s for s in weights_help(model_id).splitlines() if "bertlens download" in s)
        assert shlex.split(line)[-2:] == ["--model", model_id]
