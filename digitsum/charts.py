"""The assignment's Figure 1 as terminal text: loss and accuracy history drawn with plotext."""

from __future__ import annotations

from typing import Any


def history_chart(history: list[dict[str, Any]], width: int = 100, height: int = 20) -> str:
    """Two panels: train/val loss (log scale) and floor/ceil/round accuracy per epoch."""
    import plotext as plt

    plt.clear_figure()
    plt.subplots(1, 2)
    plt.plotsize(width, height)
    epochs = [h["epoch"] for h in history]
    plt.subplot(1, 1)
    plt.title("loss (MSE)")
    plt.plot(epochs, [h["train_loss"] for h in history], label="train")
    plt.plot(epochs, [h["val_loss"] for h in history], label="val")
    plt.yscale("log")
    plt.xlabel("epoch")
    plt.subplot(1, 2)
    plt.title("validation accuracy")
    for key in ("floor_acc", "ceil_acc", "round_acc"):
        plt.plot(epochs, [h[key] for h in history], label=key.split("_")[0])
    plt.ylim(0, 1)
    plt.xlabel("epoch")
    plt.theme("clear")
    return plt.build()
