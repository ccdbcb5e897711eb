"""BERT Lens: the entry point. `streamlit run app.py`."""
import streamlit as st

from components.model_service import get_model, random_weights_banner
from components.sidebar import model_facts

st.set_page_config(page_title="BERT Lens", page_icon="assets/icon.png", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/fill_mask.py", title="Fill-mask", icon=":material/format_color_text:", url_path="fill_mask"),
    st.Page("pages/next_sentence.py", title="Next sentence", icon=":material/arrow_forward:", url_path="next_sentence"),
    st.Page("pages/attention.py", title="Attention", icon=":material/hub:", url_path="attention"),
    st.Page("pages/bias_probe.py", title="Gender-bias probe", icon=":material/balance:", url_path="bias_probe"),
]

page = st.navigation(PAGES)
lm = get_model()
model_facts(lm)
random_weights_banner(lm)
page.run()
