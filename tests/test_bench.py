"""Smoke test of `python -m bench`: tiny sizes, one JSON object with every section filled in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from bench.__main__ import main
from bench.sizes import QUICK, Sizes
from bench.startup import median_wall, peak_rss_mib
from bench.training import Schedule


def test_bench_quick_json(capsys):
    assert main(["--quick", "--json", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines[-5:]
    result = json.loads(lines[0])
    assert result["device"] == "cpu" and result["device_name"]
    assert set(result["models"]) == {"seed", "sumnet"}
    for name, model in result["models"].items():
        variants = model["train"]["variants"]
        assert [label[0] for label in variants] == ["a", "b", "c", "d"], name
        assert all(v["images_per_s"] > 0 for v in variants.values())
        assert model["train"]["device"] == "cpu" and model["eval"]["device"] == "cpu"
        assert model["train"]["precision"] in ("fp32", "bf16 (autocast)")
        assert model["breakdown"]["engine"]["device"] == "cpu"
        assert {"b/a", "c/a", "c/b", "d/a", "c/d"} <= set(model["train"]["ratios"])
        assert model["eval"]["images_per_s"]["fp32"] > 0 and model["eval"]["images_per_s"]["auto"] > 0
        agreement = model["eval"]["agreement"]
        if model["eval"]["auto_precision"] == "fp32":  # no native bf16: auto *is* fp32, bit for bit
            assert agreement["max_abs_diff"] == 0.0 and agreement["round_agree"] == 1.0
        else:  # bf16 trunk, fp32 head: predictions of ~18 stray by bf16 noise only; a bf16 head would show
            assert agreement["max_abs_diff"] <= 0.05, agreement  # steps of 0.0625 at 18 and fail this
            assert agreement["auto"]["loss"] == pytest.approx(agreement["fp32"]["loss"], rel=0.01)
        assert {"forward", "backward", "optimizer"} <= set(model["breakdown"]["engine"]["share"])
        assert model["breakdown"]["adam_ms_per_step"]["fused (engine)"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_bench_cuda_without_cuda_says_so_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--device", "cuda"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--device cuda" in lines[0] and "no CUDA" in lines[0], done.stderr


def test_gpu_schedule_counts_whole_loss_windows():
    """On a GPU the engine reports batches 16 at a time: warm-up, settling and repeats are whole windows."""
    cpu, gpu = Schedule.of(Sizes(), "cpu"), Schedule.of(Sizes(), "cuda")
    assert (cpu.warmup, cpu.settle, cpu.chunk) == (2, 1, 5)
    assert (gpu.warmup, gpu.settle, gpu.chunk) == (16, 16, 16)
    assert Schedule.of(QUICK, "cuda").chunk % 16 == 0


def test_startup_helpers_measure_a_child():
    timing = median_wall([sys.executable, "-c", "pass"], runs=1)
    assert 0 < timing["median_s"] < 30
    rss, wall, rc = peak_rss_mib([sys.executable, "-c", "x = bytearray(50 * 2**20)"])
    assert rc == 0 and rss >= 50 and wall > 0


def test_driver_on_gpu_times_only_at_window_ends(monkeypatch):
    """Baselines run, and the clock is read, only after a whole window of engine batches was reported."""
    import bench.training as training
    from digitsum.control import Control
    from digitsum.events import BatchEnd

    clock_at: list[int] = []
    monkeypatch.setattr(training, "synchronize", lambda device: clock_at.append(driver.seen))
    ran_at: list[int] = []
    baseline = training.Timed("a", warm=lambda n: None, timed=lambda n: ran_at.append(driver.seen) or 1.0)
    sizes = Sizes(images=2048, repeats=3, warmup_batches=2)
    control = Control()
    driver = training.EngineDriver(training.Timed(training.ENGINE), [baseline], sizes, control, "cuda")
    schedule = driver.schedule
    for b in range(1, schedule.batches + 1):
        driver(BatchEnd(epoch=1, batch=b, batches=schedule.batches, loss=0.0))
    assert control.stop_requested and len(driver.engine.samples) == 3
    assert all(seen % 16 == 0 for seen in ran_at + clock_at), (ran_at, clock_at)
    assert ran_at == [16, 16 + 48, 16 + 96]  # after the warm-up, then after each of the first two repeats


def test_shifted_validation_redraws_the_validation_digits_in_another_hand_the_same_way_every_time():
    from bench.shifted import SHIFT_STREAM, shifted_validation
    from digitsum.data import compose_on_cpu, load_data

    images, sums = shifted_validation(count=64)
    again, _ = shifted_validation(count=64)
    pools = load_data("builtin", seed=0, train_size=1, val_size=1).pools
    # training's augmentation on the same stream takes the same random draws, so it picks the same digits
    trained_hand, trained_sums = compose_on_cpu(pools.val_digits, pools.val_labels, 64, (0, *SHIFT_STREAM), True)
    assert images.shape == (64, 40, 168) and (images == again).all()
    assert (sums == trained_sums).all()  # the same digits...
    assert (images != trained_hand).mean() > 0.05  # ...written in a hand training never bends them to
