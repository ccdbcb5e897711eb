"""The models of the process (shared by every session: read-only) and the panels shown when one cannot be loaded.

Precision is an explicit argument: the frame (app.py) reads the sidebar's choice and calls `open_model(precision)`;
the page then asks `get_model()` for the model the frame opened in this script run. No module reads the precision
from `session_state`, and the model's key (weights, precision, device) is part of every result's key.

User-supplied names (model ids, paths, error details) go through `md_escape` before any markdown context.
"""
from __future__ import annotations

import threading

import streamlit as st

from bertlens import LoadedModel, Settings, load_model
from bertlens.batching import EncoderBatcher
from bertlens.download import download, needs_download
from bertlens.errors import BertLensError, InputError, MissingHead, WeightsUnavailable, download_command
from bertlens.settings import check_allowed
from bertlens.text import md_escape

_CURRENT = threading.local()


def settings() -> Settings:
    return Settings.from_env()


def configured() -> tuple[Settings, str]:
    """(the configured settings, the device type they resolve to), or a clear message and `st.stop()` for a
    setting that cannot work here (e.g. BERT_LENS_DEVICE=cuda without a GPU)."""
    try:
        s = settings()
        return s, s.resolved_device()
    except BertLensError as exc:
        st.error(f"BERT Lens's settings cannot work on this machine.\n\n{md_escape(str(exc))}",
                 icon=":material/error:")
        st.stop()


@st.cache_resource(show_spinner="Loading the model (downloading it on first use)…", max_entries=2)
def _model(settings: Settings) -> LoadedModel:
    """One model per (weights, device, precision) for the whole process; concurrent sessions' single passes are
    batched together unless the window is 0."""
    lm = load_model(settings)
    if settings.batch_window_ms > 0:
        lm.batcher = EncoderBatcher(lm, window_s=settings.batch_window_ms / 1000)
    return lm


@st.cache_resource(show_spinner="Loading the second model…", max_entries=1)
def _second(settings: Settings):
    """(model, resident memory it added in bytes); one entry, so choosing another drops the previous one."""
    from bertlens.bias.compare import load_measured

    return load_measured(settings)


def open_model(precision: str | None = None) -> LoadedModel:
    """The frame's model in `precision` (None: the configured one), or a clear panel and `st.stop()` when it
    cannot be loaded. Never a traceback. The model is then what `get_model` returns in this script run."""
    try:
        s = settings()
        if needs_download(s.model):
            _download_with_progress(s.model)
        lm = _model(s.for_precision(precision or s.resolved_dtype()))
    except MissingHead as exc:
        missing_head(exc)
    except WeightsUnavailable as exc:
        weights_panel(exc)
    except BertLensError as exc:
        st.error(f"The model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    else:
        _CURRENT.model = lm
        return lm
    st.stop()


def get_model(require: str | None = None) -> LoadedModel:
    """The model this script run's frame opened. `require` ("mlm" or "nsp"): a page that cannot work without that
    head says which head is missing and stops."""
    lm = getattr(_CURRENT, "model", None)
    if lm is None:
        lm = open_model()
    if require:
        try:
            lm.require(require)
        except MissingHead as exc:
            missing_head(exc)
    return lm


def _download_with_progress(model_id: str) -> None:
    bar = st.progress(0.0, text="Downloading the model's weights (first use only)…")

    def report(name: str, done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"Downloading: {done / 1e6:,.0f} of {total / 1e6:,.0f} MB")

    download(model_id, report)
    bar.empty()


def weights_panel(exc: WeightsUnavailable) -> None:
    st.error(f"The weights of **{md_escape(exc.model_id)}** are not available on this machine.",
             icon=":material/cloud_off:")
    st.markdown(
        "BERT Lens needs the model's weights (about 1.3 GB). There are two ways to get them:\n"
        "1. On a machine with internet access, pre-fetch them into the Hugging Face cache, "
        "then copy `~/.cache/huggingface` to this machine if it is offline (a classroom without wifi):"
    )
    st.code(download_command(exc.model_id), language="bash")
    st.markdown("2. Or point BERT Lens at a local folder holding the model (config.json, model.safetensors, tokenizer):")
    st.code("BERT_LENS_MODEL=/path/to/bert-large-cased make run", language="bash")
    if exc.detail:
        st.caption("Details")
        st.text(exc.detail)


def missing_head(exc: MissingHead) -> None:
    st.warning(md_escape(str(exc)), icon=":material/extension_off:")
    st.stop()


def random_weights_banner(lm: LoadedModel) -> None:
    if lm.info.random_weights:
        st.warning(
            "This model has **random weights** (a test or benchmark build). Its predictions mean nothing and are "
            "not bert-large-cased's.",
            icon=":material/casino:",
        )


# ---- a second checkpoint for comparisons ----
SECOND_MODEL_NOTE = ("The second model stays in memory beside the first until another is chosen (one extra model "
                     "at most).")


def get_second_model(model: str, precision: str):
    """The second checkpoint (hub id or folder) in `precision` (the first model's), with the RSS it added; loaded
    only when this is called. None and a clear message when it cannot be loaded."""
    try:
        check_allowed([model])
        return _second(settings().for_model(model.strip()).for_precision(precision))
    except InputError as exc:
        st.error(md_escape(str(exc)), icon=":material/lock:")
    except WeightsUnavailable as exc:
        st.error(f"The weights of **{md_escape(exc.model_id)}** are not available on this machine. Pre-fetch them "
                 "with `python -m bertlens download --model ID`, or give a local folder.", icon=":material/cloud_off:")
    except BertLensError as exc:
        st.error(f"The second model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    return None
