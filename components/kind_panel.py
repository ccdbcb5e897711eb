"""The general panel of a kind of input: its upload or text widgets (from the kind's `widget` and `parts`), the
option widgets of every metric that reads it (from their config specs), a run button, and each result drawn by
its view (`components.views`). A metric on a new kind of input appears on the bias page through this panel, with
no page edit."""
from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

from bertlens import kinds
from bertlens.errors import BertLensError
from bertlens.kinds import DataKind
from bertlens.model import LoadedModel
from bertlens.registry import Method
from components import method_options, views
from components.query_state import MAX_URL_TEXT, Field, bounded_text
from components.safe import md_escape, show_error
from components.uploads import kept_upload
from components.job_panel import Request, job_area


def prefix(kind: DataKind) -> str:
    return f"kind_{kind.name}"


def state_fields(kind_names: Sequence[str], methods_of) -> list:
    """The link fields of every general panel: the texts of a kind asked for in a text widget (its `link` name, or
    KIND.PART; an upload cannot travel in a link) and each metric's options (`components.method_options.fields`)."""
    out = []
    for name in kind_names:
        kind = kinds.get(name)
        if kind.widget != "upload":
            sample = kind.sample()
            out += [Field(f"{prefix(kind)}_{part.key}", kind.link if kind.link and len(kind.parts) == 1
                          else f"{kind.name}.{part.key}", sample.get(part.key, ""),
                          parse=bounded_text(MAX_URL_TEXT), label=f"the {part.title}") for part in kind.parts]
        out += method_options.fields(prefix(kind), methods_of(name), namespaced=True)
    return out


def kind_inputs(kind: DataKind) -> tuple[dict[str, str | None], str] | None:
    """Each part's text from its widget (None: the shipped default), and a name for messages; None (with the
    reason shown) while a part with no default is missing or unreadable."""
    texts: dict[str, str | None] = {}
    names = []
    for part in kind.parts:
        key = f"{prefix(kind)}_{part.key}"
        default = "the shipped file" if part.shipped else "none: required"
        if kind.widget == "upload":
            upload = kept_upload(f"{part.title[:1].upper() + part.title[1:]} (default: {default})", key,
                                 list(part.file_types))
            if upload is None:
                texts[part.key] = None
                names.append(part.shipped.name if part.shipped else "")
                continue
            try:
                from bertlens.bias.files import check_size, decode

                check_size(len(upload.data), f"'{upload.name}'", part.max_bytes)
                texts[part.key] = decode(kind.unpack(upload.data, upload.name), f"'{upload.name}'")
            except BertLensError as exc:
                show_error(exc)
                return None
            names.append(upload.name)
        else:
            widget = st.text_input if kind.widget == "text" else st.text_area
            text = widget(f"{part.title[:1].upper() + part.title[1:]}", key=key)
            texts[part.key] = text if text.strip() or part.shipped is None else None
            names.append(part.key)
    missing = [p for p in kind.required() if texts.get(p.key) is None]
    if missing:
        st.info(f"Give {md_escape(missing[0].title)} to run these metrics.")
        return None
    return texts, ", ".join(n for n in names if n)


def panel(lm: LoadedModel, kind: DataKind, methods: Sequence[Method]) -> list[Any]:
    """The whole panel; returns the finished results (MetricResults), [] while none is."""
    st.caption(md_escape(kind.summary or kind.title))
    given = kind_inputs(kind)
    for method in methods:
        if method.spec.params:
            st.caption(md_escape(f"{method.title} options"))
            method_options.draw(prefix(kind), methods, method)
    if given is None:
        return []
    texts, source = given
    try:
        inputs = kind.parse(texts, {"source": f"'{source}'"})
        requests = [Request(m, lm, inputs, method_options.config(prefix(kind), methods, m), m.title)
                    for m in methods if m.is_compatible(lm) is None]
    except BertLensError as exc:
        show_error(exc)
        return []
    for m in methods:
        if m.is_compatible(lm):
            st.info(md_escape(m.is_compatible(lm)))
    done = job_area(requests, button="Run " + ", ".join(m.title for m in methods), key=f"{prefix(kind)}_run",
                    hint="Press the button to run these metrics on this input.") if requests else None
    if not done:
        return []
    for method, result in zip([m for m in methods if m.is_compatible(lm) is None], done):
        st.subheader(md_escape(method.title))
        views.draw(result, method)
    return list(done)
