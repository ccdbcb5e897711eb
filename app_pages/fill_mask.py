import streamlit as st

from bertlens.errors import BertLensError
from bertlens.fill_mask import MAX_TOP_K, Filters
from bertlens.numbers import probability
from bertlens.text import MASK, MAX_CHARS, MAX_MASKS, count_masks, mask_word, words, wrong_mask_spelling
from components.fill_mask_view import show_result, show_word_scores
from components.lesson_sentence import use_it_on
from components.head_switches import fields as head_switch_fields, head_switches
from components.presentation import is_on, side_by_side
from components.presets import preset_picker
from components.query_state import Field, PageState, bounded_int, bounded_text, dump_bool, parse_bool
from components.safe import md_escape, show_error
from services import cache
from components.weights_panel import get_model

PRESETS = {
    "Model card: Hello I'm a [MASK] model.": "Hello I'm a [MASK] model.",
    "Model card: The man worked as a [MASK].": "The man worked as a [MASK].",
    "Model card: The woman worked as a [MASK].": "The woman worked as a [MASK].",
    "Fact: Paris is the [MASK] of France.": "Paris is the [MASK] of France.",
    "Grammar: She [MASK] to school yesterday.": "She [MASK] to school yesterday.",
    "Context: The [MASK] barked at the mailman all night.": "The [MASK] barked at the mailman all night.",
    "Two masks: The [MASK] sat on the [MASK].": "The [MASK] sat on the [MASK].",
    "Case matters: I flew from [MASK] to London.": "I flew from [MASK] to London.",
    "No mask: click a word to hide it": "The firefighter ran into the burning house.",
}
DEFAULT_TEXT = "Hello I'm a [MASK] model."
MAX_WORDS = 300
STATE = PageState("fill_mask", [
    Field("fm_text", "text", DEFAULT_TEXT, label="the text", lesson=True),
    Field("fm_top_k", "k", 10, parse=bounded_int(1, MAX_TOP_K)),
    Field("fm_hide_special", "special", True, parse=parse_bool, dump=dump_bool),
    Field("fm_hide_subwords", "subwords", False, parse=parse_bool, dump=dump_bool),
    Field("fm_hide_punct", "punct", False, parse=parse_bool, dump=dump_bool),
    Field("fm_targets", "targets", "", parse=bounded_text(500), label="the target words", limit=500),
    Field("fm_mask_word", "word", None, parse=bounded_int(0, MAX_WORDS - 1)),
    *head_switch_fields("fm"),
])

st.title("Fill-mask")
st.caption(":material/school: **What to notice:** swap one word of the context (*man* for *woman*, *Paris* for "
           "*London*) and watch the whole list of guesses move; the model never sees the answer, only both sides.")
if not is_on():
    st.markdown(
        "The model reads your sentence and guesses the word hidden behind each `[MASK]`, using the words on both "
        "sides. Each bar is the probability it gives one candidate WordPiece; longer bars are more likely."
    )
with st.expander("Go deeper: what the numbers mean"):
    st.markdown(
        "The model scores all 28,996 WordPieces of its vocabulary at each mask and turns the scores into "
        "probabilities with a softmax. The table also gives the log-probability (natural log) and the token id. "
        "Special tokens such as `[CLS]` are hidden by default: transformers' pipeline ranks them as candidates, "
        "but they are never a real answer. Hiding candidates does not renormalise: the probabilities stay those of "
        "the whole vocabulary.\n\n"
        "**Target words** are scored even when they are not in the top list, and drawn as purple bars under the "
        "blue candidates. A word the vocabulary splits into several pieces (`firefighter` = `fire ##fighter`) "
        "gets one `[MASK]` per piece, and its probability is the chain "
        "P(fire | [MASK] [MASK]) × P(##fighter | fire [MASK]).\n\n"
        "With several masks, each is predicted with the others still masked, exactly as transformers' pipeline does."
    )

lm = get_model()
STATE.restore()

