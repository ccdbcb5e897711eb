"""Drawing fill-mask results: a chart and a table per mask, and the target-word scores."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bertlens.fill_mask import FillMaskResult, MaskPrediction, WordScore
from components.charts import probability_bars
from components.figure_export import model_name
from components.number_format import table
from components.presentation import chart, is_on


def candidates_table(mask: MaskPrediction) -> pd.DataFrame:
    return pd.DataFrame({
        "rank": range(1, len(mask.candidates) + 1),
        "token": [c.token for c in mask.candidates],
        "probability": [c.probability for c in mask.candidates],
        "log-probability": [c.log_probability for c in mask.candidates],
        "token id": [c.token_id for c in mask.candidates],
    })


def show_result(result: FillMaskResult, key: str = "fm", targets: list[WordScore] | None = None,
                model: str = "") -> None:
    """The completed sentence, then a chart and a table per mask; `targets` (scores at a single mask) are drawn
    on that mask's chart as purple bars. In presentation mode the chart comes first and the sentence after it.
    Each chart's title and downloaded file name carry the sentence and `model` (its id)."""
    if not is_on():
        completed(result)
    if len(result.masks) > 1:
        st.info(
            f"{len(result.masks)} masks. Each is predicted with the other masks still in place, as transformers' "
            "fill-mask pipeline does, so the guesses do not see each other.", icon=":material/info:"
        )
        tabs = st.tabs([f"[MASK] {m.mask_index + 1}" for m in result.masks])
        for tab, mask in zip(tabs, result.masks):
            with tab:
                show_mask(mask, len(result.masks), key, sentence=result.text, model=model)
    else:
        show_mask(result.masks[0], 1, key, targets, sentence=result.text, model=model)
    if is_on():
        completed(result)


def completed(result: FillMaskResult) -> None:
    st.caption("The sentence completed with the top prediction for every mask")
    st.code(result.completed, language=None, wrap_lines=True)


def chart_title(sentence: str, mask_index: int, total: int, model: str, limit: int = 40) -> str:
    """'"The nurse said that [MASK] was tired."' and, on a second line, '[MASK] 1 of 2 · bert-large-cased' (the
    sentence shortened to fit a chart's width)."""
    words = " ".join(sentence.split())
    words = words if len(words) <= limit else words[:limit - 1] + "…"
    which = f"[MASK] {mask_index + 1} of {total}" if total > 1 else "Predictions for [MASK]"
    second = " · ".join(part for part in (which, model_name(model)) if part)
    return f"“{words}”\n{second}" if words else second


def show_mask(mask: MaskPrediction, total: int, key: str, targets: list[WordScore] | None = None,
              sentence: str = "", model: str = "") -> None:
    if not mask.candidates:
        st.warning("Every candidate is hidden by the filters. Untick a filter to see predictions.")
        return
    title = chart_title(sentence, mask.mask_index, total, model)
    name = f"fill-mask {model_name(model)} {sentence}"
    left, right = (st.container(), st.container()) if is_on() else st.columns([3, 2])
    with left:
        chart(probability_bars(mask.candidates, title, targets or ()), key=f"{key}-chart-{mask.mask_index}",
              name=name)
        if targets:
            st.caption("Teal bars: the top candidates. Purple bars: your target words, scored at this mask "
                       "(a word of several pieces is chained).")
    with right:
        st.dataframe(table(candidates_table(mask), numbers=["probability", "log-probability"]), hide_index=True,
                     width="stretch")


def show_word_scores(scores: list[WordScore]) -> None:
    st.dataframe(table(pd.DataFrame({
        "word": [s.word for s in scores],
        "WordPieces": [" ".join(s.pieces) for s in scores],
        "probability": [s.probability for s in scores],
        "log-probability": [s.log_probability for s in scores],
        "rank in vocabulary": [str(s.rank) if s.rank is not None else "n/a (several pieces)" for s in scores],
    }), numbers=["probability", "log-probability"]), hide_index=True, width="stretch")
    if any(s.multi_piece for s in scores):
        st.caption(
            "A word of several WordPieces is scored with one [MASK] per piece, chained left to right: "
            "P(fire ##fighter) = P(fire | [MASK] [MASK]) × P(##fighter | fire [MASK]). transformers' pipeline would "
            "score only the first piece."
        )
