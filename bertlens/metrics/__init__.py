"""Bias metrics: one module per metric, each a `bertlens.registry.Method` of kind "metric" registered by name.

A metric's `data` says what it reads ("pairs" for CrowS-Pairs-style files, "probe" for the occupation probe's
templates, ...). Add a module here with a registered class and it appears in the command line's `--metric`
choices, the bias page, audit configurations, exports and reports, without editing any other file.
"""
