"""Plain words: the terms the pages use, each with a one-line definition, shown where the term appears while the
"Plain words" switch is on (on by default in presentation mode, a class reads the projector), and all together on
the Glossary page. Numbers in plain words read "4.4 in a million" (bertlens.numbers.in_words)."""
from __future__ import annotations

import streamlit as st

from components.presentation import is_on

KEY = "plain_words"
GLOSSARY_PAGE = "app_pages/glossary.py"
TERMS: dict[str, str] = {
    "f": "the number being explained: how much more the model prefers the target word to the contrast word at "
         "the mask (the difference of their scores, logits); higher means it leans more to the target.",
    "completeness gap": "how far the words' scores, added up, miss the change in f they should account for; close "
                        "to 0 means the scores explain the whole change.",
    "total effect": "how much swapping the word changes the ratio P(first target) / P(second target), in %: +10% "
                    "means the first target became 10% more likely relative to the second.",
    "NIE": "natural indirect effect: the part of the swap's effect that passes through one head alone (its output "
           "taken from the swapped sentence, everything else from the original).",
    "KL": "Kullback-Leibler divergence: how different two lists of guesses are, 0 when they are the same.",
    "nats": "the unit of KL and Jensen-Shannon divergence with natural logarithms; ln 2 = 0.693 nats is one bit.",
    "log-ratio": "the natural log of one probability over another: positive means the first is more likely, 0 "
                 "equal, and +0.69 twice as likely.",
    "Holm": "Holm's correction: when many occupations are tested at once, each test is made stricter, so that a "
            "finding by chance somewhere stays under 5%.",
    "ties": "items where both versions get exactly the same score; they count for neither side.",
    "share of variance": "how much of what changes between a sentence and its gender-swapped twin lies along one "
                         "direction: 100% would be one straight line.",
    "pseudo-perplexity": "how surprised the model is by real sentences when each word is hidden in turn; lower is "
                         "better, and a debiased model that is more surprised has lost some of its language.",
    "top-1 agreement": "how often the debiased model's first guess at a hidden word is the intact model's.",
}
DEFINITIONS: dict[str, str] = {term: f"**{term}**: {meaning}" for term, meaning in TERMS.items()}
"""Each term's line as the page shows it (markdown of our own fixed text)."""


def plain_words() -> bool:
    """Whether definitions are shown in place: the switch's value, or presentation mode until it is used."""
    value = st.session_state.get(KEY)
    return is_on() if value is None else bool(value)


def _switched() -> None:
    st.session_state[KEY] = bool(st.session_state.get(f"{KEY}_toggle"))


def switch() -> None:
    """The sidebar's "Plain words" switch (its default follows presentation mode until it is used)."""
    st.session_state[f"{KEY}_toggle"] = plain_words()
    st.sidebar.toggle("Plain words", key=f"{KEY}_toggle", on_change=_switched,
                      help="A one-line definition under each technical term (f, NIE, KL, Holm …); on by default "
                           "in presentation mode. The Glossary page lists them all.")


def define(*terms: str) -> None:
    """One line per term, in place, while plain words are on (fixed text of ours, so markdown is safe)."""
    if not plain_words():
        return
    lines = [DEFINITIONS[term] for term in terms]
    with st.container(key=f"plain_{'_'.join(t.replace(' ', '-') for t in terms)}"):
        st.caption(":material/menu_book: " + "  \n".join(lines))
