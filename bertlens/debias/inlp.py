"""INLP (Ravfogel et al. 2020, "Null It Out"), as bias-bench's `debias/inlp` computes it: the features are split
70/30 twice with scikit-learn's `train_test_split` (random_state 0: train, dev, and a test part left unused), then
`n_classifiers` linear SVMs (LinearSVC: no intercept, primal, random_state 0) are trained in turn, each on the
features projected onto the intersection of the previous classifiers' nullspaces, and the final projection is
onto the intersection of all their nullspaces (`nullspace_intersection`). As in bias-bench, every classifier
counts (minimum accuracy 0), so the dev part's accuracy is not needed."""
from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

N_CLASSIFIERS = 80


def rowspace_projection(weights: np.ndarray) -> np.ndarray:
    basis = np.zeros_like(weights.T) if np.allclose(weights, 0) else scipy.linalg.orth(weights.T)
    return basis.dot(basis.T)


def nullspace_intersection(weights: list[np.ndarray], dim: int) -> np.ndarray:
    """The projection onto N(w1) n ... n N(wn): I minus the projection onto the span of every classifier's
    weights, which is the range of P_R(w1) + ... + P_R(wn) that bias-bench projects onto (Ben-Israel's formula),
    found from the d x n stacked weights instead of a d x d sum (the same projection, without d x d SVDs)."""
    return np.eye(dim) - rowspace_projection(np.concatenate(weights, axis=0))


def split(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, dev x, train y, dev y) as bias-bench splits them."""
    from sklearn.model_selection import train_test_split

    x_rest, _, y_rest, _ = train_test_split(features, labels, test_size=0.3, random_state=0)
    x_train, x_dev, y_train, y_dev = train_test_split(x_rest, y_rest, test_size=0.3, random_state=0)
    return x_train, x_dev, y_train, y_dev


def fit(features: np.ndarray, labels: np.ndarray, n_classifiers: int = N_CLASSIFIERS) -> tuple[torch.Tensor, None]:
    """(projection matrix P, no offset): h -> P h removes the directions the classifiers used."""
    from sklearn.svm import LinearSVC

    x_train, _, y_train, _ = split(np.asarray(features), np.asarray(labels))
    dim = x_train.shape[1]
    train = x_train.copy()
    found: list[np.ndarray] = []
    projection = np.eye(dim)
    for _ in range(n_classifiers):
        classifier = LinearSVC(fit_intercept=False, class_weight=None, dual=False, random_state=0)
        classifier.fit(train, y_train)
        weights = classifier.coef_ if classifier.coef_.ndim == 2 else classifier.coef_[None, :]
        if not np.allclose(weights, 0):
            found.append(weights)
        projection = nullspace_intersection(found, dim) if found else np.eye(dim)
        train = projection.dot(x_train.T).T
    return torch.tensor(projection, dtype=torch.float32), None
