import streamlit as st

from components.weights_panel import get_model
from components import lesson
from components.safe import md_escape, show_error
from components.uploads import kept_upload
from bertlens.errors import InputError

lm = get_model()
info = lm.info
st.title("BERT Lens")
st.markdown(
    f"Look inside **{md_escape(info.model_id)}**: {info.layers} layers, {info.heads} attention heads per layer, "
    f"{info.parameters / 1e6:,.1f}M parameters, and the two tasks it was pre-trained on."
)
st.caption(":material/school: **What to notice:** the model only ever learned two games, filling in hidden words "
           "and judging whether one sentence follows another; every page below plays one of them, or looks inside "
           "while it plays.")

left, right = st.columns(2)
with left:
    st.subheader("Masked language modelling (MLM)")
    st.markdown(
        "During pre-training, 15% of the words in a text were hidden behind `[MASK]` and the model learned to "
        "guess them from the words on both sides. Give it a sentence with `[MASK]` and it returns a probability "
        f"for every one of its {info.vocab_size:,} WordPieces."
    )
    st.page_link("app_pages/fill_mask.py", label="Fill-mask: what goes in the blank?", icon=":material/format_color_text:")
with right:
    st.subheader("Next sentence prediction (NSP)")
    st.markdown(
        "The model also saw pairs of sentences and learned whether the second really followed the first in the "
        "original text. It returns P(IsNext) for any pair."
    )
    st.page_link("app_pages/next_sentence.py", label="Next sentence: does B follow A?", icon=":material/arrow_forward:")

left, right = st.columns(2)
with left:
    st.subheader("Attention")
    st.markdown(
        f"Each of the {info.layers} layers has {info.heads} attention heads; each head decides, for every token, how "
        f"much to look at every other token. See all {info.layers * info.heads} heads at once, or any one head in "
        "detail."
    )
    st.page_link("app_pages/attention.py", label="Attention: what does each head look at?", icon=":material/hub:")
with right:
    st.subheader("Gender bias")
    st.markdown(
        "The model card warns that bert-large-cased predicts *nurse* for women and *mechanic* for men. Measure "
        "it across occupations and templates, and compare with US labour statistics."
    )
    st.page_link("app_pages/bias_probe.py", label="Gender-bias probe: which jobs for whom?", icon=":material/balance:")

with st.expander("How the model reads text"):
    st.markdown(
        "Text is split into **WordPieces**: common words are one piece, rarer ones several (`firefighter` is "
        "`fire ##fighter`). Every input starts with `[CLS]` and ends with `[SEP]`; a sentence pair has a `[SEP]` "
        "between A and B. The model reads at most 512 pieces. This is the **cased** model: `Paris` and `paris` "
        "are different pieces."
    )

st.subheader("A lesson plan")
st.caption("A lesson plan opens the pages of a lesson in order, each with its sentence and settings and a note; in "
           "presentation mode a bar at the top moves between the steps (PageUp and PageDown do too). Build one with "
           "the sidebar's \"Add this page as a step\", download it, and open it here next time.")
upload, sample = st.columns([3, 2], vertical_alignment="bottom")
with upload:
    plan_file = kept_upload("Open a lesson plan (JSON)", "lesson_upload", ["json"])
with sample:
    start_sample = st.button("Open the sample lesson: gender bias, fill-mask to bias probe", key="lesson_sample",
                             icon=":material/school:")
if start_sample:
    lesson.open_lesson(lesson.shipped(lesson.SAMPLE))
    lesson.go_to_step(0)
if plan_file is not None:
    try:
        plan = lesson.parse(plan_file.getvalue().decode("utf-8", errors="strict"), f"the file {plan_file.name}")
    except UnicodeDecodeError:
        st.error("The lesson file is not UTF-8 text.", icon=":material/error:")
    except InputError as exc:
        show_error(exc)
    else:
        st.text(f"{plan.title}: {len(plan.steps)} steps")
        if st.button("Start this lesson", key="lesson_start", type="primary", icon=":material/play_arrow:"):
            lesson.open_lesson(plan)
            lesson.go_to_step(0)
