"""BERT Lens: the entry point. `streamlit run app.py`."""
import streamlit as st

from components import figure_export, lesson, lesson_glossary, lesson_stale
from components.presentation import is_on, navigation_position, sidebar_controls
from components.query_state import GLOBAL_FIELDS, PageState, install_history, publish_globals
from components.sidebar import debias_banner, debias_switch, model_facts, pages_off_the_top_bar, precision_picker
from components.weights_panel import configured, open_model, random_weights_banner

st.set_page_config(page_title="BERT Lens", page_icon="assets/icon.png", layout="wide")

PageState("app", GLOBAL_FIELDS).restore()
OFF_TOP_BAR = "hidden" if is_on() else "visible"  # no room in presentation's top bar: the sidebar links them
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/fill_mask.py", title="Fill-mask", icon=":material/format_color_text:", url_path="fill-mask"),
    st.Page("app_pages/explain.py", title="Explain", icon=":material/psychology_alt:", url_path="explain"),
    st.Page("app_pages/next_sentence.py", title="Next sentence", icon=":material/arrow_forward:", url_path="next-sentence"),
    st.Page("app_pages/attention.py", title="Attention", icon=":material/hub:", url_path="attention"),
    st.Page("app_pages/heads.py", title="Which heads?", icon=":material/account_tree:", url_path="heads"),
    st.Page("app_pages/bias_probe.py", title="Gender-bias probe", icon=":material/balance:", url_path="bias-probe"),
    st.Page("app_pages/counterfactual.py", title="Counterfactual", icon=":material/swap_horiz:", url_path="counterfactual"),
    st.Page("app_pages/debias.py", title="What if we remove it?", icon=":material/filter_alt:", url_path="debias", visibility=OFF_TOP_BAR),
    st.Page("app_pages/glossary.py", title="Glossary", icon=":material/menu_book:", url_path="glossary", visibility=OFF_TOP_BAR),
]

page = st.navigation(PAGES, position=navigation_position())
sidebar_controls()
lesson_glossary.switch()
figure_export.install()
install_history()
lesson_stale.install()
publish_globals()
lesson.adopt_link()
lesson.sidebar(page.url_path)
settings, device_type = configured()
switch = st.sidebar.container()
facts = st.sidebar.container()
pages_off_the_top_bar(switch)
lm = open_model(precision_picker(device_type, settings.resolved_dtype()))
model_facts(lm, facts)
random_weights_banner(lm)
debias_banner(debias_switch(lm, switch), page.url_path)
lesson.bar()
page.run()
