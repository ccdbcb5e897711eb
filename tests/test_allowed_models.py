"""Models by allow-list: a visitor of a public server loads only the checkpoints its operator offers
(BERT_LENS_ALLOWED_MODELS; default the configured model alone; `any` allows all). A name that is not allowed gets
the same message whether or not it exists. The local command line does not read the list."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.cli import main
from bertlens.errors import InputError
from bertlens.settings import allowed_models, check_allowed
from devtools.random_model import build_random_model

ROOT = Path(__file__).resolve().parent.parent
PAGE = "app_pages/bias_probe.py"


@pytest.fixture(scope="module")
def other_dir(tmp_path_factory):
    return build_random_model(tmp_path_factory.mktemp("not-allowed") / "seed-5", seed=5)


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def test_the_default_allows_the_configured_model_only(monkeypatch):
    monkeypatch.delenv("BERT_LENS_ALLOWED_MODELS", raising=False)
    monkeypatch.setenv("BERT_LENS_MODEL", "/srv/models/bert")
    assert allowed_models() == ("/srv/models/bert",)
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "bert-base-cased, /srv/models/multi")
    assert allowed_models() == ("/srv/models/bert", "bert-base-cased", "/srv/models/multi")
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "ANY")
    assert allowed_models() is None
    check_allowed(["~/anything"])


def test_a_name_not_allowed_gets_one_message_whether_or_not_it_exists(monkeypatch, other_dir, tmp_path):
    monkeypatch.setenv("BERT_LENS_MODEL", "bert-large-cased")
    monkeypatch.delenv("BERT_LENS_ALLOWED_MODELS", raising=False)
    messages = []
    for name in (str(other_dir), str(tmp_path / "no-such-model"), "../../..", "~", "bert-base-cased"):
        with pytest.raises(InputError) as caught:
            check_allowed([name])
        messages.append(str(caught.value).replace(name, "NAME"))
    assert len(set(messages)) == 1, messages


def test_the_page_offers_no_free_box_by_default(app_env, monkeypatch):
    monkeypatch.delenv("BERT_LENS_ALLOWED_MODELS", raising=False)
    at = open_page()
    assert not [w for w in at.text_input if w.key == "bias_second_model"]
    assert any("offers no second model" in i.value for i in at.info)


def test_a_smuggled_name_is_refused_alike_and_nothing_is_loaded(app_env, other_dir, monkeypatch, tmp_path):
    """Whatever reaches the page's state (an old session, a crafted request), the loader checks the list first."""
    from services import model as service

    loaded = []
    monkeypatch.setattr(service, "_second", lambda *a, **k: loaded.append(a) or None)
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "bert-base-cased")
    shown = []
    for name in (str(other_dir), str(tmp_path / "missing")):
        at = open_page()
        at.session_state["bias_second_name"] = name
        at.run()
        assert not at.exception
        errors = [e.value.replace("\\", "") for e in at.error]
        assert any("not one of the models this server offers" in e for e in errors), errors
        shown.append([e.replace(name, "NAME") for e in errors])
    assert shown[0] == shown[1] and not loaded
    assert [w.options for w in at.selectbox if w.key == "bias_second_model"] == [["bert-base-cased"]]


def test_the_local_command_line_does_not_read_the_list(app_env, other_dir, monkeypatch, capsys):
    monkeypatch.setenv("BERT_LENS_ALLOWED_MODELS", "bert-base-cased")
    assert main(["info", "--model", str(other_dir), "--json"]) == 0
    assert str(other_dir) in capsys.readouterr().out
