"""Attention explorer: every layer and head for one text or a sentence pair."""
import streamlit as st

from bertlens.attention import STATISTIC_LABELS, STATISTICS, mask_attention, mean_over_heads, query_key
from bertlens.attention_views import (bertviz_head_view, bertviz_heights, bertviz_layers_that_fit,
                                      bertviz_model_view, bertviz_model_view_layers, line_segments)
from bertlens.errors import BertLensError
from bertlens.fill_mask import postprocess
from components import attention_charts as charts
from components.attention_widgets import head_from_selection, static_url
from components.presentation import style
from components.query_state import (Field, PageState, bounded_float, bounded_int, dump_bool, dump_list, one_of,
                                    parse_bool, parse_list)
from components.safe import md_escape, show_error
from services import cache
from services.model import get_model

SCROLL_HTML = """<!-- NONCE --><script>
let tries = 0;
function scroll() {
  const panel = window.parent.document.querySelector(".st-key-att_one_head");
  if (panel) { panel.scrollIntoView({block: "start"}); } else if (tries++ < 50) { setTimeout(scroll, 100); }
}
scroll();
</script>"""
DEFAULT_TEXT = "The cat sat on the mat because [MASK] was tired."
DEFAULT_PAIR = "It fell asleep at once."
SCOPES = ("this head", "mean of this layer's heads", "mean of all heads")
LONG_INPUT = 128
EVERY_TOKEN = -1
STATE = PageState("attention", [
    Field("att_pair_on", "pair_on", False, parse=parse_bool, dump=dump_bool),
    Field("att_text", "text", DEFAULT_TEXT, label="the text"),
    Field("att_pair", "pair", DEFAULT_PAIR, label="sentence B"),
    Field("att_layer", "layer", 1, parse=bounded_int(1, 128)),
    Field("att_head", "head", 1, parse=bounded_int(1, 128)),
    Field("att_statistic", "statistic", STATISTICS[0], parse=one_of(STATISTICS)),
    Field("att_scope", "scope", SCOPES[0], parse=one_of(SCOPES)),
    Field("att_stretch", "stretch", False, parse=parse_bool, dump=dump_bool),
    Field("att_min_weight", "min_weight", 0.05, parse=bounded_float(0.0, 0.5)),
    Field("att_focus", "focus", EVERY_TOKEN, parse=bounded_int(EVERY_TOKEN, 511)),
    Field("att_qk_token", "query", 0, parse=bounded_int(0, 511)),
    Field("att_mask", "mask", None, parse=bounded_int(0, 511)),
    Field("att_bertviz", "bertviz", False, parse=parse_bool, dump=dump_bool),
    Field("att_bv_layers", "bv_layers", None, parse=parse_list(bounded_int(1, 128)), dump=dump_list),
])

st.title("Attention")
st.caption(":material/school: **What to notice:** many heads park their attention on [SEP] or [CLS] when they have "
           "nothing to do; early layers often look at the previous or next token; the [MASK] link shows which "
           "words the masked position reads before the model guesses it.")
st.write(
    "Each of the model's attention heads decides, for every token, how much to look at every other token when it "
    "builds that token's next representation. Darker cells and thicker lines mean more attention; each row of a "
    "head's pattern adds up to 1."
)
with st.expander("More: what the heads and the statistics mean"):
    st.markdown(
        "bert-large-cased has 24 layers of 16 heads. A head's pattern is a table: row *i* is how token *i* "
        "(the *query*) spreads its attention over all tokens (the *keys*).\n\n"
        "The statistics follow Clark et al. (2019), *What Does BERT Look At?*. For each head they average over "
        "the query tokens: the share of attention given to `[CLS]`, to `[SEP]`, to the token itself, to the "
        "previous and the next token, and to punctuation, and the entropy of each row (0 when a head looks at "
        "one token, ln T when it looks at all T tokens evenly). Many heads park their attention on `[SEP]` or "
        "`[CLS]` when they have nothing to do; a high share there is not a sign of meaning.\n\n"
        "Attention shows where information can flow, not why the model predicts what it does. "
        "A sentence pair is read as `[CLS] A [SEP] B [SEP]`, with segment ids 0 for A and 1 for B."
    )

lm = get_model()
STATE.restore()

pair_on = st.toggle("Sentence pair (A and B)", key="att_pair_on")
text = st.text_area("Sentence A" if pair_on else "Text", key="att_text", height=90)
pair = st.text_area("Sentence B", key="att_pair", height=70) if pair_on else None
stretch = st.toggle(charts.STRETCH_LABEL, key="att_stretch",
                    help="Off: attention weights are coloured on a fixed 0–1 scale (entropy on 0–ln T), so a "
                         "near-uniform head looks pale. On: each chart spans its own minimum to maximum, which shows "
                         "small differences but can make noise look like structure; the colour bars then say so.")
