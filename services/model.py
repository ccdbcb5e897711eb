"""The models of the process (shared by every session: read-only). This module draws nothing (services never draw:
tests/test_architecture.py); `components.weights_panel` shows what happens here: the settings' refusal, the
download's progress, the missing-weights panel.

Precision is an explicit argument: the frame (app.py) reads the sidebar's choice and opens the model in it; the page
then asks for the model the frame opened in this script run (`current`). No module reads the precision from
`session_state`, and the model's key (weights, precision, device) is part of every result's key.
"""
from __future__ import annotations

import threading
from typing import Callable

import streamlit as st

from bertlens import LoadedModel, Settings, load_model
from bertlens.batching import EncoderBatcher
from bertlens.download import download, needs_download
from bertlens.settings import check_allowed
from services.memory import keep_handing_back

_CURRENT = threading.local()
SECOND_MODEL_NOTE = ("The second model stays in memory beside the first until another is chosen (one extra model "
                     "at most).")


def settings() -> Settings:
    """The configured settings; raises InputError for any bad BERT_LENS_* value (`Settings.from_env`)."""
    return Settings.from_env()


@st.cache_resource(show_spinner="Loading the model (downloading it on first use)…", max_entries=2)
def _model(settings: Settings) -> LoadedModel:
    """One model per (weights, device, precision) for the whole process; concurrent sessions' single passes are
    batched together unless the window is 0. Loading one starts the process's trimming thread (`services.memory`):
    from here on the sessions' freed memory goes back to the system."""
    lm = load_model(settings)
    keep_handing_back()
    if settings.batch_window_ms > 0:
        lm.batcher = EncoderBatcher(lm, window_s=settings.batch_window_ms / 1000)
    return lm


@st.cache_resource(show_spinner="Loading the second model…", max_entries=1)
def _second(settings: Settings):
    """(model, resident memory it added in bytes); one entry, so choosing another drops the previous one."""
    from bertlens.bias.compare import load_measured

    return load_measured(settings)


def weights_missing(model_id: str) -> bool:
    """True when the weights are not here yet and may be downloaded (the caller shows the download's progress)."""
    return needs_download(model_id)


def fetch_weights(model_id: str, report: Callable[[str, int, int | None], None]) -> None:
    download(model_id, report)


def load(precision: str | None = None) -> LoadedModel:
    """The configured model in `precision` (None: the configured one), which is then `current()` for this script
    run. Raises BertLensError (WeightsUnavailable, MissingHead, InputError, ...) when it cannot be loaded."""
    s = settings()
    lm = _model(s.for_precision(precision or s.resolved_dtype()))
    _CURRENT.model = lm
    _CURRENT.transform = None
    return lm


def use_transform(fit) -> None:
    """Pages of this script run see the model through `fit` (a `bertlens.debias.store.Fit`; None: intact): the
    frame calls it after `load` when the session's sidebar switch is on."""
    _CURRENT.transform = fit


def current() -> LoadedModel | None:
    """The model this script run's frame opened, if any, seen through the session's debiasing transform when its
    switch is on (`use_transform`): a copy whose key differs, so no cached result of the intact model is shown."""
    lm = getattr(_CURRENT, "model", None)
    fit = getattr(_CURRENT, "transform", None)
    return lm if lm is None or fit is None else lm.with_transform(fit)


def second(model: str, precision: str):
    """(the second checkpoint in `precision`, the RSS it added). Raises InputError for a model this server does not
    offer, and BertLensError when it cannot be loaded."""
    check_allowed([model])
    return _second(settings().for_model(model.strip()).for_precision(precision))
