"""Explainers: one module per method, each a `bertlens.registry.Method` of kind "explainer" registered by name.

A module here only registers: its class names the method, its options (`spec`) and its cost, and its `run` calls the
computation in `bertlens.explain` and wraps what it returns in an `ExplainerResult`. `discover()` finds a new
module without any other file being edited, and `python -m bertlens methods` and `explain --methods` list it.
"""
