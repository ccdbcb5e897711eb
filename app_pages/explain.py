"""Explain: why did the model predict this word at the mask? Every registered explainer on one prediction.

The quick explainers (the lens, rollout) read the one-pass analysis and draw at once; the slow ones (integrated
gradients, occlusion, gradient × input) run as jobs behind one button that says how long they will take, so a
link never starts them and a click elsewhere never stops them.
"""
import streamlit as st

from bertlens import registry
from bertlens.errors import BertLensError
from bertlens.explain import MultiPieceWord, words_of
from bertlens.explanation import compare_results
from bertlens.text import MASK, MAX_CHARS, count_masks, mask_word, words, wrong_mask_spelling
from components import explain_charts as charts
from components import explain_views
from components import method_options as options
from components.figure_export import set_context
from components.head_switches import fields as head_switch_fields, head_switches
from components.presentation import chart, content_width, is_on
from components.query_state import Field, PageState, assign, bounded_text
from components.safe import md_escape, show_error
from services import cache
from components.job_panel import Request, job_area
from components.weights_panel import get_model

DEFAULT_TEXT = "The doctor said that [MASK] would be late for the meeting."
EXPLAINERS = registry.methods("explainer")
QUICK = [m for m in EXPLAINERS if not m.heavy]
SLOW = [m for m in EXPLAINERS if m.heavy]
STATE = PageState("explain", [
    Field("ex_text", "text", DEFAULT_TEXT, label="the text", lesson=True),
    Field("ex_target", "target", "he", parse=bounded_text(100), label="the target word", limit=100),
    Field("ex_contrast", "contrast", "she", parse=bounded_text(100), label="the contrast word", limit=100),
    Field("ex_mask", "", 0, label="which mask"),
    *options.fields("ex", EXPLAINERS),
    *head_switch_fields("ex"),
])

st.title("Explain")
st.caption(":material/school: **What to notice:** watch the layer at which the right answer first rises in the "
           "logit lens, then ask which words pushed it; when the methods disagree, none of them is the truth.")
if not is_on():
    st.markdown(
        "Why did the model put this word at the mask? Several views of one prediction: what the model would "
        "predict after each layer (**logit lens**), which words pushed the prediction (**integrated gradients**, "
        "with **occlusion** and **gradient × input** beside it), where the mask's information came from through "
        "the attention (**attention rollout**), and all of them **side by side**. "
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

# Presentation mode: the inputs in one compact row, the slower methods' settings folded, so the first chart starts
# inside a 1024x768 projector's screen.
if is_on():
    text_col, target_col, contrast_col = st.columns([3, 1, 1])
else:
    text_col = st.container()
    target_col, contrast_col = st.columns(2)
text = text_col.text_area(f"Text with a {MASK}", key="ex_text", height=68 if is_on() else 80)
word = target_col.text_input("Target word" if is_on() else "Target word (one WordPiece)", key="ex_target",
                             placeholder="he", help="One WordPiece: the word whose probability at the mask is "
                                                    "explained.")
contrast = contrast_col.text_input("Contrast word" if is_on() else
                                   "Contrast word (optional: explain logit(target) − logit(contrast))",
                                   key="ex_contrast", placeholder="she",
                                   help="Optional: explain logit(target) − logit(contrast) instead.")
n_masks = count_masks(text)
if STATE.get("ex_mask") not in range(n_masks):
    STATE.set("ex_mask", 0)
mask_index = st.selectbox("Which mask", range(n_masks), format_func=lambda i: f"[MASK] {i + 1}",
                          key="ex_mask") if n_masks > 1 else 0
settings_col, run_col, explained_col = st.columns([2, 2, 3]) if is_on() else (st.container(), st.container(),
                                                                                st.container())
settings = settings_col.expander("Slower methods' settings") if is_on() else settings_col
for method in SLOW:
    options.draw("ex", EXPLAINERS, method, where=settings)
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


try:
    target = cache.explain_target(lm, text, word, contrast or None, mask_index)
    configs = {m.name: options.config("ex", EXPLAINERS, m) for m in EXPLAINERS}
except MultiPieceWord as exc:
    show_error(exc)
    field = "ex_target" if exc.role == "target" else "ex_contrast"
    st.button(f"Use its first piece: {md_escape(exc.first_piece)}", key=f"{field}_first", on_click=assign,
              args=(field, exc.first_piece))
    st.stop()
except BertLensError as exc:
    show_error(exc)
    st.stop()

usable = [m for m in EXPLAINERS if m.is_compatible(lm) is None]
for method in EXPLAINERS:
    if method not in usable:
        st.info(md_escape(method.is_compatible(lm)), icon=":material/block:")
if not usable:
    st.stop()  # e.g. through Self-Debias, which only rescales the MLM's probabilities at a [MASK]: nothing to explain
explain_input = cache.explain_input(lm, target)
analysis = explain_input.analysis
slow = [Request(m, lm, explain_input, configs[m.name]) for m in SLOW if m in usable]
slow_names = ", ".join(m.title.lower() for m in SLOW if m in usable)
with run_col:
    slow_results = job_area(slow, button="Run the slower methods" if is_on() else f"Run {slow_names}", key="ex_run",
                            help=f"{slow_names[0].upper()}{slow_names[1:]}. Each method runs once for every visitor "
                                 "who asks for the same prediction; a link or a page change never starts it."
                            ) if slow else []
results = {m.name: cache.explainer(lm, m.name, target, configs[m.name]) for m in QUICK if m in usable}
if slow_results:
    results.update({r.method: r for r in slow_results})
sentence_words = words_of(analysis, target)
comparison = compare_results(sentence_words, results)

with explained_col:
    if not is_on():
        st.caption("Explained")
    st.text(("Explained: " if is_on() else "") +
            f"f = {target.label}   at [MASK] {target.mask_index + 1} (token {target.position})")
set_context(lm.info.model_id, text)
context = explain_views.ExplainContext(text, target, results, sentence_words, EXPLAINERS)
page_tabs = explain_views.tabs_of(usable)
*view_tabs, side_tab = st.tabs([md_escape(t.title) for t in page_tabs] + ["Side by side"])
for tab, view_tab in zip(page_tabs, view_tabs):
    with view_tab:
        tab.view(tab.methods, context)

with side_tab:
    if not slow_results:
        st.caption("Only the quick methods so far: run the others (button above) to compare all of them.")
    st.caption("Each method's word scores, divided by its own largest |score| (hover for the raw value). "
               "Attention rollout has no sign.")
    chart(charts.side_by_side(comparison), key="ex-side", name="explain-side-by-side")
    left, right = st.columns([3, 2])
    with left:
        st.caption("Spearman rank correlations between the methods' word scores")
        chart(charts.correlation_matrix(comparison, width_px=content_width(0.6)), key="ex-spearman",
              name="explain-spearman")
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
head_switches(lm, text, "ex", (word, contrast))
