"""Builtin composites written as the assignment's `dataK.npy` / `labK.npy` files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from digitsum.data import compose_on_cpu
from digitsum.errors import BadInput
from digitsum.sources import builtin_pools


def export_assignment_files(
    out_dir: Path, count: int, seed: int = 0, pool: str = "all", per_file: int = 10_000
) -> list[Path]:
    pools = builtin_pools()
    choices = {
        "train": (pools.train_digits, pools.train_labels),
        "val": (pools.val_digits, pools.val_labels),
        "all": (
            np.concatenate([pools.train_digits, pools.val_digits]),
            np.concatenate([pools.train_labels, pools.val_labels]),
        ),
    }
    if pool not in choices:
        raise BadInput(f"--pool must be train, val or all, got {pool!r}")
    digits, labels = choices[pool]
    images, sums = compose_on_cpu(
        torch.from_numpy(np.ascontiguousarray(digits, dtype=np.uint8)),
        torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)),
        count,
        (seed, 7),
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for k, start in enumerate(range(0, count, per_file)):
            for stem, array in (("data", images), ("lab", sums)):
                path = out_dir / f"{stem}{k}.npy"
                np.save(path, array[start : start + per_file])
                written.append(path)
    except OSError as exc:
        raise BadInput(f"{out_dir}: cannot write ({exc.strerror or exc})") from None
    return written
