"""The training plot (plot.png)."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from flowerdash.runs import HISTORY_COLUMNS
from flowerdash.train.plot import save_training_plot


def _history(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": range(rows),
            "accuracy": [0.5 + 0.1 * i for i in range(rows)],
            "learning_rate": [0.01] * rows,
            "loss": [1.0 / (i + 1) for i in range(rows)],
            "val_accuracy": [0.4 + 0.1 * i for i in range(rows)],
            "val_loss": [80.0] + [1.5] * (rows - 1),
        }
    )


def test_plot_is_a_png_of_the_two_panels(tmp_path):
    save_training_plot(_history(4), tmp_path / "plot.png", title="flowers")
    with Image.open(tmp_path / "plot.png") as image:
        assert image.format == "PNG"
        assert image.width > image.height  # loss and accuracy side by side


def test_plot_of_an_empty_history_still_writes_a_png(tmp_path):
    empty = pd.DataFrame({name: pd.Series(dtype=float) for name in HISTORY_COLUMNS})
    save_training_plot(empty, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
