"""Attention explorer: every layer and head for one text or a sentence pair."""
from functools import partial

import pandas as pd
import streamlit as st

from bertlens.attention import STATISTIC_LABELS, STATISTICS, mask_attention, mean_over_heads, query_key
from bertlens.attention_views import (bertviz_head_view, bertviz_heights, bertviz_layers_that_fit,
                                      bertviz_model_view, bertviz_model_view_layers, head_view_svg, line_segments,
                                      thumbnails)
from bertlens.errors import BertLensError
from bertlens.fill_mask import postprocess
from components import attention_charts as charts
from components.attention_callbacks import EVERY_TOKEN, model_view_svg_of, pick_head, step_layer, token_label
from components.attention_widgets import relabel_when_tokens_change, static_url
from components.figure_export import context_name, context_title, set_context, svg_download
from components.number_format import table
from components.presentation import chart, content_width, is_on, output_share, side_by_side
from components.query_state import (Field, PageState, bounded_float, bounded_int, dump_bool, dump_list, one_of,
                                    parse_bool, parse_list)
from components.safe import md_escape, show_error
from services import cache
from components.weights_panel import get_model

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
GRIDS = ("all", "layer")
GRID_LABELS = {"all": "every head", "layer": "one layer, large"}
LONG_INPUT = 128
STATE = PageState("attention", [
    Field("att_pair_on", "pair_on", False, parse=parse_bool, dump=dump_bool),
    Field("att_text", "text", DEFAULT_TEXT, label="the text", lesson=True),
    Field("att_pair", "pair", DEFAULT_PAIR, label="sentence B"),
    Field("att_layer", "layer", 1, parse=bounded_int(1, 128)),
    Field("att_head", "head", 1, parse=bounded_int(1, 128)),
    Field("att_statistic", "statistic", STATISTICS[0], parse=one_of(STATISTICS)),
    Field("att_grid", "grid", GRIDS[0], parse=one_of(GRIDS)),
    Field("att_scope", "scope", SCOPES[0], parse=one_of(SCOPES)),
    Field("att_stretch", "stretch", False, parse=parse_bool, dump=dump_bool),
    Field("att_min_weight", "min_weight", 0.05, parse=bounded_float(0.0, 0.5)),
    Field("att_focus", "focus", EVERY_TOKEN, parse=bounded_int(EVERY_TOKEN, 511)),
    Field("att_qk_token", "query", 0, parse=bounded_int(0, 511)),
    Field("att_mask", "mask", None, parse=bounded_int(0, 511)),
    Field("att_bertviz", "bertviz", False, parse=parse_bool, dump=dump_bool),
    Field("att_bv_layers", "bv_layers", None, parse=parse_list(bounded_int(1, 128)), dump=dump_list),
    Field("_att_scroll", "", 0, label="the scroll to the head picked on a chart"),
    Field("_att_scrolled", "", True, label="whether that scroll happened"),
])

st.title("Attention")
st.caption(":material/school: **What to notice:** many heads park their attention on [SEP] or [CLS] when they have "
           "nothing to do; early layers often look at the previous or next token; the [MASK] link shows which "
           "words the masked position reads before the model guesses it.")
