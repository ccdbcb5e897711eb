import pandas as pd
import streamlit as st

from bertlens.errors import BertLensError
from bertlens.nsp import MAX_CANDIDATES
from components.charts import nsp_bar, nsp_ranking
from components.query_state import adopt, bounded_text, publish
from components.safe import md_escape, show_error
from services import cache
from services.model import get_model

DEFAULT_A = "I went to the store to buy some milk."
DEFAULT_B = "They were out of it, so I bought juice instead."
DEFAULT_CANDIDATES = "\n".join([
    "They were out of it, so I bought juice instead.",
    "The cashier gave me my change and a receipt.",
    "Penguins cannot fly, but they swim very well.",
    "The treaty was signed in 1648.",
])

st.title("Next sentence")
st.markdown(
    "The model reads two sentences, A then B, and estimates how likely it is that B really came right after A in a "
    "text. The bar shows that probability, P(IsNext); the grey part is the chance that B is a random sentence."
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
for problem in adopt({"a": ("ns_a", bounded_text(), DEFAULT_A), "b": ("ns_b", bounded_text(), DEFAULT_B)},
                     "next_sentence"):
    st.warning(md_escape(problem))
st.session_state.setdefault("ns_a", DEFAULT_A)
st.session_state.setdefault("ns_b", DEFAULT_B)
st.session_state.setdefault("ns_candidates", DEFAULT_CANDIDATES)

pair, ranking = st.tabs(["Score a pair", "Rank candidates for B"])

with pair:
    a = st.text_area("Sentence A", key="ns_a", height=80)
    b = st.text_area("Sentence B", key="ns_b", height=80)
    publish({"a": a, "b": b})
    try:
        result = cache.rank_next(lm, a, (b,), False)[0]
    except BertLensError as exc:
        show_error(exc)
    else:
        st.metric("P(IsNext): B follows A", f"{result.p_is_next:.1%}")
        st.plotly_chart(nsp_bar(result), key="ns-bar", config={"displaylogo": False})
        if result.truncated:
            st.warning("The pair is longer than 512 tokens; it was truncated, longest sentence first.")
        st.caption(f"Raw scores (logits): IsNext {result.logits[0]:.3f}, NotNext {result.logits[1]:.3f}")

with ranking:
    st.text_area("Sentence A", key="ns_rank_a", value=None, placeholder="Uses sentence A from the first tab when empty",
                 height=70)
    lines = st.text_area(f"Candidate B sentences, one per line (up to {MAX_CANDIDATES})", key="ns_candidates",
                         height=150)
    first = st.session_state.get("ns_rank_a") or st.session_state.get("ns_a", "")
    candidates = tuple(line for line in lines.splitlines() if line.strip())
    try:
        results = cache.rank_next(lm, first, candidates, True)
    except BertLensError as exc:
        show_error(exc)
    else:
        st.plotly_chart(nsp_ranking(results), key="ns-ranking", config={"displaylogo": False})
        st.dataframe(pd.DataFrame({
            "rank": range(1, len(results) + 1),
            "sentence B": [r.sentence_b for r in results],
            "P(IsNext)": [r.p_is_next for r in results],
            "truncated": [r.truncated for r in results],
        }), hide_index=True, width="stretch",
            column_config={"P(IsNext)": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)})
