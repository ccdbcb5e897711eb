"""What if we remove it? Fit a debiasing transform, then see the intact model beside the debiased one, and what the
transform costs the language model. The fit stays on the server; the session keeps its key (components.sidebar)."""
import streamlit as st

from bertlens.debias import METHODS, NAMES
from components import debias_view as view
from components.job_panel import Request, job_area
from components.presentation import is_on
from components.query_state import Field, PageState, bounded_int, dump_list, one_of, parse_list
from components.safe import md_escape
from components.sidebar import adopt_fit
from components.weights_panel import get_model
from services import debias as service

st.title("What if we remove it?")
st.caption(":material/school: **What to notice:** a debiasing transform removes what a straight line could read "
           "about gender from the hidden states; watch what that changes in the bias scores, and what it costs the "
           "model's ability to fill in words.")
if not is_on():
    st.markdown(
        "Fit a transform on gendered sentences (*He is a nurse.* / *She is a nurse.*), then compare the intact "
        "model with the model seen through it. **LEACE** (Belrose et al. 2023) erases exactly what any linear "
        "classifier could use to tell the two groups apart; **INLP** (Ravfogel et al. 2020) repeatedly trains such "
        "classifiers and projects out their directions; **SentenceDebias** (Liang et al. 2020) removes the main "
        "direction of the differences between gender-swapped sentences; **Self-Debias** (Schick et al. 2021) fits "
        "nothing and rescales the masked LM's guesses with a biased prefix.")

lm = get_model(require="mlm").with_transform(None)
LAYERS = lm.config.num_hidden_layers
STATE = PageState("debias", [
    Field("db_method", "method", "leace", parse=one_of(METHODS), label="the method"),
    Field("db_layers", "layers", [], parse=parse_list(bounded_int(1, 1000), limit=64), dump=dump_list,
          label="the layers"),
    Field("db_dot_layer", "layer", 0, parse=bounded_int(0, 1000), label="the layer of the occupations"),
])
STATE.restore()
kept_layers = [layer for layer in STATE.get("db_layers") or [] if 1 <= layer <= LAYERS]
STATE.set("db_layers", kept_layers or [LAYERS])

left, right = st.columns([1, 2]) if not is_on() else st.columns([2, 3])
method = left.selectbox("Method", METHODS, key="db_method", format_func=NAMES.get)
if method == "self_debias":
    layers: tuple[int, ...] = ()
    right.caption("Self-Debias needs no layers: it rescales the masked LM's probabilities at each [MASK] "
                  "(λ = 50, ε = 0.01, bias-bench's defaults).")
else:
    layers = tuple(sorted(right.multiselect("Layers (the output of each)", list(range(1, LAYERS + 1)),
                                            key="db_layers",
                                            help="The transform is fitted at these layers, from the lowest up; "
                                                 "the last layer by default, as bias-bench does.")))
if STATE.get("db_dot_layer") not in range(1, LAYERS + 1):
    STATE.set("db_dot_layer", (layers or (LAYERS,))[0])
STATE.publish()

fit = None
if method != "self_debias" and not layers:
    st.info("Choose at least one layer.")
else:
    done = job_area([Request(service.FIT, lm, (method, layers), {}, f"Fitting {NAMES[method]}")],
                    button="Fit", key="db_fit_run",
                    hint="Press Fit to fit the transform on the default sentences (the shipped templates × word "
                         "pairs, with their gender swaps).")
    if done:
        fit = done[0]
        adopt_fit(fit)
        st.success(md_escape(view.fitted_note(fit)), icon=":material/check_circle:")

direction_tab, probe_tab, seat_tab, cost_tab, published_tab = st.tabs(
    ["Gender direction", "Probe", "SEAT and CrowS", "Language-model cost", "Published figures"])
shown = {}
with direction_tab:
    shown["direction"] = view.direction_section(lm, fit, "db_dot_layer")
with probe_tab:
    shown["probe"] = view.probe_section(lm, fit)
with seat_tab:
    shown["metrics"] = view.seat_crows_section(lm, fit)
with cost_tab:
    shown["cost"] = view.cost_section(lm, fit)
with published_tab:
    view.published_section(lm, fit, shown["metrics"].get("SEAT"))
view.download(lm, fit, shown)
