"""Widgets and link fields drawn from a registered method's config spec, so a page keeps no list of options.

Each option of each method becomes one widget and one link parameter. The option's own name (`top_k`) belongs to
the first of the page's methods in registry order that has it (the rule of the command line's flags, `bertlens.cli.common`), so a
method added later never renames another's widget or link parameter; every other method's option is namespaced,
`METHOD_OPTION`, and every option is also read from the namespaced `METHOD.OPTION` in a link. A link value outside
the spec gets the spec's own message, the one the command line and audit configurations give.
"""
from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

from bertlens.registry import Method, Param
from bertlens.text import md_escape
from components.query_state import Field, dump_bool


def _owner(methods: Sequence[Method], method: Method, option: str) -> bool:
    """Whether `method` is the first of the page's `methods` in registry order (by `order`, then name) with an
    option called `option`."""
    for other in sorted(methods, key=lambda m: (m.order, m.name)):
        if option in other.spec.names():
            return other.name == method.name
    return True


def link_name(methods: Sequence[Method], method: Method, param: Param) -> str:
    return param.name if _owner(methods, method, param.name) else f"{method.name}_{param.name}"


def widget_key(prefix: str, methods: Sequence[Method], method: Method, param: Param) -> str:
    return f"{prefix}_{link_name(methods, method, param)}"


def fields(prefix: str, methods: Sequence[Method], namespaced: bool = False) -> list[Field]:
    """One PageState field per option: the link carries it, page changes and reloads keep it. `namespaced` links
    every option as METHOD.OPTION (for panels that came after the page's own parameters, so an option's name can
    never collide with one of them)."""
    out = []
    for method in methods:
        for p in method.spec.params:
            name = f"{method.name}.{p.name}" if namespaced else link_name(methods, method, p)
            aliases = tuple(a for a in (f"{method.name}.{p.name}", f"{method.name}_{p.name}") if a != name)
            out.append(Field(widget_key(prefix, methods, method, p), name, p.default,
                             parse=p.parse if name == p.name else Param(**{**p.__dict__, "name": name}).parse,
                             dump=dump_bool if p.type == "bool" else str, label=f"'{name}'", aliases=aliases))
    return out


def config(prefix: str, methods: Sequence[Method], method: Method) -> dict[str, Any]:
    """The method's validated config from its widgets' current values (defaults where a widget is not drawn)."""
    values = {p.name: st.session_state.get(widget_key(prefix, methods, method, p), p.default)
              for p in method.spec.params}
    return method.spec.validate(values)


def draw(prefix: str, methods: Sequence[Method], method: Method, where: Any = None, columns: bool = True) -> None:
    """The widgets of `method`'s options, side by side in `where` (the page by default)."""
    params = method.spec.params
    if not params:
        return
    where = where or st.container()
    slots = where.columns(len(params)) if columns and len(params) > 1 else [where] * len(params)
    for slot, p in zip(slots, params):
        _widget(slot, p, widget_key(prefix, methods, method, p))


def _label(p: Param) -> str:
    text = p.help[:1].upper() + p.help[1:] if p.help else p.name.replace("_", " ").capitalize()
    if p.type in ("int", "float"):
        text += f" ({p.allowed().split(' from ')[-1]})"
    return text


def _widget(where: Any, p: Param, key: str) -> None:
    label = md_escape(_label(p))
    if p.type == "bool":
        where.toggle(label, key=key)
    elif p.type == "choice":
        where.radio(label, p.choices, key=key, horizontal=True, format_func=p.label_of)
    elif p.type == "int" and p.slider and p.high is not None and p.low is not None:
        where.slider(label, int(p.low), int(p.high), key=key)
    elif p.type == "int":
        where.number_input(label, int(p.low) if p.low is not None else None,
                           int(p.high) if p.high is not None else None, key=key, step=1)
    elif p.type == "float" and p.slider and p.low is not None and p.high is not None:
        where.slider(label, float(p.low), float(p.high), key=key, step=0.05)
    elif p.type == "float":
        where.number_input(label, float(p.low) if p.low is not None else None,
                           float(p.high) if p.high is not None else None, key=key)
    else:
        where.text_input(label, key=key, max_chars=p.max_length)
