"""SentenceDebias (Liang et al. 2020, "Towards Debiasing Sentence Representations"), as bias-bench's
`sentence_debias.py` computes its gender subspace: each counterfactual pair's two sentence encodings (mean-pooled,
L2-normalised) are centred on the pair's mean, and the principal directions of all of them (scikit-learn's PCA)
make the bias subspace, which is projected out of every hidden state. bias-bench keeps the first direction
(`k` = 1, the default here); it also drops the pairs of its last incomplete batch of 32, which BERT Lens keeps."""
from __future__ import annotations

import numpy as np
import torch

K = 1


def directions(first: np.ndarray, second: np.ndarray, k: int = K) -> np.ndarray:
    """(k, d): the top-k principal directions of the pair-centred, normalised encodings."""
    from sklearn.decomposition import PCA

    first = first / np.linalg.norm(first, axis=-1, keepdims=True)
    second = second / np.linalg.norm(second, axis=-1, keepdims=True)
    means = (first + second) / 2.0
    centred = np.concatenate([first - means, second - means], axis=0)
    return PCA(n_components=k).fit(centred).components_


def fit(first: np.ndarray, second: np.ndarray, k: int = K) -> tuple[torch.Tensor, None]:
    """(I - V^T V, no offset): h minus its projection on each of the k orthonormal directions V."""
    v = torch.tensor(directions(first, second, k), dtype=torch.float64)
    matrix = torch.eye(v.shape[1], dtype=torch.float64) - v.T @ v
    return matrix.float(), None
