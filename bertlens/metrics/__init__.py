"""Bias metrics: one module per metric, each a `bertlens.registry.Method` of kind "metric" registered by name.

A module here only registers: its class names the metric, the kind of input it reads (`data`: a kind of
input registered in `bertlens.kinds`, e.g. "crows_pairs"), its options and its cost, and its `run`
calls the computation in `bertlens.bias` (or `bertlens.mediation`) and wraps what it returns in a `MetricResult`.
`discover()` finds a new module without any other file being edited; `python -m bertlens methods` lists it, and the
routes that read its kind of input offer it.
"""
