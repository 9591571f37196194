"""Checkpoints judged on builtin validation and on style-shifted validation digits, side by side.

New writers are not in any data this project has, so this stands in for a change of handwriting
with the project's own validation digits: every digit thickened or thinned by a pixel, rotated,
sheared, zoomed and bent further than the default training bending (`shifted`), and further than
any recipe's in every range (`beyond`). Nothing here trains or selects.

    python -m bench.shifted RUN/best.pt [RUN/best.pt ...]
"""

from __future__ import annotations

import argparse

from digitsum.composites import Augmentation
from digitsum.data import compose_on_cpu, load_data
from digitsum.inference import Predictor

SHIFT = Augmentation(degrees=15.0, zoom=(0.8, 1.2), shear=0.3, elastic=1.5, thickness=1.0)
# beyond every range any recipe trains with (the full-width one reaches SHIFT's rotation and zoom)
BEYOND = Augmentation(degrees=20.0, zoom=(0.75, 1.25), shear=0.35, elastic=1.75, thickness=1.0)
SHIFT_STREAM = (99, 7)  # (epoch, stream) after the seed: a draw no training or validation set uses


def shifted_validation(seed: int = 0, count: int = 6_000, shift: Augmentation = SHIFT):
    """The builtin validation digits composed under `shift`: uint8 images (count,40,168), sums (count,)."""
    data = load_data("builtin", seed=seed, train_size=1, val_size=1)
    return compose_on_cpu(data.pools.val_digits, data.pools.val_labels, count, (seed, *SHIFT_STREAM), augment=shift)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--count", type=int, default=6_000)
    args = parser.parse_args(argv)
    data = load_data("builtin", seed=0, train_size=1, val_size=args.count)
    shifted, beyond = shifted_validation(count=args.count), shifted_validation(count=args.count, shift=BEYOND)
    print(f"{'checkpoint':<60} {'val round / MAE':>17} {'shifted round / MAE':>21} {'beyond round / MAE':>20}")
    for path in args.checkpoints:
        predictor = Predictor.load(path)
        plain, _ = predictor.evaluate(data.val_images, data.val_sums)
        hard, _ = predictor.evaluate(*shifted)
        harder, _ = predictor.evaluate(*beyond)
        print(
            f"{path[-60:]:<60} {plain['round_acc']:>9.3f} / {plain['mae']:.3f}"
            f" {hard['round_acc']:>13.3f} / {hard['mae']:.3f}"
            f" {harder['round_acc']:>12.3f} / {harder['mae']:.3f}"
        )


if __name__ == "__main__":
    main()
