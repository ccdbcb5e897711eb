"""The app's server: `streamlit run serve.py` serves app.py as `streamlit run app.py` does, and a deep link
(/fill-mask?text=...) asks no /fill-mask/_stcore/health or /fill-mask/_stcore/host-config, which answer 404: the
HTML shell names the server's root (services/backend_base.py says why)."""
import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

from services.backend_base import BackendBase

app = st.App("app.py", middleware=[Middleware(BackendBase,
                                              base_url_path=lambda: config.get_option("server.baseUrlPath"))])
