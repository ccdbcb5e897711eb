"""Nothing that exists changes: every command-line flag and every link parameter recorded on 2026-12-07
(tests/data/*_2026-12.json, written from that day's checkout) is still accepted, whatever methods, metrics or kinds
of input were added since. A new method may add flags and parameters; it may not rename or drop one."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bertlens.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def verbs() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = dict(sub.choices)
    for verb, p in sub.choices.items():
        for inner in (a for a in p._actions if isinstance(a, argparse._SubParsersAction)):
            out.update({f"{verb} {name}": q for name, q in inner.choices.items()})
    return out


def test_every_recorded_flag_of_every_verb_is_still_accepted():
    recorded = json.loads((DATA / "cli_flags_2026-12.json").read_text())
    now = verbs()
    for verb, expected in recorded.items():
        assert verb in now, f"the verb '{verb}' is gone"
        options = {s for a in now[verb]._actions for s in a.option_strings}
        missing = sorted(set(expected["options"]) - options)
        assert not missing, f"{verb}: flags no longer accepted: {missing}"
        positionals = [a.dest for a in now[verb]._actions
                       if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
        assert positionals == expected["positionals"], verb


def test_every_recorded_link_parameter_of_every_page_is_still_read(app_env):
    import components.query_state as query_state

    for page in sorted((ROOT / "app_pages").glob("*.py")):
        AppTest.from_file(str(page), default_timeout=240).run()
    recorded = json.loads((DATA / "link_params_2026-12.json").read_text())
    for page, params in recorded.items():
        fields = query_state.DECLARED.get(page)
        assert fields is not None, f"the page '{page}' declares no link parameters any more"
        read = {name for f in fields for name in (f.param, *f.aliases)}
        missing = sorted(set(params) - read)
        assert not missing, f"{page}: link parameters no longer read: {missing}"


@pytest.mark.parametrize("verb", ["explain", "crows", "probe", "mediate"])
def test_verbs_that_run_registered_methods_take_set(verb):
    options = {s for a in verbs()[verb]._actions for s in a.option_strings}
    assert "--set" in options
