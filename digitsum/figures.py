"""The report's figures as files: history.png, inference.png and history.csv (matplotlib, headless)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from digitsum.curves import ChartView, axis_label, debiased_ema, epoch_x, fitted_range
from digitsum.errors import BadInput
from digitsum.runlog import LOG_NAME, epoch_history, read_log

HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "floor_acc",
    "ceil_acc",
    "round_acc",
    "mae",
    "lr",
    "seconds",
    "images_per_s",
)


def run_history(run_dir: Path) -> list[dict[str, Any]]:
    """Per-epoch records of a run folder, from its log (or its last checkpoint when the log is gone)."""
    log = run_dir / LOG_NAME
    if log.is_file():
        history = epoch_history(read_log(log))
        if history:
            return history
    last = run_dir / "last.pt"
    if last.is_file():
        from digitsum.checkpoints import load_checkpoint

        return list(load_checkpoint(last).get("history") or [])
    if not run_dir.is_dir():
        raise BadInput(f"{run_dir}: no such run folder")
    raise BadInput(f"{run_dir}: no {LOG_NAME} or last.pt with a history")


def write_history_csv(history: list[dict[str, Any]], path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return path


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BadInput("digitsum report needs matplotlib: pip install 'digitsum[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(
    history: list[dict[str, Any]],
    path: Path,
    title: str = "",
    view: ChartView | None = None,
    batches_per_epoch: int = 0,
) -> Path:
    """Figure 1 as a PNG file."""
    plt = _pyplot()
    fig = history_figure(history, title, view or ChartView(), batches_per_epoch)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def history_figure(history: list[dict[str, Any]], title: str, view: ChartView, batches_per_epoch: int) -> Any:
    """Figure 1: train/val loss, floor/ceil/round accuracy and MAE, drawn the way `view` says (as the TUI's charts)."""
    plt = _pyplot()
    xs = epoch_x(history, view.x_axis, batches_per_epoch)
    x_label = axis_label(view.x_axis, batches_per_epoch > 0)
    fig, (ax_loss, ax_acc, ax_mae) = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (
        (ax_loss, "MSE loss", {"train_loss": "train", "val_loss": "validation"}, True),
        (ax_acc, "validation accuracy", {"floor_acc": "floor", "ceil_acc": "ceil", "round_acc": "round"}, False),
        (ax_mae, "validation MAE", {"mae": "MAE"}, True),
    )
    for ax, name, series, loggable in panels:
        curves = [debiased_ema([h[key] for h in history], view.smoothing) for key in series]
        for label, ys in zip(series.values(), curves):
            ax.plot(xs, ys, label=label)
        log = loggable and view.log_y and min(min(c) for c in curves) > 0
        ax.set(title=name + (f" (smoothed {view.smoothing:g})" if view.smoothing else ""), xlabel=x_label)
        if log:
            ax.set_yscale("log")
        fitted = fitted_range(curves, per_batch=False, log=log) if view.fit else None
        if fitted:
            ax.set_ylim(*fitted)
        elif not loggable:
            ax.set_ylim(0, 1)
        if len(series) > 1:
            ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_inference(
    images: np.ndarray, targets: np.ndarray, predictions: np.ndarray, path: Path, title: str = "", columns: int = 4
) -> Path:
    """Figure 2: a grid of images with predicted and true sums; wrong ones framed in red."""
    plt = _pyplot()
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 1.35 * rows + 0.6), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, target, pred in zip(axes.ravel(), images, targets, predictions):
        ok = round(float(pred)) == int(target)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(
            f"pred {pred:.2f} → {round(float(pred))}   true {int(target)}",
            fontsize=9,
            color="black" if ok else "tab:red",
        )
        if not ok:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set(color="tab:red", linewidth=2.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    run_dir: Path, out_dir: Path | None = None, count: int = 24, view: ChartView | None = None
) -> list[Path]:
    """history.png, history.csv and (when best.pt exists) inference.png for one run folder."""
    from digitsum.compare import load_run
    from digitsum.curves import batches_per_epoch
    from digitsum.inference import evaluate_checkpoint

    run = load_run(run_dir)
    history = run.history
    out_dir = out_dir or run_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{out_dir}: cannot create ({exc.strerror or exc})") from None
    written = [
        write_history_csv(history, out_dir / "history.csv"),
        plot_history(history, out_dir / "history.png", run_dir.name, view, batches_per_epoch(run.config)),
    ]
    best = run_dir / "best.pt"
    if best.is_file():
        ev = evaluate_checkpoint(best, limit=count)
        m = ev.metrics
        title = (
            f"{run_dir.name} best.pt: round acc {m['round_acc']:.1%}, MAE {m['mae']:.3f} on the first {len(ev.targets)} "
            f"validation images"
        )
        written.append(plot_inference(ev.images, ev.targets, ev.predictions, out_dir / "inference.png", title))
    return written
