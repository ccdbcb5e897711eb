import streamlit as st

st.title("fill_mask")
st.info("Coming soon.")
