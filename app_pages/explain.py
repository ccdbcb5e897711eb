"""Explain: why did the model predict this word at the mask? Logit lens, saliency and attention rollout."""
import pandas as pd
import streamlit as st

from bertlens.errors import BertLensError
from bertlens.explain import (BASELINES, COMPLETENESS_WARNING, DEFAULT_STEPS, LENS_TOP_K, MAX_LENS_TOP_K,
                              MultiPieceWord, compare, max_steps, method_scores, words_of)
from bertlens.text import MASK, MAX_CHARS, count_masks, mask_word, words, wrong_mask_spelling
from components import explain_charts as charts
from components.presentation import is_on, style
from components.query_state import Field, PageState, bounded_int, bounded_text, dump_bool, one_of, parse_bool
from components.safe import md_escape, show_error
from services import cache
from services.model import get_model

DEFAULT_TEXT = "The doctor said that [MASK] would be late for the meeting."
PLOT = {"displaylogo": False}
STEP_LIMIT = max_steps()  # the operator's BERT_LENS_MAX_IG_STEPS, at most MAX_STEPS
STATE = PageState("explain", [
    Field("ex_text", "text", DEFAULT_TEXT, label="the text"),
    Field("ex_target", "target", "he", parse=bounded_text(100), label="the target word", limit=100),
    Field("ex_contrast", "contrast", "she", parse=bounded_text(100), label="the contrast word", limit=100),
    Field("ex_steps", "steps", min(DEFAULT_STEPS, STEP_LIMIT), parse=bounded_int(1, STEP_LIMIT)),
    Field("ex_baseline", "baseline", BASELINES[0], parse=one_of(BASELINES)),
    Field("ex_bias", "bias", True, parse=parse_bool, dump=dump_bool),
    Field("ex_top_k", "lens_k", LENS_TOP_K, parse=bounded_int(1, MAX_LENS_TOP_K)),
])

st.title("Explain")
st.caption(":material/school: **What to notice:** watch the layer at which the right answer first rises in the "
           "logit lens, then ask which words pushed it; when the methods disagree, none of them is the truth.")
if not is_on():
    st.markdown(
        "Why did the model put this word at the mask? Four views of one prediction: what the model would predict "
        "after each layer (**logit lens**), which words pushed the prediction (**integrated gradients**, with "
        "**occlusion** and **gradient × input** beside it), where the mask's information came from through the "
        "attention (**attention rollout**), and all of them **side by side**. "
        "**No method is the truth**: each answers a different question, and they often disagree."
    )
with st.expander("Go deeper: what is explained, and how"):
    st.markdown(
        "The explained number is **f = log p(word | mask)**, or with a contrast word **f = logit(A) − logit(B)** "
        "(e.g. he − she): in the contrast the softmax normaliser cancels, so f says only how much the model "
        "prefers A over B (Yin & Neubig 2022).\n\n"
        "**Integrated gradients** (Sundararajan et al. 2017) walks in a straight line from a *baseline* input, in "
        "which every context word is replaced by `[MASK]` (or `[PAD]`), to the real input, and adds up the "
        "gradient of f at the word embeddings along the way. `[CLS]`, `[SEP]`, the explained mask and the "
        "position and segment embeddings stay as they are. The scores add up to f(input) − f(baseline); the "
        "difference is the *completeness gap*, which shrinks with more steps. A word of several WordPieces gets "
        "the sum of its pieces' scores.\n\n"
        "**Occlusion** replaces one token at a time by `[MASK]` and reports how much f drops. "
        "**Gradient × input** is the gradient at the input times the word embedding: one backward pass, and "
        "only a local, first-order view.\n\n"
        "The model is shared by every visitor: these computations use no hooks and never change it."
    )

lm = get_model()
STATE.restore()

text = st.text_area(f"Text with a {MASK}", key="ex_text", height=80)
left, right = st.columns(2)
word = left.text_input("Target word (one WordPiece)", key="ex_target", placeholder="he")
contrast = right.text_input("Contrast word (optional: explain logit(target) − logit(contrast))", key="ex_contrast",
                            placeholder="she")
