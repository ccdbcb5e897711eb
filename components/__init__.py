"""Streamlit widgets and plotly figure builders shared by the pages."""
