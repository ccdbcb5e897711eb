"""Which heads? Causal mediation: which of the model's heads carry a word's effect on the prediction at the mask."""
import streamlit as st

from bertlens.errors import BertLensError
from bertlens.mediation import PairInput, PairMediation, SwapLengthError, parse_swap, parse_targets, prepare
from bertlens.registry import get as registered
from components.figure_export import set_context
from components.heads_view import STRETCH_LABEL, show_mediation, show_template_mediation, swap_error
from components.lesson_glossary import define
from components.lesson_sentence import use_it_on
from components.presentation import is_on, side_by_side
from components.query_state import Field, PageState, bounded_int, bounded_text, dump_bool, one_of, parse_bool
from components.safe import show_error
from components import job_panel as jobs
from components.weights_panel import get_model

DEFAULT_TEXT = "The nurse said that [MASK] would be late for the meeting."
VIEWS = ("pair", "templates")
VIEW_LABELS = {"pair": "One sentence", "templates": "Across the probe's templates"}
SHORT_LABELS = {"pair": "One sentence", "templates": "Across templates"}  # the narrow input column
STATE = PageState("heads", [
    Field("hd_text", "text", DEFAULT_TEXT, label="the text", lesson=True),
    Field("hd_swap", "swap", "nurse=man", parse=bounded_text(201), label="the swap", limit=201),
    Field("hd_targets", "targets", "she,he", parse=bounded_text(201), label="the targets", limit=201),
    Field("hd_stretch", "stretch", False, parse=parse_bool, dump=dump_bool),
    Field("hd_head", "head", "", parse=bounded_text(9)),
    Field("hd_view", "view", VIEWS[0], parse=one_of(VIEWS)),
    Field("hd_occupations", "occupations", 12, parse=bounded_int(2, 64)),
])

st.title("Which heads?")


def introduction() -> None:
    """What to notice and the definitions: above the inputs, or in presentation mode under them (the map then
    starts on the projector's screen)."""
    st.caption(":material/school: **What to notice:** swap one word (nurse → man) and the ratio P(she) / P(he) at "
               "the mask moves; then ask which of the model's heads carry that move, and open one to see where it "
               "looks.")
    if not is_on():
        st.markdown(
            "The bias probe shows *that* an occupation moves the pronoun the model guesses. This page asks *where* "
            "in the model that happens. It runs the text twice, once as written and once with one word swapped, and "
            "then once more for every head, with only that head's output taken from the swapped run "
            "(causal mediation, Vig et al., 2020).")
    with st.expander("Go deeper: the definitions"):
        st.markdown(
            "With **y = P(T1) / P(T2)** at the mask (the two target words):\n\n"
            "- **Total effect** TE = y(swapped text) / y(text) − 1, shown in % (+0.10 is +10%), as every effect "
            "on this page.\n"
            "- **Natural indirect effect** of head (l, h): NIE = y(text, with that head's output taken from the "
            "swapped text's run) / y(text) − 1. A head's output is its slice of the attention context (before the "
            "layer's output projection), at every position.\n"
            "- **Attention layer l**: the layer's whole context is taken from the swapped run; **MLP layer l**: the "
            "MLP's inner activation (the input of its output projection).\n\n"
            "Layers and heads count from 1. The swap must keep the number of WordPieces, so the two runs can be "
            "patched position by position; the targets must be one WordPiece each. Only the rows from the patched "
            "layer up are recomputed, all heads in batches, so the whole map costs a few dozen forward passes "
            "instead of 432.")


if not is_on():
    introduction()

lm = get_model(require="mlm")
STATE.restore()

inputs, output = side_by_side()
with inputs:
    labels = SHORT_LABELS if is_on() else VIEW_LABELS
    view = st.segmented_control("View", VIEWS, format_func=labels.get, key="hd_view",
                                label_visibility="collapsed") or VIEWS[0]
    stretch = st.toggle(STRETCH_LABEL, key="hd_stretch",
                        help="Off: the colours span a fixed ±1 (the ratio doubled or gone), so a weak head looks "
                             "pale. On: they span the largest effect on the map, which shows small differences but "
                             "can make noise look like structure; the colour bar says which.")
provenance = {"model": lm.info.model_id, "revision": lm.fingerprint(), "random_weights": lm.info.random_weights,
              "precision": lm.info.dtype}

if view == "pair":
    with inputs:
        text = st.text_area("Text with one [MASK]", key="hd_text", height=80)
        c1, c2 = (st.container(), st.container()) if is_on() else st.columns(2)
        swap = c1.text_input("Swap a word (WORD=OTHER)", key="hd_swap", placeholder="nurse=man",
                             help="Every whole-word WORD of the text is replaced by OTHER; both need the same number "
                                  "of WordPieces.")
        targets = c2.text_input("Targets (T1,T2)", key="hd_targets", placeholder="she,he",
                                help="y = P(T1) / P(T2) at the mask; each target is one WordPiece.")
        STATE.publish()
        set_context(lm.info.model_id, text)
        try:
            pair = PairInput(text, str(parse_swap(swap)), parse_targets(targets))
            checked = prepare(lm, pair.text, pair.swap, pair.targets)
        except SwapLengthError as exc:
            swap_error(exc)
            st.stop()
        except BertLensError as exc:
            show_error(exc)
            st.stop()
        st.caption("After the swap")
        st.code(checked.counterfactual, language=None, wrap_lines=True)
    request = jobs.Request(PairMediation(), lm, PairInput(checked.text, pair.swap, pair.targets), {},
                           "Mediation over every head")
    with output:
        results = jobs.job_area([request], button="Find the heads", key="hd_run",
                                help=f"{lm.info.layers * lm.info.heads} heads and {2 * lm.info.layers} layers, in "
                                     "batches.")
        if results:
            show_mediation(results[0], stretch=stretch, key="hd_pair", selected_key="hd_head",
                           provenance={**provenance, "swap": pair.swap}, random_weights=lm.info.random_weights)
            define("total effect", "NIE")
        use_it_on(text, "heads")
else:
    method = registered("metric", "mediation")
    with inputs:
        st.write("The same analysis averaged over the pronoun probe's templates (\"The {occupation} said that [MASK] "
                 "would be late.\" …) and occupations: each occupation is swapped for the gendered noun its BLS "
                 "share does not suggest (nurse → man, carpenter → woman), and y = P(that gender's pronoun) / "
                 "P(the other), so a positive effect always means \"towards the swapped gender\".")
        occupations = st.slider("Occupations (the most male- and female-dominated, half each)", 2, 64,
                                key="hd_occupations")
        STATE.publish()
        set_context(lm.info.model_id, "across templates")
        config = method.spec.validate({"occupations": occupations})
    request = jobs.Request(method, lm, None, config, "Mediation across templates")
    with output:
        results = jobs.job_area([request], button="Run over every template", key="hd_templates_run",
                                help="Each template and occupation is one full mediation.")
        if results:
            show_template_mediation(results[0], stretch=stretch, key="hd_templates",
                                    provenance={**provenance, "config": config},
                                    random_weights=lm.info.random_weights)
if is_on():
    with inputs:
        introduction()
