"""Data-parallel training under `torchrun`: the few collective steps the engine needs, in one place.

Without torchrun's environment (WORLD_SIZE unset or 1) every method is a cheap no-op, so the
single-process loop reads the same as the distributed one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> DistContext:
        return cls(
            int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
        )

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def init(self, device_type: str) -> None:
        """gloo on CPU, nccl on CUDA; torchrun's env:// rendezvous."""
        if not self.enabled:
            return
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()  # leave together: a rank tearing gloo down while another still talks aborts
                dist.destroy_process_group()

    def wrap(self, model):
        """DistributedDataParallel around the model (gradients all-reduced in backward)."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.local_rank] if next(model.parameters()).is_cuda else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, order: np.ndarray) -> np.ndarray:
        """DistributedSampler's split: every rank takes every world-th index of the shared order."""
        usable = len(order) - len(order) % self.world
        return order[self.rank : usable : self.world]

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on any (a stop must be collective, or DDP hangs)."""
        if not self.enabled:
            return flag
        import torch
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's value on every rank."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out


def digest(indices: np.ndarray) -> str:
    """A short fingerprint of which images a rank trained on, to show the shards differ."""
    return hashlib.sha1(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]
