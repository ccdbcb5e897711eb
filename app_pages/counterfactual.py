import streamlit as st

from bertlens.bias.swaps import DEFINITIONAL, FIRST_NAMES, GN_FEMALE, default_table
from bertlens.errors import BertLensError
from bertlens.fill_mask import MAX_TOP_K
from bertlens.numbers import significant
from bertlens.text import MASK
from components import counterfactual_view as view
from components.figure_export import set_context
from components.presentation import Metric, chart, is_on, metrics, output_share, side_by_side
from components.lesson_glossary import define
from components.lesson_sentence import use_it_on
from components.query_state import Field, PageState, bounded_int, dump_bool, parse_bool
from components.safe import md_escape, show_error
from services import cache
from components.weights_panel import get_model

DEFAULT_TEXT = "She said that her [MASK] would be late."
DEFAULT_PAIRS = "king,queen\nJohn,Mary"
STATE = PageState("counterfactual", [
    Field("cf_text", "text", DEFAULT_TEXT, label="the sentence", lesson=True),
    Field("cf_top_k", "k", 10, parse=bounded_int(1, MAX_TOP_K)),
    Field("cf_own_pairs", "own", False, parse=parse_bool, dump=dump_bool),
    Field("cf_pairs", "pairs", DEFAULT_PAIRS, label="your swap list"),
    Field("cf_union", "union", False, parse=parse_bool, dump=dump_bool),
])

st.title("Counterfactual sentences")
st.caption(":material/school: **What to notice:** only the gendered words differ between the two sentences, so "
           "any change in the guesses comes from them; read the swap table first, the rule of thumb can be wrong.")
if not is_on():
    st.markdown(
        f"Write any sentence with one `{MASK}` and at least one gendered word. BERT Lens swaps every gendered word "
        "(*she* ↔ *he*, *mother* ↔ *father*, *Emma* ↔ *Liam*, …) and the model fills the mask in both versions. "
        "If the predictions change, only the gender of the sentence changed them."
    )
with st.expander("Go deeper: the swap rules and the measures"):
    st.markdown(
        "**Swap lists.** GN-GloVe's gendered word lists (Zhao et al. 2018, Apache-2.0), Bolukbasi et al.'s (2016) "
        "definitional pairs (MIT) and the 50 most given US first names of each sex in 2020 (Social Security "
        "Administration, public domain), paired by rank. Words that are not real counterparts (*beard* / *toque*) "
        "are left out. You can give your own list in the sidebar.\n\n"
        "**her → his or him.** *her* before a word that can start a noun phrase (or before the mask) is read as "
        "possessive and becomes *his* (*her book* → *his book*); before a function word (*to*, *that*, *the*, "
        "…) or at the end of a clause it is an object and becomes *him* (*I told her that* → *I told him that*). "
        "*his* standing alone becomes *hers*. This is a rule of thumb, not a parser: *I made her happy* becomes "
        "*I made his happy*. Every swap and the rule that made it is listed, so check them.\n\n"
        "**Capitals are kept** (*She* → *He*, *HER* → *HIS*): the model is cased. A word of several WordPieces "
        "swaps as a whole, before tokenisation.\n\n"
        "**Measures.** Each version's top-k at the mask (probabilities over the whole vocabulary); for every "
        "candidate in either list, log P(w | original) − log P(w | counterfactual); and the KL divergence "
        "between the two distributions over all 28,996 WordPieces, both ways, with the symmetric Jensen-Shannon "
        "divergence (0 = identical, at most ln 2 ≈ 0.693). Two forward passes, one per version."
    )

lm = get_model(require="mlm")

STATE.restore()

with st.sidebar:
    st.subheader("Swap list")
    own = st.checkbox("Use my own swap list", key="cf_own_pairs")
    pairs_text = None
    if own:
        pairs_text = st.text_area("male,female — one pair per line", height=160, key="cf_pairs",
                                  help="A capitalised pair (a name) swaps only when written with a capital. "
                                       "he/she, his/her and him/her keep their rules.")
    else:
        table = default_table()
        st.caption(f"{len(table.words) // 2} word pairs and {len(table.names) // 2} first-name pairs from "
                   f"{md_escape(table.source)}. Files: {GN_FEMALE.parent.name}/ ({GN_FEMALE.name}, {DEFINITIONAL.name}, "
                   f"{FIRST_NAMES.name}).")

inputs, output = side_by_side()
with inputs:
    text = st.text_area(f"Sentence with one {MASK}", key="cf_text", height=90)
    top_k = st.slider("How many candidates (top-k)", 1, MAX_TOP_K, key="cf_top_k")
STATE.publish()
set_context(lm.info.model_id, text)

try:
    result = cache.counterfactual(lm, text, pairs_text, int(top_k))
except BertLensError as exc:
    with output:
        show_error(exc)
    st.stop()

with output:
    left, right = st.columns(2)
    left.markdown("**Original**")
    left.text(result.original_text)
    right.markdown("**Counterfactual**")
    right.text(result.counterfactual_text)
    metrics([
        Metric("KL(original ‖ counterfactual)", f"{significant(result.kl_original_counterfactual)} nats"),
        Metric("KL(counterfactual ‖ original)", f"{significant(result.kl_counterfactual_original)} nats"),
        Metric("Jensen-Shannon divergence", f"{significant(result.js_divergence)} nats",
               help="Symmetric; 0 = the same distribution, at most ln 2 ≈ 0.693."),
    ], fraction=output_share())
    define("KL", "nats")
    use_it_on(text, "counterfactual")
with inputs if is_on() else output:
    st.caption("Every swap, and the rule that made it: check them")
    st.dataframe(view.swaps(result), hide_index=True, width="stretch")

with output:
    st.subheader("Log-ratio of the candidates")
    define("log-ratio")
    either = st.checkbox("Also show candidates in only one version's top-k", key="cf_union")
    shown = result.candidates if either else result.shared
    if shown:
        chart(view.log_ratios(shown, result.swaps), key="cf-log-ratios", name="counterfactual-log-ratios")
    else:
        st.info("The two top-k lists have no candidate in common; tick the box to see all candidates.")

left, right = st.columns(2)
for col, side, heading in ((left, result.original, "Original: top-k"),
                           (right, result.counterfactual, "Counterfactual: top-k")):
    col.markdown(f"**{md_escape(heading)}**")
    col.dataframe(view.top_k(side), hide_index=True, width="stretch")
if shown:
    st.dataframe(view.candidates(shown), hide_index=True, width="stretch")
st.caption("Punctuation and ##-pieces are hidden from the lists; probabilities and the divergences are over the "
           "whole vocabulary.")
