"""Every BERT_LENS_* setting is checked at start (`bertlens.settings.check_environment`): the command line exits 2
with one line naming the variable and its range before any work; the app shows that line on its first page (the
home page included) and runs no page, instead of failing on a later page (issue 28, broken 2 and weak 1-2)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.cli import main
from bertlens.errors import InputError
from bertlens.settings import Settings, check_environment, server

ROOT = Path(__file__).resolve().parent.parent

BAD = [
    ("BERT_LENS_STORE_MB", "-1", "from 64 to 1048576"),
    ("BERT_LENS_STORE_MB", "abc", "from 64 to 1048576"),
    ("BERT_LENS_JOB_WORKERS", "abc", "from 1 to 64"),
    ("BERT_LENS_JOB_WORKERS", "1000", "from 1 to 64"),
    ("BERT_LENS_MAX_QUEUE", "abc", "from 1 to 10000"),
    ("BERT_LENS_MAX_QUEUE", "0", "from 1 to 10000"),
    ("BERT_LENS_SESSION_QUEUE", "0", "from 1 to 1000"),
    ("BERT_LENS_MAX_TOKENS", "1024", "from 8 to 512"),
    ("BERT_LENS_BATCH_WINDOW_MS", "soon", "number of milliseconds"),
    ("BERT_LENS_DEVICE", "tpu", "Use one of"),
    ("BERT_LENS_DTYPE", "float8", "Use one of"),
]


@pytest.mark.parametrize("name, value, allowed", BAD)
def test_a_bad_setting_is_refused_in_one_line_with_its_range(monkeypatch, name, value, allowed):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as refused:
        check_environment()
    message = str(refused.value)
    assert allowed in message and "\n" not in message
    assert name in message or value in message


def test_the_defaults_and_good_values_are_accepted(monkeypatch):
    for name in ("BERT_LENS_STORE_MB", "BERT_LENS_JOB_WORKERS", "BERT_LENS_MAX_QUEUE", "BERT_LENS_SESSION_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    assert (server().store_mb, server().job_workers, server().max_queue, server().session_queue) == (1536, None, 32, 4)
    monkeypatch.setenv("BERT_LENS_STORE_MB", "256")
    monkeypatch.setenv("BERT_LENS_JOB_WORKERS", "2")
    monkeypatch.setenv("BERT_LENS_MAX_QUEUE", "6")
    monkeypatch.setenv("BERT_LENS_SESSION_QUEUE", "2")
    assert server() == type(server())(store_mb=256, job_workers=2, max_queue=6, session_queue=2)
    Settings.from_env()


def test_a_garbled_value_is_quoted_with_its_control_characters_visible(monkeypatch):
    monkeypatch.setenv("BERT_LENS_MAX_QUEUE", "6\u202e\x1b[31m")
    with pytest.raises(InputError) as refused:
        check_environment()
    assert "\u202e" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert "\\u202e" in str(refused.value)


@pytest.mark.parametrize("name, value, allowed", BAD[:6])
def test_the_command_line_exits_2_at_once_with_one_line(monkeypatch, capsys, name, value, allowed):
    """`methods` needs no model: a refused setting stops every verb before its work."""
    monkeypatch.setenv(name, value)
    assert main(["methods"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and allowed in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("name, value", [("BERT_LENS_STORE_MB", "-1"), ("BERT_LENS_JOB_WORKERS", "abc")])
def test_the_app_refuses_on_its_first_page_and_runs_none(app_env, monkeypatch, name, value):
    """services/jobs.py:32-47 read these on a job page and raised; now the frame's `configured` refuses first."""
    monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and name.replace("_", "\\_") in errors[0], errors
    assert not at.main.title and not at.main.text_area and not at.main.text_input, "a page ran"


def test_python_m_bertlens_refuses_a_bad_setting_before_it_imports_torch():
    """The refusal is printed before the command line, and torch with it, is imported: `python -X importtime`
    lists every module the process imported."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "BERT_LENS_MAX_QUEUE": "abc", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bertlens", "methods"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    message = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert message == ["error: BERT_LENS_MAX_QUEUE must be a whole number from 1 to 10000; got 'abc'."]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "bertlens.settings" in imported
    assert not {"torch", "transformers", "bertlens.cli", "bertlens.model"} & imported
