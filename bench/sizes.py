"""How much work one bench run does: the defaults (CPU, CUDA), and `--quick` for the smoke test."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Sizes:
    images: int = 320  # training images per variant in every timed repeat
    repeats: int = 5  # interleaved repeats; medians are taken over these
    warmup_batches: int = 2  # batches each variant runs untimed before its first repeat
    batch: int = 64  # digitsum's batch size (ways b and c)
    assignment_batch: int = 32  # the assignment's DataLoader batch size (way a)
    eval_images: int = 500  # validation images per evaluation call
    agree_steps: int = 200  # training steps of the model compared in fp32 vs bf16
    agree_batch: int = 16  # batch size of the top-up training for that model
    startup_runs: int = 5  # subprocess runs per start-up figure

    def to_dict(self) -> dict:
        return asdict(self)


# A GPU trains ~50x faster and reads losses back in windows of 16 batches (digitsum.engine.GPU_SYNC_EVERY):
# repeats of 32 batches (two windows) and a warm-up window, so cuDNN/cuBLAS set-up is never timed.
CUDA = Sizes(images=2048, warmup_batches=16, eval_images=2000)

QUICK = Sizes(
    images=16,
    repeats=1,
    warmup_batches=1,
    batch=8,
    assignment_batch=4,
    eval_images=16,
    agree_steps=3,
    agree_batch=4,
    startup_runs=1,
)


def pick_sizes(quick: bool, images: int | None, repeats: int | None, device: str = "cpu") -> Sizes:
    sizes = QUICK if quick else CUDA if device == "cuda" else Sizes()
    if images is not None:
        sizes = replace(sizes, images=images)
    if repeats is not None:
        sizes = replace(sizes, repeats=repeats)
    if sizes.images < sizes.batch or sizes.repeats < 1:
        raise SystemExit(f"bench: --images must be at least one batch ({sizes.batch}) and --repeats at least 1")
    return sizes
