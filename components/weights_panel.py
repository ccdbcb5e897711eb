"""What a page shows about the model: the settings' refusal, the weights' download, the missing-weights panel, a
missing head, the random-weights banner, and the second checkpoint's errors. The loading itself is in
`services.model`, which draws nothing.

User-supplied names (model ids, paths, error details) go through `md_escape` before any markdown context.
"""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel, Settings
from bertlens.errors import BertLensError, InputError, MissingHead, WeightsUnavailable, download_command
from bertlens.text import md_escape
from services import model as service
from services.model import SECOND_MODEL_NOTE  # noqa: F401  (shown beside the second model's picker)


def configured() -> tuple[Settings, str]:
    """(the configured settings, the device type they resolve to), or a clear message and `st.stop()` for a
    setting that is not allowed or cannot work here (e.g. BERT_LENS_STORE_MB=-1, or BERT_LENS_DEVICE=cuda without
    a GPU): the app refuses on its first page, whichever it is."""
    try:
        s = service.settings()
        return s, s.resolved_device()
    except BertLensError as exc:
        st.error(f"BERT Lens's settings cannot work on this machine.\n\n{md_escape(str(exc))}",
                 icon=":material/error:")
        st.stop()


def open_model(precision: str | None = None) -> LoadedModel:
    """The frame's model in `precision` (None: the configured one), or a clear panel and `st.stop()` when it
    cannot be loaded. Never a traceback. The model is then what `get_model` returns in this script run."""
    try:
        s = service.settings()
        if service.weights_missing(s.model):
            _download_with_progress(s.model)
        return service.load(precision)
    except MissingHead as exc:
        missing_head(exc)
    except WeightsUnavailable as exc:
        weights_panel(exc)
    except BertLensError as exc:
        st.error(f"The model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    st.stop()


def get_model(require: str | None = None) -> LoadedModel:
    """The model this script run's frame opened. `require` ("mlm" or "nsp"): a page that cannot work without that
    head says which head is missing and stops."""
    lm = service.current()
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

    service.fetch_weights(model_id, report)
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


def get_second_model(model: str, precision: str):
    """The second checkpoint (hub id or folder) in `precision` (the first model's), with the RSS it added; loaded
    only when this is called. None and a clear message when it cannot be loaded."""
    try:
        return service.second(model, precision)
    except InputError as exc:
        st.error(md_escape(str(exc)), icon=":material/lock:")
    except WeightsUnavailable as exc:
        st.error(f"The weights of **{md_escape(exc.model_id)}** are not available on this machine. Pre-fetch them "
                 "with `python -m bertlens download --model ID`, or give a local folder.", icon=":material/cloud_off:")
    except BertLensError as exc:
        st.error(f"The second model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    return None