c1, c2, c3 = st.columns(3)
n_masks = count_masks(text)
if st.session_state.get("ex_mask") not in (None, *range(n_masks)):
    del st.session_state["ex_mask"]
mask_index = c1.selectbox("Which mask", range(n_masks), format_func=lambda i: f"[MASK] {i + 1}",
                          key="ex_mask") if n_masks > 1 else 0
steps = c2.number_input(f"Integrated-gradients steps (1 to {STEP_LIMIT})", 1, STEP_LIMIT, key="ex_steps")
baseline = c3.radio("Baseline: context words replaced by", BASELINES, key="ex_baseline", horizontal=True,
                    format_func=lambda b: "[MASK]" if b == "mask" else "[PAD]")
STATE.publish()

if text.strip() and n_masks == 0 and not wrong_mask_spelling(text) and len(text) <= MAX_CHARS:
    st.info(f"There is no {MASK} in the text. These methods explain a prediction at a mask: put {MASK} in the text, "
            "or pick a word below to mask.", icon=":material/arrow_downward:")
    picked = st.selectbox("Mask a word", words(lm.tokenizer, text)[:300], index=None, key="ex_mask_word",
                          format_func=lambda w: f"{w.index + 1}. {w.text}", placeholder="Choose a word…")
    if picked is None:
        st.stop()
    text = mask_word(text, picked)
    st.caption("Explaining the text with that word masked")
    st.code(text, language=None, wrap_lines=True)


def use_first_piece(piece: str, field: str) -> None:
    st.session_state[field] = piece


try:
    target = cache.explain_target(lm, text, word, contrast or None, mask_index)
except MultiPieceWord as exc:
    show_error(exc)
    field = "ex_target" if exc.role == "target" else "ex_contrast"
    st.button(f"Use its first piece: {md_escape(exc.first_piece)}", key=f"{field}_first", on_click=use_first_piece,
              args=(exc.first_piece, field))
    st.stop()
except BertLensError as exc:
    show_error(exc)
    st.stop()

try:
    analysis = cache.explain_analysis(lm, target)
    bar = st.progress(0.0, text="Integrated gradients…")

    def report(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0), text=f"Integrated gradients: pass {done} of {total}")

    ig, gxi = cache.explain_gradients(lm, target, int(steps), baseline, report)
    bar.empty()
    occ = cache.explain_occlusion(lm, target)
    roll = cache.explain_rollout(lm, target)
except BertLensError as exc:
    show_error(exc)
    st.stop()
sentence_words = words_of(analysis, target)
comparison = compare(sentence_words, method_scores(ig, occ, gxi, roll))

st.caption("Explained")
st.text(f"f = {target.label}   at [MASK] {target.mask_index + 1} (token {target.position})")
lens_tab, ig_tab, rollout_tab, side_tab = st.tabs(["Logit lens", "Integrated gradients", "Attention rollout",
                                                   "Side by side"])

with lens_tab:
    st.info(
        "**The lens is untrained.** The MLM head only ever saw layer-24 states, so the earlier layers are off its "
        "distribution: read their predictions as a rough probe, not as what the model 'thinks' at that layer. "
        "The lens runs at the mask only; at an unmasked position the head mostly copies the input word.",
        icon=":material/warning:",
    )
    a, b = st.columns([1, 2])
    bias = a.toggle("Decoder bias (a word-frequency prior)", key="ex_bias")
    top_k = b.slider("Candidates per layer", 1, MAX_LENS_TOP_K, key="ex_top_k")
    lens = cache.explain_lens(lm, target, top_k, bias)
    st.plotly_chart(style(charts.lens_grid(lens)), key="ex-lens-grid", config=PLOT)
    lp, rank = st.columns(2)
    with lp:
        st.caption("Log-probability of the target (and contrast) after each layer")
        st.plotly_chart(style(charts.lens_target_lines(lens, "log_prob")), key="ex-lens-lp", config=PLOT)
    with rank:
        st.caption("Rank in the vocabulary after each layer")
        st.plotly_chart(style(charts.lens_target_lines(lens, "rank")), key="ex-lens-rank", config=PLOT)
    st.caption("Entropy of each layer's prediction, and KL(final ‖ layer): how far it is from the last layer's")
    st.plotly_chart(style(charts.lens_entropy_kl(lens)), key="ex-lens-kl", config=PLOT)
    table = pd.DataFrame({
        "layer": [layer.layer for layer in lens.layers],
        "top candidate": [layer.top[0].token for layer in lens.layers],
        "target log p": [layer.target_log_prob for layer in lens.layers],
        "target rank": [layer.target_rank for layer in lens.layers],
        "entropy": [layer.entropy for layer in lens.layers],
        "KL(final ‖ layer)": [layer.kl_to_final for layer in lens.layers],
    })
    if target.contrast is not None:
        table.insert(4, "contrast log p", [layer.contrast_log_prob for layer in lens.layers])
        table.insert(5, "contrast rank", [layer.contrast_rank for layer in lens.layers])
    st.dataframe(table, hide_index=True, width="stretch")

