"""The validation metrics, exactly as DESIGN.md defines them, in one vectorized pass."""

from __future__ import annotations

from typing import Any

METRIC_NAMES = ("loss", "mae", "floor_acc", "ceil_acc", "round_acc")


def compute_metrics(pred: Any, target: Any) -> dict[str, float]:
    """loss=mean((p-t)^2), mae=mean|p-t|, {floor,ceil,round}_acc=mean(op(p)==t) with torch.round."""
    import torch

    p = torch.as_tensor(pred, dtype=torch.float64).reshape(-1)
    t = torch.as_tensor(target, dtype=torch.float64).reshape(-1)
    if p.numel() != t.numel():
        raise ValueError(f"{p.numel()} predictions for {t.numel()} targets")
    if p.numel() == 0:
        return {name: float("nan") for name in METRIC_NAMES}
    err = p - t
    return {
        "loss": float(err.square().mean()),
        "mae": float(err.abs().mean()),
        "floor_acc": float((torch.floor(p) == t).double().mean()),
        "ceil_acc": float((torch.ceil(p) == t).double().mean()),
        "round_acc": float((torch.round(p) == t).double().mean()),
    }
