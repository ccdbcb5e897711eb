"""Divergences between two distributions over the vocabulary, in nats, from log-probabilities.

One definition for every view that compares predictions: the counterfactual (the sentence against its swap) and
the logit lens (each layer against the last)."""
from __future__ import annotations

import math

import torch


def kl_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> float:
    """KL(P || Q) = sum p (log p - log q) in nats, in float64, from two log-probability vectors; never below 0
    (rounding can make a near-zero sum slightly negative)."""
    log_p, log_q = log_p.double(), log_q.double()
    p = log_p.exp()
    terms = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))
    return max(0.0, float(terms.sum()))


def js_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> float:
    """Jensen-Shannon divergence in nats: the mean KL of P and Q to their average M."""
    log_p, log_q = log_p.double(), log_q.double()
    log_m = torch.logsumexp(torch.stack([log_p, log_q]), dim=0) - math.log(2)
    return 0.5 * kl_divergence(log_p, log_m) + 0.5 * kl_divergence(log_q, log_m)
