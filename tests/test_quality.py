"""Model quality cannot silently regress: a small fixed-seed run must learn to read the digits.

Always answering 18 scores MAE ≈ 4.6 and round accuracy ≈ 7 % on these composites; the
assignment's reported network reached MAE 2.85 and 11.7 % after 100 epochs.
"""

from __future__ import annotations

import pytest

from digitsum.config import RunConfig
from digitsum.engine import Engine

MAE_BOUND = 2.0  # measured 1.33 (seed 0, 2 CPU cores, ~50 s; 1.42 with the four-conv trunk)
ROUND_BOUND = 0.15  # measured 0.262 (0.228 with the four-conv trunk)


@pytest.mark.slow
def test_default_model_learns_the_sum_on_a_small_builtin_run(tmp_path):
    config = RunConfig(out=str(tmp_path), epochs=6, train_size=6000, val_size=1000, seed=0)
    result = Engine(config).run()
    best = result.best_metrics
    assert best["mae"] < MAE_BOUND, best
    assert best["round_acc"] > ROUND_BOUND, best
