"""Glossary: every technical term the pages use, in one line each (the "Plain words" switch shows them in place)."""
import pandas as pd
import streamlit as st

from bertlens.numbers import in_words
from components.lesson_glossary import DEFINITIONS, TERMS

st.title("Glossary")
st.caption(":material/menu_book: The words the pages use, in one line each. Switch on **Plain words** in the "
           "sidebar (on by default in presentation mode) to see each definition where its term appears.")
wanted = st.text_input("Find a term", key="glossary_find", placeholder="KL, Holm, nats …").strip()
if len(wanted) > 100:
    st.warning("A term is at most 100 characters long; showing every term.", icon=":material/search_off:")
    wanted = ""
shown = {term: meaning for term, meaning in TERMS.items()
         if not wanted or wanted.lower() in term.lower() or wanted.lower() in meaning.lower()}
if shown:
    st.markdown("\n".join("- " + DEFINITIONS[term] for term in shown))
else:
    st.caption("No term matches.")
st.subheader("Small numbers")
st.write("In plain words a probability under one in a hundred is written as a share of a thousand, a million or a "
         "billion, never with a prefix such as μ:")
examples = (0.0481, 0.00161, 8.75e-6, 4.406e-6)
st.dataframe(pd.DataFrame({"probability": [f"{p:g}" for p in examples], "in words": [in_words(p) for p in examples]}),
             hide_index=True)
