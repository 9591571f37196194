"""The lines the CLI and the TUI share, each written in one place."""

from __future__ import annotations

from digitsum.formatting import duration, end_line, epoch_line, metrics_line, number, plan_line, verdict

METRICS = {"loss": 0.12345, "mae": 0.2, "floor_acc": 0.5, "ceil_acc": 0.25, "round_acc": 0.875}


def test_the_metrics_line_has_all_five_metrics_and_the_count():
    assert metrics_line(METRICS, 6000) == "n 6,000  loss 0.1235  MAE 0.2000  floor 50.0%  ceil 25.0%  round 87.5%"
    assert metrics_line(METRICS).startswith("loss 0.1235")


def test_the_epoch_line_marks_a_new_best():
    record = {"epoch": 3, "epochs": 28, "train_loss": 1.0, "val_loss": 0.5, **METRICS, "images_per_s": 1000.4}
    line = epoch_line({**record, "seconds": 22.5, "is_best": True})
    assert line.startswith("epoch   3/28  train   1.0000  val   0.5000  floor  50.0%  ceil  25.0%  round  87.5%")
    assert line.endswith("  1000 img/s   22.5s *")
    assert not epoch_line(record).endswith("*")
    assert epoch_line(record, compact=True) == "epoch 3/28  train 1.000  val 0.500  round 87.5%  mae 0.200  1000 img/s"


def test_the_verdict_rounds_half_to_even_like_torch_round():
    assert verdict(17.5, 18) == (18, True) and verdict(16.5, 16) == (16, True) and verdict(16.49, 17) == (16, False)


def test_numbers_and_durations():
    assert number(None, ".3f") == "-" and number(0.25, ".1%") == "25.0%"
    assert duration(59.6) == "1:00" and duration(3725) == "1:02:05" and duration(None) == "--:--"


def test_the_plan_line_says_what_was_planned_and_why():
    plan = {"machine": "cpu-fp32", "epochs": 20, "recipe_epochs": 28, "budget_min": 15.0, "images_per_s": 850.0}
    plan |= {"epoch_s": 38.2, "predicted_s": 800.0, "deadline": 1_800_000_900.0}
    line = plan_line(plan)
    assert line.startswith("plan: 20 epochs, shortened from the recipe's 28 to fit; budget 15 min; probe 850 img/s")
    assert "predicted 13:20 in all" in line
    assert plan_line({**plan, "budget_min": None}) == "plan: 20 epochs as asked (--epochs), cpu-fp32 recipe"


def test_the_end_line_says_how_a_run_ended_and_why_when_the_engine_ended_it_early():
    finished = {"event": "end", "epoch": 24, "stopped": False, "best": "runs/r/best.pt"}
    assert end_line(finished) == "run finished after epoch 24; best: runs/r/best.pt"
    out_of_time = {**finished, "epoch": 19, "stopped": True, "why": "the 15-minute budget would run out"}
    assert (
        end_line(out_of_time) == "run stopped after epoch 19: the 15-minute budget would run out; best: runs/r/best.pt"
    )
    assert end_line({"event": "end", "epoch": 0, "stopped": True, "best": ""}).endswith("best: none yet")
