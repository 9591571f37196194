"""Lines that the CLI, the run log's readers and the TUI all show: written once, here."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def duration(seconds: float | None) -> str:
    """`1:02:03` / `2:03`; `--:--` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    hours, rest = divmod(int(round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plan_line(plan: dict[str, Any]) -> str:
    """What the run will do and why: its length, the recipe it came from, the budget and the finish time."""
    if not plan:
        return ""
    epochs, machine = plan["epochs"], plan["machine"]
    if plan.get("budget_min") is None:
        return f"plan: {epochs} epochs as asked (--epochs), {machine} recipe"
    cut = (
        f", shortened from the recipe's {plan['recipe_epochs']} to fit"
        if epochs < plan["recipe_epochs"]
        else f" ({machine} recipe)"
    )
    ends = datetime.fromtimestamp(plan["deadline"] - plan["budget_min"] * 60 + plan["predicted_s"]).strftime("%H:%M")
    return (
        f"plan: {epochs} epochs{cut}; budget {plan['budget_min']:g} min; probe {plan['images_per_s']:,.0f} img/s, "
        f"{plan['epoch_s']:.1f} s/epoch; predicted {duration(plan['predicted_s'])} in all, ends ~{ends}"
    )