if not is_on():
    st.write(
        "Each of the model's attention heads decides, for every token, how much to look at every other token when "
        "it builds that token's next representation. Darker cells and thicker lines mean more attention; each row "
        "of a head's pattern adds up to 1."
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

inputs, output = side_by_side((2, 3))
with inputs:
    pair_on = st.toggle("Sentence pair (A and B)", key="att_pair_on")
    text = st.text_area("Sentence A" if pair_on else "Text", key="att_text", height=90)
    pair = st.text_area("Sentence B", key="att_pair", height=70) if pair_on else None
    stretch = st.toggle(charts.STRETCH_LABEL, key="att_stretch",
                        help="Off: attention weights are coloured on a fixed 0–1 scale (entropy on 0–ln T), so a "
                             "near-uniform head looks pale. On: each chart spans its own minimum to maximum, which "
                             "shows small differences but can make noise look like structure; the colour bars then "
                             "say so.")
    grid_mode = st.segmented_control("Heads", GRIDS, key="att_grid", required=True, format_func=GRID_LABELS.get,
                                     help="Every head as a thumbnail, or the heads of one layer large enough to read "
                                          "from the back of a room (the layer of the head chosen below).")
STATE.publish()
set_context(lm.info.model_id, text)

try:
    view = cache.attention_view(lm, text, pair)
except BertLensError as exc:
    with output:
        show_error(exc)
    st.stop()

attention = view.attention
stats = view.statistics
relabel_when_tokens_change(("att_focus", "att_qk_token", "att_mask"), tuple(attention.tokens))
if attention.truncated:
    st.warning(
        f"The input is {attention.full_length:,} tokens long; the model reads at most {attention.n_tokens}. "
        f"Only the first {attention.n_tokens} tokens (with [CLS] and [SEP]) are shown; "
        f"{attention.full_length - attention.n_tokens:,} were cut off."
    )

layers, heads = attention.layers, attention.heads
masks = [i for i, t in enumerate(attention.tokens) if t == lm.tokenizer.mask_token]
long_input = attention.n_tokens > LONG_INPUT
focus_options = [*([] if long_input else [EVERY_TOKEN]), *range(attention.n_tokens)]
if long_input and STATE.get("att_focus") == EVERY_TOKEN:
    STATE.set("att_focus", masks[0] if masks else min(1, attention.n_tokens - 1))
for name, options in (("att_layer", range(1, layers + 1)), ("att_head", range(1, heads + 1)),
                      ("att_focus", focus_options), ("att_qk_token", range(attention.n_tokens)),
                      ("att_mask", masks)):
    if STATE.get(name) not in options:
        STATE.pop(name)
for name in ("att_layer", "att_head"):
    STATE.set(name, STATE.get(name))
in_context = partial(token_label, tuple(attention.tokens))  # plain values: no function of this page outlives its run

selected = (STATE.get("att_layer"), STATE.get("att_head"))
provenance = {"model": lm.info.model_id, "revision": lm.fingerprint(),
              "random_weights": str(lm.info.random_weights).lower(), "tokens": str(attention.n_tokens)}
with output:
    if grid_mode == GRIDS[1]:
        layer_now = STATE.get("att_layer")
        st.subheader(f"Layer {layer_now:d}: its {heads} heads")
        back, middle, forward = st.columns([1, 2, 1], vertical_alignment="center")
        back.button("◀ Layer", key="att_layer_back", on_click=step_layer, args=(-1, layers), disabled=layer_now <= 1,
                    width="stretch")
        middle.caption(f"Layer {layer_now:d} of {layers}: rows attend to columns. Click a head to open it below.")
        forward.button("Layer ▶", key="att_layer_forward", on_click=step_layer, args=(1, layers),
                       disabled=layer_now >= layers, width="stretch")
        layer_thumbs = thumbnails(attention.weights[layer_now - 1:layer_now], size=64)[0].numpy()
        chart(charts.layer_figure(layer_thumbs, layer_now, 4 if heads >= 4 else heads, STATE.get("att_head"),
                                  width=content_width(output_share()), tokens=list(attention.tokens)),
              key="att_layer_heads", name=f"attention-layer-{layer_now}", on_select=partial(pick_head, "att_layer_heads"),
              selection_mode="points")
        svg_download(partial(model_view_svg_of, lm, text, pair, (layer_now - 1,)), f"attention-model-view-layer-{layer_now}",
                     "att_layer_svg", "Model view of this layer (SVG)",
                     help="bertviz's model view of this layer's heads as a standalone vector figure: every head's "
                          "lines, the tokens named.")
    else:
        st.subheader(f"All {layers * heads} heads")
        if is_on():
            st.caption("One thumbnail per head: rows attend to columns, darker is more. Click one to open it below.")
        else:
            st.caption(f"Each thumbnail is one head's {attention.n_tokens}×{attention.n_tokens} pattern, shrunk to "
                       "at most 32×32: rows attend to columns, darker is more. Each is drawn from 0 to the larger of "
                       "its own peak and 8/T, so a near-uniform head stays pale. The orange square marks the head "
                       "shown below; click a thumbnail to open another.")
        chart(charts.thumbnail_figure(view.grid, attention, selected, width=content_width(output_share())),
              key="att_thumbs", name="attention-heads", on_select=partial(pick_head, "att_thumbs"),
              selection_mode="points")

st.subheader("A statistic of every head")
left, right = st.columns([3, 2], vertical_alignment="bottom")
statistic = left.selectbox("Statistic", STATISTICS, format_func=STATISTIC_LABELS.get, key="att_statistic")
right.download_button("Per-head statistics (CSV)", stats.to_csv(provenance),
                      file_name=f"{context_name('attention-heads')}.csv",
                      mime="text/csv", key="att_csv", icon=":material/download:", width="stretch")
st.caption("Click a cell to open that head below; the orange square marks it.")
chart(charts.statistics_figure(stats, statistic, selected, attention.n_tokens, stretch, width=content_width()),
      key="att_stats", name=f"attention-{statistic}", on_select=partial(pick_head, "att_stats"), selection_mode="points")
with st.expander(f"Tokens ({attention.n_tokens})"):
    segments = ["A" if t == 0 else "B" for t in attention.token_type_ids]
    st.dataframe({"position": list(range(attention.n_tokens)), "token": attention.tokens, "segment": segments},
                 hide_index=True, width="stretch", height=min(400, 36 + 35 * attention.n_tokens))

one_head = st.container(key="att_one_head")
one_head.subheader("One head")
if STATE.get("_att_scroll") and not STATE.get("_att_scrolled"):
    STATE.set("_att_scrolled", True)
    with one_head:
        st.iframe(SCROLL_HTML.replace("NONCE", str(STATE.get("_att_scroll"))), height=1)
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
    chart(charts.line_view(lines, attention.tokens, title), key="att_lines", name="attention-lines")
    st.caption("Each line joins a token on the left to a token it attends to on the right; thicker and darker lines "
               "carry more weight.")
    svg_download(partial(head_view_svg, list(attention.tokens), lines, context_title(title)),
                 f"attention-head-view-{title}",
                 "att_lines_svg", "Head view (SVG)",
                 help="These lines (this head or mean, this threshold, this token) as a standalone vector figure.")
with heatmap_tab:
    chart(charts.head_heatmap(matrix, attention.tokens, title, stretch), key="att_heatmap",
          name="attention-heatmap")
with qk_tab:
    st.caption(f"How layer {layer}, head {head} computes one token's row of attention from the model's own weights: "
               "the token's query vector is multiplied with every token's key vector, summed, scaled by 1/√d and "
               "passed through a softmax. Blue is positive, red negative.")
    query_position = st.selectbox("Query token", range(attention.n_tokens), key="att_qk_token",
                                  format_func=in_context)
    qk = query_key(lm, view.analysis, layer - 1, head - 1, query_position)
    chart(charts.query_key_figure(qk, attention.tokens), key="att_qk_chart", name="attention-query-key")
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
        picked = STATE.get("att_bv_layers")
        if picked is not None and (len(picked) > model_fit or any(c > layers for c in picked)):
            STATE.pop("att_bv_layers")
        if model_fit:
            if STATE.get("att_bv_layers") is None:
                STATE.set("att_bv_layers", list(range(1, min(model_fit, 2) + 1)))
            chosen = st.multiselect("Layers for bertviz's model view", range(1, layers + 1),
                                    max_selections=model_fit, key="att_bv_layers")
            if chosen:
                st.iframe(bertviz_model_view(attention, [c - 1 for c in sorted(chosen)], static_url=static_url()),
                          height=bertviz_heights(attention.n_tokens, len(chosen), heads)[1],
                          alt="bertviz model view")
                svg_download(partial(model_view_svg_of, lm, text, pair, tuple(c - 1 for c in sorted(chosen))),
                             "attention-model-view-layers-" + "-".join(str(c) for c in sorted(chosen)),
                             "att_bv_svg", "Model view of these layers (SVG)")

if masks:
    st.subheader("The [MASK] link")
    st.write("What the masked position looks at in each layer (mean over heads), next to what the model "
             "predicts for it.")
    position = masks[0] if len(masks) == 1 else st.selectbox("Mask", masks, format_func=in_context, key="att_mask")
    m1, m2 = st.columns([3, 1])
    with m1:
        chart(charts.mask_figure(mask_attention(attention, position), attention.tokens, position, stretch),
              key="att_mask_chart", name="attention-mask")
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
                st.dataframe(table(pd.DataFrame({"token": [c.token for c in prediction.candidates],
                                                 "probability": [c.probability for c in prediction.candidates]}),
                                   numbers=["probability"]), hide_index=True, width="stretch")
STATE.publish(note=False)
