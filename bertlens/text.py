"""Checks on user text, shared by every feature. Each failure is an InputError with a message for the user."""
from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from bertlens.errors import InputError

MASK = "[MASK]"
MAX_CHARS = 20_000
MAX_MASKS = 10
MAX_TOKENS = 512
_WRONG_MASK = re.compile(r"\[\s*mask\s*\]|<\s*mask\s*>|\{\s*mask\s*\}", re.IGNORECASE)


def clean(text: str | None, what: str = "text") -> str:
    """Strip the text and refuse an empty or oversized one."""
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise InputError(f"The {what} is empty. Type a sentence to run the model on it.")
    if len(text) > MAX_CHARS:
        raise InputError(
            f"The {what} is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
            f"The model reads at most {MAX_TOKENS} tokens (about 350 words), so paste a shorter passage."
        )
    return text


def clean_pair(text: str | None, pair: str | None) -> tuple[str, str | None]:
    """Clean a text and an optional second sentence. Raises InputError for an empty side.

    `pair=None` means a single text; a pair given as an empty string is an error, not a single text.
    """
    if pair is None:
        return clean(text, "text"), None
    if not (text or "").strip() and not pair.strip():
        raise InputError("Both sentences are empty. Type sentence A and sentence B, or switch the pair off.")
    return clean(text, "first sentence (A)"), clean(pair, "second sentence (B)")


def is_punctuation(token: str) -> bool:
    """A WordPiece made only of punctuation or symbol characters ('.', '##,', '$'); never a word or [CLS]."""
    core = token[2:] if token.startswith("##") else token
    return bool(core) and all(unicodedata.category(c)[0] in "PS" for c in core)


def count_masks(text: str) -> int:
    return text.count(MASK)


def wrong_mask_spelling(text: str) -> str | None:
    """A mask written for another model or in lower case ('[mask]', '<mask>'), if the text has one."""
    match = _WRONG_MASK.search(text.replace(MASK, " "))
    return match.group(0) if match else None


def check_masks(text: str, minimum: int = 1, maximum: int = MAX_MASKS) -> int:
    """Check the number of [MASK] tokens; explain lower-case or other-model mask spellings."""
    found = count_masks(text)
    wrong = wrong_mask_spelling(text)
    if found < minimum:
        if wrong:
            raise InputError(
                f"Found '{wrong}', but bert-large-cased expects the mask written exactly as {MASK} "
                "(square brackets, capitals)."
            )
        raise InputError(
            f"There is no {MASK} in the text. Put {MASK} where the model should guess a word, "
            "or pick a word to mask below."
        )
    if found > maximum:
        raise InputError(
            f"The text has {found} {MASK} tokens; the limit is {maximum}. With many masks the model sees "
            "too little context for the guesses to mean anything."
        )
    return found


def excerpt(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters with an ellipsis, for quoting user input inside a message; control and
    format characters shown as escapes (`visible`)."""
    text = visible(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_one_mask(text: str, what: str = "text", why: str = "keep exactly one") -> str:
    """`text` if it holds exactly one [MASK]: the one check behind every feature that reads a single mask (target
    words, templates, counterfactuals, mediation). A missing or misspelt mask gets `check_masks`'s message; several
    get "The {what} has N [MASK] tokens; {why}." Raises InputError."""
    found = check_masks(text, minimum=1, maximum=max(MAX_MASKS, count_masks(text)))
    if found != 1:
        raise InputError(f"The {what} has {found} {MASK} tokens; {why}.")
    return text


@dataclass(frozen=True)
class Word:
    """A word of the input as the tokenizer's pre-tokenizer splits it, with its character span."""

    index: int
    text: str
    start: int
    end: int


def words(tokenizer, text: str) -> list[Word]:
    """Split `text` into words (whitespace and punctuation), keeping each word's span in the original text."""
    pieces = tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)
    return [Word(i, w, start, end) for i, (w, (start, end)) in enumerate(pieces)]


def mask_word(text: str, word: Word) -> str:
    """Replace one word of `text` by [MASK]."""
    return text[: word.start] + MASK + text[word.end :]


_MD_SPECIAL = frozenset(string.punctuation)


def md_escape(text: str) -> str:
    """`text` for a markdown context (Streamlit's st.error, st.info, captions): every ASCII punctuation mark
    backslash-escaped, so no link, image, HTML, math or emphasis survives, bare URLs and e-mail addresses broken
    (`defang`), and control and format characters shown as escapes (`visible`). Plain-text elements (st.text, st.code, dataframes) need no escaping; prefer them for
    whole strings from users or files."""
    shown = defang(visible(str(text), keep="\n\t"))
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in shown).replace("\n", "  \n")


_URL_START = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|data|file|www)(:|\.)")
_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-]+\.)")


def defang(text: str) -> str:
    """`text` with every URL and e-mail address broken visibly (`http[:]//host`, `www[.]host`, `a[@]b.org`):
    Streamlit's markdown turns a bare URL into a live link even when its punctuation is escaped."""
    return _EMAIL_AT.sub("[@]", _URL_START.sub(r"\1[\2]", text))


_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def visible(text: str, keep: str = "") -> str:
    """`text` with every control, format, surrogate, private-use or unassigned character (and line or paragraph
    separator) written as a visible escape such as `\\u202e`, except those in `keep`. A right-to-left override
    quoted in a message would otherwise reverse the rest of the line, and a terminal escape would act."""
    out = []
    for c in str(text):
        if c in keep or unicodedata.category(c) not in _INVISIBLE:
            out.append(c)
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return "".join(out)
