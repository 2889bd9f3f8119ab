"""Comparison of two sets of soft layers (tests and benchmarks)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_layers"]


def match_layers(ours: np.ndarray, ref: np.ndarray) -> dict:
    """Optimal one-to-one matching of layers by mean absolute difference.

    Returns a dict with ``order`` (our layer matched to each reference
    layer), ``strongest_agreement`` (fraction of pixels whose strongest
    layer is the match of the reference's strongest layer) and
    ``mean_abs_diff`` (mean |alpha difference| over matched layers).
    """
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    if a.shape[:2] != b.shape[:2]:
        raise ValueError("layer sets differ in size")
    A = a.reshape(-1, a.shape[2])
    B = b.reshape(-1, b.shape[2])
    cost = np.abs(A[:, :, None] - B[:, None, :]).mean(axis=0)
    rows, cols = linear_sum_assignment(cost)
    order = np.full(B.shape[1], -1)
    order[cols] = rows
    ours_to_ref = np.full(A.shape[1], -1)
    ours_to_ref[rows] = cols
    agree = ours_to_ref[np.argmax(A, axis=1)] == np.argmax(B, axis=1)
    matched = order >= 0
    mad = np.abs(A[:, order[matched]] - B[:, matched]).mean()
    return {"order": order, "strongest_agreement": float(agree.mean()),
            "mean_abs_diff": float(mad), "cost": cost}
