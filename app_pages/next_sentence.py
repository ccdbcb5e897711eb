import pandas as pd
import streamlit as st

from bertlens.errors import BertLensError
from bertlens.nsp import MAX_CANDIDATES
from bertlens.numbers import probability, significant
from components.charts import nsp_bar, nsp_ranking
from components.figure_export import set_context
from components.number_format import table
from components.presentation import chart, is_on, side_by_side
from components.presets import preset_picker
from components.query_state import Field, PageState
from components.safe import md_escape, show_error
from services import cache
from components.weights_panel import get_model

DEFAULT_A = "I went to the store to buy some milk."
DEFAULT_B = "They were out of it, so I bought juice instead."
DEFAULT_CANDIDATES = "\n".join([
    "They were out of it, so I bought juice instead.",
    "The cashier gave me my change and a receipt.",
    "Penguins cannot fly, but they swim very well.",
    "The treaty was signed in 1648.",
])
PRESETS = {
    "Follows: the store, then what happened there": {"ns_a": DEFAULT_A, "ns_b": DEFAULT_B},
    "Topic change: the store, then penguins": {"ns_a": DEFAULT_A, "ns_b": "Penguins cannot fly, but they swim very well."},
    "Same topic, wrong order: the answer before the question": {
        "ns_a": "Yes, it opens at nine on Sundays.", "ns_b": "Do you know when the library opens?"},
    "Follows: a question and its answer": {
        "ns_a": "Do you know when the library opens?", "ns_b": "Yes, it opens at nine on Sundays."},
    "Grammatical but unrelated: weather, then a treaty": {
        "ns_a": "It rained all morning in the valley.", "ns_b": "The treaty was signed in 1648."},
}
STATE = PageState("next_sentence", [
    Field("ns_a", "a", DEFAULT_A, label="sentence A"),
    Field("ns_b", "b", DEFAULT_B, label="sentence B"),
    Field("ns_rank_a", "rank_a", "", label="the ranking's sentence A"),
    Field("ns_candidates", "candidates", DEFAULT_CANDIDATES, label="the candidate sentences"),
])

st.title("Next sentence")
st.caption(":material/school: **What to notice:** a B that changes topic scores low even when it is perfectly "
           "grammatical, and a B on the same topic scores high even in the wrong order: NSP judges topic more "
           "than coherence.")
if not is_on():
    st.markdown(
        "The model reads two sentences, A then B, and estimates how likely it is that B really came right after A "
        "in a text. The bar shows that probability, P(IsNext); the grey part is the chance that B is a random "
        "sentence."
    )
with st.expander("Go deeper: how next-sentence prediction works"):
    st.markdown(
        "In pre-training, half of the pairs were consecutive sentences and half had a random second sentence. The "
        "model reads `[CLS] A [SEP] B [SEP]`, with segment ids telling A from B, and a small classifier on the "
        "`[CLS]` vector outputs two scores. In bert-large-cased, label 0 means *B follows A*; P(IsNext) is the "
        "softmax of those two scores. A topic change is the strongest signal: NSP is known to judge topic more than "
        "coherence. Pairs longer than 512 tokens are truncated, longest sentence first, and the page says so."
    )

lm = get_model()
STATE.restore()

pair, ranking = st.tabs(["Score a pair", "Rank candidates for B"])

with pair:
    inputs, output = side_by_side()
    with inputs:
        preset_picker("Examples", PRESETS, "ns_preset")
        a = st.text_area("Sentence A", key="ns_a", height=80)
        b = st.text_area("Sentence B", key="ns_b", height=80)
    set_context(lm.info.model_id, a)
    with output:
        try:
            result = cache.rank_next(lm, a, (b,), False)[0]
        except BertLensError as exc:
            show_error(exc)
        else:
            st.metric("P(IsNext): B follows A", probability(result.p_is_next))
            chart(nsp_bar(result), key="ns-bar", name="next-sentence")
            st.caption("Blue: P(IsNext), B follows A. Grey: P(NotNext), B is a random sentence. They add up to 1.")
            if result.truncated:
                st.warning("The pair is longer than 512 tokens; it was truncated, longest sentence first.")
            st.caption(md_escape(f"Raw scores (logits): IsNext {significant(result.logits[0])}, "
                                 f"NotNext {significant(result.logits[1])}"))

with ranking:
    inputs, output = side_by_side()
    with inputs:
        st.text_area("Sentence A", key="ns_rank_a", placeholder="Uses sentence A from the first tab when empty",
                     height=70)
        lines = st.text_area(f"Candidate B sentences, one per line (up to {MAX_CANDIDATES})", key="ns_candidates",
                             height=150)
    first = STATE.get("ns_rank_a") or STATE.get("ns_a")
    candidates = tuple(line for line in lines.splitlines() if line.strip())
    set_context(lm.info.model_id, first)
    with output:
        source = "typed above" if STATE.get("ns_rank_a") else "from the first tab"
        st.caption(f"Ranking every candidate as the sentence after this sentence A ({md_escape(source)}):")
        st.text(first if len(first) <= 300 else first[:299] + "…")
        try:
            results = cache.rank_next(lm, first, candidates, True)
        except BertLensError as exc:
            show_error(exc)
        else:
            chart(nsp_ranking(results), key="ns-ranking", name="next-sentence-ranking")
            st.caption("Each bar is one candidate's P(IsNext) after sentence A, highest first.")
            st.dataframe(table(pd.DataFrame({
                "rank": range(1, len(results) + 1),
                "P(IsNext)": [r.p_is_next for r in results],
                "sentence B": [r.sentence_b for r in results],
                "truncated": [r.truncated for r in results],
            }), numbers=["P(IsNext)"]), hide_index=True, width="stretch")
STATE.publish()
