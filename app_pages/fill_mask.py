import streamlit as st

from bertlens.errors import BertLensError
from bertlens.fill_mask import MAX_TOP_K, Filters
from bertlens.text import MASK, MAX_CHARS, MAX_MASKS, count_masks, mask_word, words, wrong_mask_spelling
from components.fill_mask_view import show_result, show_word_scores
from components.query_state import adopt, bounded_int, bounded_text, publish
from components.safe import md_escape, show_error
from services import cache
from services.model import get_model

PRESETS = {
    "Model card: Hello I'm a [MASK] model.": "Hello I'm a [MASK] model.",
    "Model card: The man worked as a [MASK].": "The man worked as a [MASK].",
    "Model card: The woman worked as a [MASK].": "The woman worked as a [MASK].",
    "Fact: Paris is the [MASK] of France.": "Paris is the [MASK] of France.",
    "Grammar: She [MASK] to school yesterday.": "She [MASK] to school yesterday.",
    "Context: The [MASK] barked at the mailman all night.": "The [MASK] barked at the mailman all night.",
    "Two masks: The [MASK] sat on the [MASK].": "The [MASK] sat on the [MASK].",
    "Case matters: I flew from [MASK] to London.": "I flew from [MASK] to London.",
}
DEFAULT_TEXT = "Hello I'm a [MASK] model."

st.title("Fill-mask")
st.markdown(
    "The model reads your sentence and guesses the word hidden behind each `[MASK]`, using the words on both sides. "
    "Each bar is the probability it gives one candidate WordPiece; longer bars are more likely."
)
with st.expander("Go deeper: what the numbers mean"):
    st.markdown(
        "The model scores all 28,996 WordPieces of its vocabulary at each mask and turns the scores into "
        "probabilities with a softmax. The table also gives the log-probability (natural log) and the token id. "
        "Special tokens such as `[CLS]` are hidden by default: transformers' pipeline ranks them as candidates, "
        "but they are never a real answer. Hiding candidates does not renormalise: the probabilities stay those of "
        "the whole vocabulary.\n\n"
        "**Target words** are scored even when they are not in the top list. A word the vocabulary splits into "
        "several pieces (`firefighter` = `fire ##fighter`) gets one `[MASK]` per piece, and its probability is "
        "the chain P(fire | [MASK] [MASK]) × P(##fighter | fire [MASK]).\n\n"
        "With several masks, each is predicted with the others still masked, exactly as transformers' pipeline does."
    )

lm = get_model()
for problem in adopt({
    "text": ("fm_text", bounded_text(), DEFAULT_TEXT),
    "k": ("fm_top_k", bounded_int(1, MAX_TOP_K), 10),
    "targets": ("fm_targets", bounded_text(500), ""),
}, "fill_mask"):
    st.warning(md_escape(problem))
st.session_state.setdefault("fm_text", DEFAULT_TEXT)
st.session_state.setdefault("fm_top_k", 10)
st.session_state.setdefault("fm_targets", "")


def use_preset() -> None:
    choice = st.session_state.get("fm_preset")
    if choice:
        st.session_state.fm_text = PRESETS[choice]


st.selectbox("Examples", list(PRESETS), index=None, placeholder="Pick an example…", key="fm_preset",
             on_change=use_preset)
text = st.text_area(f"Text with up to {MAX_MASKS} {MASK} tokens", key="fm_text", height=90)
left, right = st.columns([1, 2])
with left:
    top_k = st.slider("How many candidates (top-k)", 1, MAX_TOP_K, key="fm_top_k")
with right:
    st.write("Hide from the candidates")
    c1, c2, c3 = st.columns(3)
    filters = Filters(
        special=c1.checkbox("special tokens", value=True, key="fm_hide_special"),
        subwords=c2.checkbox("## word pieces", key="fm_hide_subwords"),
        punctuation=c3.checkbox("punctuation", key="fm_hide_punct"),
    )
targets = st.text_input("Score these words at the mask (comma-separated, optional)", key="fm_targets",
                        placeholder="nurse, doctor, firefighter")
publish({"text": text, "k": top_k, "targets": targets})

if text.strip() and count_masks(text) == 0 and not wrong_mask_spelling(text) and len(text) <= MAX_CHARS:
    sentence_words = words(lm.tokenizer, text)[:300]
    st.info(f"There is no {MASK} in the text. Pick a word below and the model will guess it.", icon=":material/arrow_downward:")
    if sentence_words:
        picked = st.selectbox("Mask a word", sentence_words, index=None, key="fm_mask_word",
                              format_func=lambda w: f"{w.index + 1}. {w.text}", placeholder="Choose a word…")
        if picked is not None:
            masked = mask_word(text, picked)
            try:
                result = cache.fill_mask(lm, masked, top_k, filters)
                original = cache.word_scores(lm, masked, (picked.text,))[0]
            except BertLensError as exc:
                show_error(exc)
                st.stop()
            st.caption("The text with that word masked")
            st.code(masked, language=None, wrap_lines=True)
            rank = f"rank {original.rank:,} of {lm.info.vocab_size:,}" if original.rank else \
                f"{len(original.pieces)} WordPieces, chained"
            st.metric(f"The original word's probability ({rank})", f"{original.probability:.3%}")
            st.text(f"Original word: {picked.text}   (WordPieces: {' '.join(original.pieces)})")
            show_result(result, key="fm-masked")
    st.stop()

try:
    result = cache.fill_mask(lm, text, top_k, filters)
except BertLensError as exc:
    show_error(exc)
    st.stop()

show_result(result)
if targets.strip():
    st.subheader("Target words")
    try:
        show_word_scores(cache.word_scores(lm, text, tuple(targets.split(","))))
    except BertLensError as exc:
        show_error(exc)
