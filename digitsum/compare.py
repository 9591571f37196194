"""Side-by-side view of several runs: best metrics, config differences, overlaid curves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitsum.errors import BadInput
from digitsum.figures import run_history

IGNORED_CONFIG = {"out", "resume", "device"}


@dataclass
class RunSummary:
    name: str
    path: str
    config: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def best(self) -> dict[str, Any]:
        return min(self.history, key=lambda h: h["val_loss"]) if self.history else {}


def load_run(run_dir: Path) -> RunSummary:
    if not run_dir.is_dir():
        raise BadInput(f"{run_dir}: no such run folder")
    config_path = run_dir / "config.json"
    try:
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    except ValueError:
        raise BadInput(f"{config_path}: not valid JSON") from None
    return RunSummary(run_dir.name, str(run_dir), config, run_history(run_dir))


def config_differences(runs: list[RunSummary]) -> dict[str, list[Any]]:
    """Settings whose values are not the same in every run (output paths ignored)."""
    keys = sorted({k for r in runs for k in r.config} - IGNORED_CONFIG)
    diffs = {}
    for key in keys:
        values = [r.config.get(key) for r in runs]
        if any(v != values[0] for v in values[1:]):
            diffs[key] = values
    return diffs


def comparison(runs: list[RunSummary]) -> dict[str, Any]:
    return {
        "runs": [{"run": r.name, "path": r.path, "epochs": len(r.history), "best": r.best} for r in runs],
        "config_differences": config_differences(runs),
    }


def overlay_chart(runs: list[RunSummary], key: str, width: int = 100, height: int = 14, title: str = "") -> str:
    """One plotext panel with `key` per epoch for every run."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    for r in runs:
        plt.plot([h["epoch"] for h in r.history], [h[key] for h in r.history], label=r.name[-28:])
    plt.title(title or key)
    plt.xlabel("epoch")
    if key == "val_loss":
        plt.yscale("log")
    plt.theme("clear")
    return plt.build()
