import streamlit as st

st.title("attention")
st.info("Coming soon.")