STATE.publish()

try:
    view = cache.attention_view(lm, text, pair)
except BertLensError as exc:
    show_error(exc)
    st.stop()

attention = view.attention
stats = view.statistics
if attention.truncated:
    st.warning(
        f"The input is {attention.full_length:,} tokens long; the model reads at most {attention.n_tokens}. "
        f"Only the first {attention.n_tokens} tokens (with [CLS] and [SEP]) are shown; "
        f"{attention.full_length - attention.n_tokens:,} were cut off."
    )
with st.expander(f"Tokens ({attention.n_tokens})"):
    segments = ["A" if t == 0 else "B" for t in attention.token_type_ids]
    st.dataframe({"position": list(range(attention.n_tokens)), "token": attention.tokens, "segment": segments},
                 hide_index=True, width="stretch", height=min(400, 36 + 35 * attention.n_tokens))

layers, heads = attention.layers, attention.heads
masks = [i for i, t in enumerate(attention.tokens) if t == lm.tokenizer.mask_token]
long_input = attention.n_tokens > LONG_INPUT
focus_options = [*([] if long_input else [EVERY_TOKEN]), *range(attention.n_tokens)]
if long_input and st.session_state.get("att_focus", EVERY_TOKEN) == EVERY_TOKEN:
    st.session_state.att_focus = masks[0] if masks else min(1, attention.n_tokens - 1)
for name, options in (("att_layer", range(1, layers + 1)), ("att_head", range(1, heads + 1)),
                      ("att_focus", focus_options), ("att_qk_token", range(attention.n_tokens)),
                      ("att_mask", masks)):
    if name in st.session_state and st.session_state[name] not in options:
        del st.session_state[name]
st.session_state.setdefault("att_layer", 1)
st.session_state.setdefault("att_head", 1)


def in_context(position: int) -> str:
    return "every token" if position == EVERY_TOKEN else charts.token_in_context(attention.tokens, position)


def _pick(chart: str) -> None:
    picked = head_from_selection(st.session_state.get(chart))
    if picked:
        st.session_state.att_layer, st.session_state.att_head = picked
        st.session_state["_att_scroll"] = st.session_state.get("_att_scroll", 0) + 1
        st.session_state["_att_scrolled"] = False


selected = (st.session_state.att_layer, st.session_state.att_head)
st.subheader(f"All {layers * heads} heads")
left, right = st.columns([1, 1])
left.caption(f"Each thumbnail is one head's {attention.n_tokens}×{attention.n_tokens} pattern, shrunk to at most "
             "32×32: rows attend to columns, darker is more. Each is drawn from 0 to the larger of its own peak and "
             "8/T, so a near-uniform head stays pale. The orange square marks the head shown below.")
statistic = right.selectbox("Statistic", STATISTICS, format_func=STATISTIC_LABELS.get, key="att_statistic",
                            label_visibility="collapsed")
with left:
    st.plotly_chart(style(charts.thumbnail_figure(view.grid, attention, selected)), key="att_thumbs",
                    on_select=lambda: _pick("att_thumbs"), selection_mode="points", width="stretch")
with right:
    st.plotly_chart(style(charts.statistics_figure(stats, statistic, selected, attention.n_tokens, stretch)),
                    key="att_stats",
                    on_select=lambda: _pick("att_stats"), selection_mode="points", width="stretch")
st.caption("Click a thumbnail or a cell to open that head below; the orange square marks it.")
provenance = {"model": lm.info.model_id, "revision": lm.fingerprint(),
              "random_weights": str(lm.info.random_weights).lower(), "tokens": str(attention.n_tokens)}
st.download_button("Download the per-head statistics (CSV)", stats.to_csv(provenance),
                   file_name="attention_heads.csv", mime="text/csv", key="att_csv")

one_head = st.container(key="att_one_head")
one_head.subheader("One head")
if st.session_state.get("_att_scroll") and not st.session_state.get("_att_scrolled"):
    st.session_state["_att_scrolled"] = True
    with one_head:
        st.iframe(SCROLL_HTML.replace("NONCE", str(st.session_state["_att_scroll"])), height=1)
c1, c2, c3 = one_head.columns([1, 1, 2])
layer = c1.selectbox("Layer", range(1, layers + 1), key="att_layer")
head = c2.selectbox("Head", range(1, heads + 1), key="att_head")
scope = c3.radio("Show", SCOPES, horizontal=True, key="att_scope")
if scope == "this head":
    matrix, title = attention.weights[layer - 1, head - 1], f"Layer {layer}, head {head}"
elif scope == "mean of this layer's heads":
    matrix, title = mean_over_heads(attention.weights, layer - 1), f"Layer {layer}, mean of {heads} heads"
