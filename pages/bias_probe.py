import streamlit as st

st.title("bias_probe")
st.info("Coming soon.")