inputs, output = side_by_side()
with inputs:
    preset_picker("Examples", {name: {"fm_text": text} for name, text in PRESETS.items()}, "fm_preset")
    text = st.text_area(f"Text with up to {MAX_MASKS} {MASK} tokens, or none to click a word", key="fm_text",
                        height=90, on_change=STATE.forget, args=("fm_mask_word",))
    sentence_words = []
    if text.strip() and count_masks(text) == 0 and not wrong_mask_spelling(text) and len(text) <= MAX_CHARS:
        sentence_words = words(lm.tokenizer, text)[:MAX_WORDS]
        if STATE.get("fm_mask_word") not in range(len(sentence_words)):
            STATE.set("fm_mask_word", None)
        st.pills(f"There is no {MASK}: click a word to hide it, and the model will guess it",
                 range(len(sentence_words)), key="fm_mask_word", wrap=True,
                 format_func=lambda i: md_escape(sentence_words[i].text))
    left, right = (st.container(), st.container()) if is_on() else st.columns([1, 2])
    with left:
        top_k = st.slider("How many candidates (top-k)", 1, MAX_TOP_K, key="fm_top_k")
    with right:
        st.write("Hide from the candidates")
        c1, c2, c3 = (st.container(),) * 3 if is_on() else st.columns(3)
        filters = Filters(
            special=c1.checkbox("special tokens", key="fm_hide_special"),
            subwords=c2.checkbox("## word pieces", key="fm_hide_subwords"),
            punctuation=c3.checkbox("punctuation", key="fm_hide_punct"),
        )
    targets = st.text_input("Score these words at the mask (comma-separated, optional)", key="fm_targets",
                            placeholder="nurse, doctor, firefighter")
    STATE.publish()
target_words = tuple(w for w in targets.split(",") if w.strip())


def scores_or_none(masked: str, extra: tuple[str, ...] = ()):
    """Scores of `extra` and the target words at the one mask of `masked`, or None (with the message shown)."""
    if not (extra or target_words):
        return None
    try:
        return cache.word_scores(lm, masked, (*extra, *target_words))
    except BertLensError as exc:
        show_error(exc)
        return None


with output:
    if sentence_words:
        picked = STATE.get("fm_mask_word")
        if picked is None:
            st.info(f"Click a word {'on the left' if is_on() else 'above'} to hide it behind {MASK}.",
                    icon=":material/touch_app:")
            st.stop()
        word = sentence_words[picked]
        single = mask_word(text, word)
        pieces = lm.tokenizer.tokenize(word.text)
        masked = single.replace(MASK, " ".join([MASK] * max(1, len(pieces))), 1)
        try:
            result = cache.fill_mask(lm, masked, top_k, filters)
        except BertLensError as exc:
            show_error(exc)
            st.stop()
        st.caption("The text with that word masked" + (
            f": “{md_escape(word.text)}” is {len(pieces)} WordPieces ({md_escape(' '.join(pieces))}), so it hides "
            f"behind {len(pieces)} {MASK}s, one per piece" if len(pieces) > 1 else ""))
        st.code(masked, language=None, wrap_lines=True)
        scores = scores_or_none(single, (word.text,))
        if scores:
            original, scores = scores[0], scores[1:]
            rank = f"rank {original.rank:,} of {lm.info.vocab_size:,}" if original.rank else \
                f"{len(original.pieces)} WordPieces, chained"
            st.metric("The original word's probability", probability(original.probability), help=md_escape(rank))
            st.caption(f"“{md_escape(word.text)}”: {md_escape(rank)}.")
        show_result(result, key="fm-masked", targets=scores if len(result.masks) == 1 else None,
                    model=lm.info.model_id)
        use_it_on(single, "fill_mask")
    else:
        try:
            result = cache.fill_mask(lm, text, top_k, filters)
        except BertLensError as exc:
            show_error(exc)
            st.stop()
        scores = scores_or_none(text)
        show_result(result, targets=scores, model=lm.info.model_id)
        use_it_on(text, "fill_mask")
    if scores:
        st.subheader("Target words")
        show_word_scores(scores)
    head_switches(lm, result.text, "fm", target_words)
