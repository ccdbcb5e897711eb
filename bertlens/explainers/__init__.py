"""Explainers: one module per method, each a `bertlens.registry.Method` of kind "explainer" registered by name.

Add a module here with a registered class and it appears in the Explain page, `python -m bertlens explain
--method`, `python -m bertlens methods` and every export, without editing any other file.
"""