with ig_tab:
    m1, m2, m3 = st.columns(3)
    m1.metric("f(input)", f"{ig.f_input:.4f}")
    m2.metric(f"f(baseline: context as {'[MASK]' if ig.baseline == 'mask' else '[PAD]'})", f"{ig.f_baseline:.4f}")
    m3.metric("Completeness gap", f"{ig.completeness_gap:.2e}",
              help="Σ attributions − (f(input) − f(baseline)); 0 for the exact integral.")
    if not ig.complete:
        st.warning(
            f"The completeness gap is {ig.relative_gap:.1%} of |f(input) − f(baseline)|, more than "
            f"{COMPLETENESS_WARNING:.0%}: the {ig.steps} steps approximate the integral poorly. Raise the steps "
            f"(try {min(STEP_LIMIT, ig.steps * 4)}).", icon=":material/warning:")
    st.caption("Blue words pushed f up, red words pushed it down. Each row is scaled by its own largest score.")
    rows = {"integrated gradients": sentence_words.merge(ig.attributions),
            "occlusion": sentence_words.merge(occ.delta),
            "gradient x input": sentence_words.merge(gxi.scores)}
    st.plotly_chart(style(charts.signed_words(sentence_words, rows)), key="ex-ig-words", config=PLOT)
    st.dataframe(pd.DataFrame({"word": list(sentence_words.words), **{k: list(v) for k, v in rows.items()}}),
                 hide_index=True, width="stretch")
    st.caption("Occlusion: f(input) − f(with that token replaced by [MASK]). Gradient × input: the gradient of f at "
               "the input, dotted with the word's embedding.")

with rollout_tab:
    st.info(
        "**Rollout's limits.** Attention rollout (Abnar & Zuidema 2020) averages the heads, adds the residual "
        "connection as 0.5·A + 0.5·I and multiplies the layers. It ignores the size of the value vectors and the "
        "feed-forward blocks, and its 0.5 residual weight is arbitrary. It has no sign: it says where information "
        "could flow from, not whether a word pushed the prediction up or down.", icon=":material/info:")
    st.plotly_chart(style(charts.rollout_bars(roll, target.position)), key="ex-rollout", config=PLOT)
    st.dataframe(pd.DataFrame({"position": range(len(roll.tokens)), "token": list(roll.tokens),
                               "rolled-out attention": list(roll.weights)}), hide_index=True, width="stretch")

with side_tab:
    st.caption("Each method's word scores, divided by its own largest |score| (hover for the raw value). "
               "Attention rollout has no sign.")
    st.plotly_chart(style(charts.side_by_side(comparison)), key="ex-side", config=PLOT)
    left, right = st.columns([3, 2])
    with left:
        st.caption("Spearman rank correlations between the methods' word scores")
        st.plotly_chart(style(charts.correlation_matrix(comparison)), key="ex-spearman", config=PLOT)
    with right:
        if comparison.disagreements:
            st.warning("The methods disagree here:", icon=":material/compare_arrows:")
            for note in comparison.disagreements:
                st.text("• " + note)
        else:
            st.success("The methods rank the words similarly here.", icon=":material/check:")
        st.caption("Agreement does not make a method right, and disagreement does not make one wrong: they measure "
                   "different things (a path integral, a removal, a local slope, attention flow). None of them is "
                   "the model's reason.")
