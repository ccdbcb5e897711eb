import streamlit as st

st.title("next_sentence")
st.info("Coming soon.")
