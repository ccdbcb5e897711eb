"""The one model per process (shared by every session: read-only), and the panels shown when it cannot be loaded."""
from __future__ import annotations

import streamlit as st

from bertlens import LoadedModel, Settings
from bertlens.download import download, needs_download
from bertlens.errors import BertLensError, InputError, MissingHead, WeightsUnavailable
from bertlens.settings import check_allowed
from components.safe import md_escape
from services import cache


def settings() -> Settings:
    return Settings.from_env()


def get_model(dtype: str | None = None, require: str | None = None) -> LoadedModel:
    """The shared model, or a clear panel and `st.stop()` when it cannot be loaded. Never a traceback.

    `require` ("mlm" or "nsp"): a page that cannot work without that head says which head is missing and stops."""
    try:
        s = settings()
        if needs_download(s.model):
            _download_with_progress(s.model)
        lm = cache.model(s.model, s.device, dtype or st.session_state.get("dtype") or s.resolved_dtype(),
                         s.batch_window_ms)
        if require:
            lm.require(require)
        return lm
    except MissingHead as exc:
        missing_head(exc)
    except WeightsUnavailable as exc:
        weights_panel(exc)
    except BertLensError as exc:
        st.error(f"The model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    st.stop()


def _download_with_progress(model_id: str) -> None:
    bar = st.progress(0.0, text=f"Downloading {md_escape(model_id)} (first use only)…")

    def report(name: str, done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"Downloading {md_escape(name)}: {done / 1e6:,.0f} of "
                                                      f"{total / 1e6:,.0f} MB")

    download(model_id, report)
    bar.empty()


def weights_panel(exc: WeightsUnavailable) -> None:
    st.error(f"The weights of **{md_escape(exc.model_id)}** are not available on this machine.", icon=":material/cloud_off:")
    st.markdown(
        "BERT Lens needs the model's weights (about 1.3 GB). There are two ways to get them:\n"
        "1. On a machine with internet access, pre-fetch them into the Hugging Face cache, "
        "then copy `~/.cache/huggingface` to this machine if it is offline (a classroom without wifi):"
    )
    st.code(f"python -m bertlens download --model {exc.model_id}", language="bash")
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


# ---- a second checkpoint for comparisons (issue 13 part 5) ----
SECOND_MODEL_NOTE = ("The second model stays in memory beside the first until another is chosen (one extra model "
                     "at most).")


def get_second_model(model: str, dtype: str | None = None):
    """The second checkpoint (hub id or folder) with the RSS it added, loaded only when this is called; None and a
    clear message when it cannot be loaded."""
    s = settings()
    try:
        check_allowed([model])
        return cache.second_model(model.strip(), s.device, dtype or st.session_state.get("dtype") or s.resolved_dtype())
    except InputError as exc:
        st.error(md_escape(str(exc)), icon=":material/lock:")
    except WeightsUnavailable as exc:
        st.error(f"The weights of **{md_escape(exc.model_id)}** are not available on this machine. Pre-fetch them "
                 "with `python -m bertlens download --model ID`, or give a local folder.", icon=":material/cloud_off:")
    except BertLensError as exc:
        st.error(f"The second model could not be loaded.\n\n{md_escape(str(exc))}", icon=":material/error:")
    return None
