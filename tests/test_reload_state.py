"""What survives a reload (issue 29): the sidebar's precision travels in the link, and an upload travels by its
SHA-256 while the server's store keeps its bytes. A reload is a new AppTest (a new session) opened on the same
query parameters; the server-wide store is this process's, as on a server."""
from __future__ import annotations

import hashlib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bertlens.bias.crows import EXAMPLE_PATH, parse_crows

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/bias_probe.py"
MINE = b"".join(EXAMPLE_PATH.read_bytes().splitlines(keepends=True)[:4])


def reload(params: dict[str, str], page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def params(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_the_precision_survives_a_reload(app_env):
    at = reload({})
    options = at.selectbox(key="dtype").options
    other = next(o for o in options if not o.startswith("float32"))
    at.selectbox(key="dtype").select(other).run()
    assert not at.exception
    chosen = at.selectbox(key="dtype").value
    assert chosen != "float32" and params(at)["precision"] == chosen
    again = reload(params(at))
    assert again.selectbox(key="dtype").value == chosen
    assert any(chosen in m.value for m in again.sidebar.markdown), "the model was opened in that precision"
    again.selectbox(key="dtype").select(options[0]).run()
    assert "precision" not in params(again), "the configured precision needs no link value"


def test_a_bad_precision_in_a_link_says_so_and_opens_the_configured_one(app_env):
    at = reload({"precision": "float16"})
    assert at.selectbox(key="dtype").value == "float32"
    assert any("not offered" in w.value for w in at.sidebar.warning)
    at = reload({"precision": "../etc"})
    assert at.selectbox(key="dtype").value == "float32" and "precision" not in params(at)


def test_an_upload_survives_a_reload_by_its_hash(app_env):
    at = reload({}, PAGE)
    at.file_uploader(key="bias_crows_file").set_value(("mine.csv", MINE, "text/csv")).run()
    assert not at.exception
    digest = hashlib.sha256(MINE).hexdigest()
    link = params(at)
    assert link["files"] == f"bias_crows_file:{digest}", "the link names the file by its hash, never a path"
    n_mine = len(parse_crows(MINE))
    assert any(f"{n_mine} pairs" in c.value for c in at.caption)

    again = reload(link, PAGE)
    captions = " ".join(c.value for c in again.caption)
    assert "Still using **mine\\.csv**" in captions and f"{n_mine} pairs" in captions
    assert f"{len(parse_crows(EXAMPLE_PATH.read_bytes()))} pairs" not in captions
    assert params(again)["files"] == link["files"]


def test_an_upload_the_server_no_longer_keeps_falls_back_to_the_example(app_env):
    at = reload({"files": "bias_crows_file:" + "0" * 64}, PAGE)
    captions = " ".join(c.value for c in at.caption)
    assert "no longer kept on the server" in captions
    assert f"{len(parse_crows(EXAMPLE_PATH.read_bytes()))} pairs" in captions
    assert "files" not in params(at)
    at = reload({"files": "bias_crows_file:/etc/passwd"})
    assert any("files" in w.value and "SHA" in w.value and "ignored" in w.value for w in at.warning)
    assert "files" not in params(at.switch_page(PAGE).run())
