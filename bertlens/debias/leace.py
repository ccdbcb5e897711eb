"""LEACE (Belrose et al. 2023, "LEACE: Perfect linear concept erasure in closed form"), through the maintained
implementation, the `concept-erasure` package (EleutherAI)."""
from __future__ import annotations

import numpy as np
import torch


def fit(features: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(matrix, offset) of the eraser fitted on `features` (n, d) and binary `labels` (n,), so that the eraser is
    h -> h @ matrix.T + offset: concept-erasure's x - ((x - mean) @ R^T) @ L^T, with P = I - L R."""
    from concept_erasure import LeaceEraser

    x = torch.as_tensor(features, dtype=torch.float64)
    z = torch.as_tensor(labels, dtype=torch.float64)
    eraser = LeaceEraser.fit(x, z)
    low_rank = eraser.proj_left @ eraser.proj_right
    matrix = torch.eye(x.shape[1], dtype=torch.float64) - low_rank
    offset = low_rank @ eraser.bias if eraser.bias is not None else torch.zeros(x.shape[1], dtype=torch.float64)
    return matrix.float(), offset.float()
