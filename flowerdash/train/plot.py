"""The tutorial's training plot: loss and accuracy, train and validation, per epoch (PNG)."""

from __future__ import annotations

import os

import pandas as pd


def save_training_plot(
    history: pd.DataFrame, path: str | os.PathLike[str], *, title: str = "Training"
) -> None:
    """Draw ``history`` (``history.csv`` columns) into a PNG at ``path`` (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4), dpi=100)
    epochs = history["epoch"].to_numpy() + 1 if "epoch" in history else range(1, len(history) + 1)
    for axis, metric, name in (
        (figure.add_subplot(1, 2, 1), "loss", "Loss"),
        (figure.add_subplot(1, 2, 2), "accuracy", "Accuracy"),
    ):
        for column, label, style in ((metric, "train", "-"), (f"val_{metric}", "validation", "--")):
            if column in history:
                axis.plot(epochs, history[column], style, marker="o", markersize=3, label=label)
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        axis.set_ylabel(name)
        losses = history[[c for c in (metric, f"val_{metric}") if c in history]].to_numpy()
        if metric == "loss" and losses.size and (losses > 0).all():
            # Early validation losses can be 100x the rest (BatchNorm statistics still settling):
            # a log scale keeps the whole curve readable.
            axis.set_yscale("log")
            name += " (log scale)"
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, format="png")
