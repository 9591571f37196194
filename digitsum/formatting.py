"""Lines that the CLI, the run log's readers and the TUI all show: written once, here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def end_line(record: dict[str, Any]) -> str:
    """How a run ended, in one line (the TUI's log pane; the alert words its title and body apart)."""
    how = "stopped" if record.get("stopped") else "finished"
    why = f": {record['why']}" if record.get("why") else ""
    return f"run {how} after epoch {record.get('epoch')}{why}; best: {record.get('best') or 'none yet'}"


def number(value: float | None, spec: str) -> str:
    """A table cell: `-` where a checkpoint has no such metric (an epoch-0 save)."""
    return "-" if value is None else format(value, spec)


def checkpoint_metrics(row: Any) -> list[str]:
    """A checkpoint listing's metric cells (digitsum checkpoints, the browser): model, epoch, val loss, round, MAE."""
    return [
        row.model,
        str(row.epoch),
        number(row.val_loss, ".3f"),
        number(row.round_acc, ".1%"),
        number(row.mae, ".3f"),
    ]


def metrics_line(m: Mapping[str, float], n: int | None = None) -> str:
    """The five metrics of DESIGN.md on one line (eval, the browser, the inference screen)."""
    count = f"n {n:,}  " if n is not None else ""
    return (
        f"{count}loss {m['loss']:.4f}  MAE {m['mae']:.4f}  "
        f"floor {m['floor_acc']:.1%}  ceil {m['ceil_acc']:.1%}  round {m['round_acc']:.1%}"
    )


def epoch_line(r: Mapping[str, Any], compact: bool = False) -> str:
    """One finished epoch (an `epoch` record): the headless progress, and compact in the TUI's 80-column log."""
    star = " *" if r.get("is_best") else ""
    if compact:
        return (
            f"epoch {r['epoch']}/{r['epochs']}  train {r['train_loss']:.3f}  val {r['val_loss']:.3f}  "
            f"round {r['round_acc']:.1%}  mae {r['mae']:.3f}  {r.get('images_per_s', 0):.0f} img/s{star}"
        )
    return (
        f"epoch {r['epoch']:>3}/{r['epochs']}  train {r['train_loss']:8.4f}  val {r['val_loss']:8.4f}  "
        f"floor {r['floor_acc']:6.1%}  ceil {r['ceil_acc']:6.1%}  round {r['round_acc']:6.1%}  "
        f"mae {r['mae']:6.3f}  {r.get('images_per_s', 0):6.0f} img/s  {r.get('seconds', 0):5.1f}s{star}"
    )


def verdict(prediction: float, target: int) -> tuple[int, bool]:
    """The rounded sum (half to even, as torch.round and numpy round) and whether it is right."""
    rounded = round(float(prediction))
    return rounded, rounded == int(target)


SPLIT_NOTES = {
    "touch": "(digits touch: split at the ink minimum)",
    "close": "(digits close: split at the ink minimum)",
}


def reading_line(parts: Sequence[float], total: float, rounded: int, wrong_index: int | None = None) -> str:
    """`7.0 + 3.1 + 0.2 + 4.9 = 15.2 → 15`, the misread part in brackets: each digit's share of the answer."""
    cells = [f"[{abs(p):.1f}]" if k == wrong_index else f"{abs(p):.1f}" for k, p in enumerate(parts)]
    signs = ["-" if p < 0 else "+" for p in parts]
    line = ("-" if signs[0] == "-" else "") + cells[0]
    line += "".join(f" {sign} {cell}" for sign, cell in zip(signs[1:], cells[1:]))
    return f"{line} = {total:.1f} → {rounded}"


def misread_index(parts: Sequence[float], true_digits: Sequence[int]) -> int:
    """The position whose contribution is farthest from its true digit: the likely misread one."""
    return max(range(len(parts)), key=lambda k: abs(parts[k] - int(true_digits[k])))


def misread_text(true_digit: int, part: float) -> str:
    """`read the 4 as a 9`; where the part still rounds to the true digit, its value (`read the 4 as 4.4`)."""
    seen = min(9, max(0, round(part)))
    if seen == true_digit:
        return f"read the {true_digit} as {part:.1f}"
    return f"read the {true_digit} as {'an' if seen == 8 else 'a'} {seen}"


def split_note(reading: Any) -> str:
    """Why a boundary between digits is a guess, or `` where the ink separated all four."""
    if not reading.split_at_ink_minimum:
        return ""
    return SPLIT_NOTES["touch" if reading.touching else "close"]


def reading_text(reading: Any, rounded: int, true_digits: Sequence[int] | None = None) -> str:
    """A `Reading` as the CLI and the inference screen show it; with the true digits, a wrong answer names its misread digit."""
    wrong = true_digits is not None and rounded != sum(int(d) for d in true_digits)
    index = misread_index(reading.parts, true_digits) if wrong else None
    pieces = [reading_line(reading.parts, reading.total, rounded, index)]
    if index is not None:
        pieces.append(misread_text(int(true_digits[index]), reading.parts[index]))
    return "  ".join(pieces + [note for note in [split_note(reading)] if note])