else:
    matrix, title = mean_over_heads(attention.weights), f"Mean of all {layers * heads} heads"

lines_tab, heatmap_tab, qk_tab, bertviz_tab = st.tabs(["Lines", "Heatmap", "Query × key", "bertviz"])
with lines_tab:
    o1, o2 = st.columns(2)
    min_weight = o1.slider("Hide lines below", 0.0, 0.5, step=0.01, key="att_min_weight")
    focus = o2.selectbox("Lines from", focus_options, key="att_focus", format_func=in_context)
    if long_input:
        st.caption(f"Above {LONG_INPUT} tokens the lines of every token would be an unreadable tangle, so only the "
                   "chosen token's lines are drawn.")
    lines = line_segments(matrix, min_weight=min_weight, query=None if focus == EVERY_TOKEN else focus)
    st.plotly_chart(style(charts.line_view(lines, attention.tokens, title)), key="att_lines", width="stretch")
    st.caption("Each line joins a token on the left to a token it attends to on the right; thicker and darker lines "
               "carry more weight.")
with heatmap_tab:
    st.plotly_chart(style(charts.head_heatmap(matrix, attention.tokens, title, stretch)), key="att_heatmap",
                    width="stretch")
with qk_tab:
    st.caption(f"How layer {layer}, head {head} computes one token's row of attention from the model's own weights: "
               "the token's query vector is multiplied with every token's key vector, summed, scaled by 1/√d and "
               "passed through a softmax. Blue is positive, red negative.")
    query_position = st.selectbox("Query token", range(attention.n_tokens), key="att_qk_token",
                                  format_func=in_context)
    qk = query_key(lm, view.analysis, layer - 1, head - 1, query_position)
    st.plotly_chart(style(charts.query_key_figure(qk, attention.tokens)), key="att_qk_chart", width="stretch")
with bertviz_tab:
    fit = bertviz_layers_that_fit(attention)
    if not fit:
        st.info(
            f"bertviz inlines every attention weight into its page; at {attention.n_tokens} tokens even one "
            "layer is too large to send. Use the Lines and Heatmap tabs, which send one head at a time."
        )
    elif st.toggle("Show bertviz's own views", key="att_bertviz",
                   help="Off by default: bertviz's pages are large, and Streamlit sends every tab's content."):
        model_fit = bertviz_model_view_layers(attention)
        st.caption(
            f"bertviz's head view, restricted to layer {layer} (hover a token; click a head's colour to toggle "
            "it). bertviz inlines every weight it shows, so weights are rounded to 3 decimals and the model view "
            f"shows at most {model_fit} layer(s) at this length. bertviz numbers layers and heads from 0. "
            "Its scripts come from this app, not a CDN."
        )
        st.iframe(bertviz_head_view(attention, [layer - 1], static_url()),
                  height=bertviz_heights(attention.n_tokens, 1, heads)[0], alt="bertviz head view")
        picked = st.session_state.get("att_bv_layers")
        if picked is not None and (len(picked) > model_fit or any(c > layers for c in picked)):
            del st.session_state["att_bv_layers"]
        if model_fit:
            if st.session_state.get("att_bv_layers") is None:
                st.session_state.att_bv_layers = list(range(1, min(model_fit, 2) + 1))
            chosen = st.multiselect("Layers for bertviz's model view", range(1, layers + 1),
                                    max_selections=model_fit, key="att_bv_layers")
            if chosen:
                st.iframe(bertviz_model_view(attention, [c - 1 for c in sorted(chosen)], static_url=static_url()),
                          height=bertviz_heights(attention.n_tokens, len(chosen), heads)[1],
                          alt="bertviz model view")

if masks:
    st.subheader("The [MASK] link")
    st.write("What the masked position looks at in each layer (mean over heads), next to what the model "
             "predicts for it.")
    position = masks[0] if len(masks) == 1 else st.selectbox("Mask", masks, format_func=in_context, key="att_mask")
    m1, m2 = st.columns([3, 1])
    m1.plotly_chart(style(charts.mask_figure(mask_attention(attention, position), attention.tokens, position,
                                             stretch)), key="att_mask_chart", width="stretch")
    with m2:
        try:
            result = postprocess(lm, view.analysis, top_k=5)
            prediction = next((m for m in result.masks if m.position == position), None)
        except BertLensError as exc:
            st.info(md_escape(str(exc)))
        else:
            if prediction is None:
                st.info("No prediction for this mask.")
            else:
                st.caption(f"Predictions at position {position}")
                st.dataframe({"token": [c.token for c in prediction.candidates],
                              "probability": [round(c.probability, 4) for c in prediction.candidates]},
                             hide_index=True, width="stretch")
STATE.publish(note=False)
