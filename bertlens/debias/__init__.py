"""Debiasing transforms fitted on sentences, and applied at inference as an argument of the one forward call.

- LEACE (Belrose et al. 2023, `leace.py`), through the `concept-erasure` package;
- INLP (Ravfogel et al. 2020, `inlp.py`), as bias-bench's `debias/inlp`;
- SentenceDebias (Liang et al. 2020, `sentence_debias.py`), as bias-bench's `sentence_debias.py`;
- Self-Debias (Schick et al. 2021, `self_debias.py`) for the masked LM, as bias-bench's
  `get_token_logits_self_debiasing`: nothing is fitted, the MLM's probabilities are rescaled.

The first three are affine maps of every token's hidden state leaving a layer (`interventions.Projection`), fitted
on the mean-pooled hidden states of the fitting sentences (`sentences.py`) at that layer (the last by default);
`fit.py` fits them, `store.py` saves and loads a fit (safetensors + JSON, tied to the model's fingerprint).
"""
from __future__ import annotations

METHODS = ("leace", "inlp", "sentence_debias", "self_debias")
NAMES = {"leace": "LEACE", "inlp": "INLP", "sentence_debias": "SentenceDebias", "self_debias": "Self-Debias"}
