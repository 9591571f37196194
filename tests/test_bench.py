"""Smoke test of `python -m bench`: tiny sizes, one JSON object with every section filled in."""

from __future__ import annotations

import json
import sys

from bench.__main__ import main
from bench.startup import median_wall, peak_rss_mib


def test_bench_quick_json(capsys):
    assert main(["--quick", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines[-5:]
    result = json.loads(lines[0])
    assert set(result["models"]) == {"seed", "sumnet"}
    for name, model in result["models"].items():
        variants = model["train"]["variants"]
        assert [label[0] for label in variants] == ["a", "b", "c", "d"], name
        assert all(v["images_per_s"] > 0 for v in variants.values())
        assert {"b/a", "c/a", "c/b", "d/a", "c/d"} <= set(model["train"]["ratios"])
        assert model["eval"]["images_per_s"]["fp32"] > 0 and model["eval"]["images_per_s"]["auto"] > 0
        agreement = model["eval"]["agreement"]
        assert 0.0 <= agreement["round_agree"] <= 1.0 and agreement["max_abs_diff"] >= 0.0
        assert {"forward", "backward", "optimizer"} <= set(model["breakdown"]["engine"]["share"])
        assert model["breakdown"]["adam_ms_per_step"]["default (engine)"] > 0


def test_startup_helpers_measure_a_child():
    timing = median_wall([sys.executable, "-c", "pass"], runs=1)
    assert 0 < timing["median_s"] < 30
    rss, wall, rc = peak_rss_mib([sys.executable, "-c", "x = bytearray(50 * 2**20)"])
    assert rc == 0 and rss >= 50 and wall > 0
