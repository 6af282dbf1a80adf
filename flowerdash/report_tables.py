"""Tables drawn from a run's ``report.json``: per-class scores, confused pairs, a cell's samples.

``report`` is the dict of the run directory contract: scikit-learn's
``classification_report(output_dict=True)`` plus ``classes``, ``confusion_matrix`` (true class
down, predicted class across, in ``classes`` order) and ``predictions``
(``[{"index", "true", "predicted", "confidence"}]``, ``index`` being the 0-based row of the
test set). No Keras, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowerdash.errors import RunError

_SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg")


@dataclass(frozen=True)
class ConfusedPair:
    """``count`` test images of class ``true`` predicted as ``predicted``."""

    true: str
    predicted: str
    count: int
    share: float  # of the true class's test images


def report_classes(report: Mapping[str, Any]) -> list[str]:
    """Return the class names of a report, in the confusion matrix's order."""
    if "classes" in report:
        return [str(c) for c in report["classes"]]
    return [k for k, v in report.items() if isinstance(v, Mapping) and k not in _SUMMARY_KEYS]


def overall_accuracy(report: Mapping[str, Any]) -> float | None:
    """Return the report's overall accuracy (share of test images predicted right), if any."""
    value = report.get("accuracy")
    return None if value is None else float(value)


def per_class_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Return one row per class: ``class``, ``precision``, ``recall``, ``f1-score``, ``support``.

    Raises RunError when the report holds no per-class entry.
    """
    rows = []
    for name in report_classes(report):
        scores = report.get(name)
        if not isinstance(scores, Mapping):
            continue
        rows.append(
            {
                "class": name,
                "precision": float(scores["precision"]),
                "recall": float(scores["recall"]),
                "f1-score": float(scores["f1-score"]),
                "support": int(scores["support"]),
            }
        )
    if not rows:
        raise RunError("report.json: no per-class scores (expected one entry per class name)")
    return pd.DataFrame(rows)


def most_confused_pairs(
    matrix: Sequence[Sequence[int]] | np.ndarray, classes: Sequence[str], limit: int | None = None
) -> list[ConfusedPair]:
    """Return the off-diagonal cells with at least one image, the largest count first.

    Ties are broken by the share of the true class, then by class order, so the list is stable.
    """
    counts = np.asarray(matrix, dtype=int)
    totals = counts.sum(axis=1)
    pairs = [
        ConfusedPair(str(classes[t]), str(classes[p]), int(counts[t, p]), counts[t, p] / totals[t])
        for t in range(counts.shape[0])
        for p in range(counts.shape[1])
        if t != p and counts[t, p] > 0
    ]
    pairs.sort(key=lambda pair: (-pair.count, -pair.share))
    return pairs if limit is None else pairs[:limit]


def cell_predictions(
    predictions: Sequence[Mapping[str, Any]], true: str, predicted: str
) -> list[dict[str, Any]]:
    """Return the predictions of test images of class ``true`` predicted as ``predicted``.

    Most confident first: for a mistake, the images the model was surest about come first.
    """
    chosen = [
        dict(p) for p in predictions if str(p["true"]) == true and str(p["predicted"]) == predicted
    ]
    chosen.sort(key=lambda p: (-float(p.get("confidence", 0.0)), int(p["index"])))
    return chosen


#: A cell of the confusion matrix: (true class, predicted class).
Cell = tuple[str, str]


def cells_in_order(report: Mapping[str, Any]) -> list[Cell]:
    """Return the non-empty cells of the confusion matrix: mistakes (most frequent first),
    then the correct cells in class order."""
    classes = report_classes(report)
    matrix = np.asarray(report["confusion_matrix"], dtype=int)
    mistakes = [(p.true, p.predicted) for p in most_confused_pairs(matrix, classes)]
    correct = [(c, c) for i, c in enumerate(classes) if matrix[i, i] > 0]
    return mistakes + correct


def cell_label(report: Mapping[str, Any], cell: Cell) -> str:
    """Return how a cell reads: ``"rose → daisy (mistaken): 2 of 4 rose images"``."""
    classes = report_classes(report)
    matrix = np.asarray(report["confusion_matrix"], dtype=int)
    t, p = classes.index(cell[0]), classes.index(cell[1])
    count, total = int(matrix[t, p]), int(matrix[t].sum())
    kind = "correct" if t == p else "mistaken"
    return f"{cell[0]} → {cell[1]} ({kind}): {count} of {total} {cell[0]} images"


def true_labels_by_row(predictions: Sequence[Mapping[str, Any]], count: int) -> list[str | None]:
    """Return the true label of each of ``count`` test rows as the predictions record it
    (None for a row they do not cover or an index outside the rows)."""
    labels: list[str | None] = [None] * count
    for prediction in predictions:
        if 0 <= int(prediction["index"]) < count:
            labels[int(prediction["index"])] = str(prediction["true"])
    return labels


def predictions_table(predictions: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Return the predictions as a table (``index``, ``true``, ``predicted``, ``confidence``,
    ``correct``), for the report's CSV download."""
    table = pd.DataFrame(list(predictions), columns=["index", "true", "predicted", "confidence"])
    table["correct"] = table["true"].astype(str) == table["predicted"].astype(str)
    return table


def report_csv(report: Mapping[str, Any]) -> str:
    """Return the per-class table plus the accuracy and averages as CSV text."""
    table = per_class_table(report)
    extra = []
    for key in ("macro avg", "weighted avg"):
        scores = report.get(key)
        if isinstance(scores, Mapping):
            extra.append({"class": key, **{k: scores.get(k) for k in table.columns[1:]}})
    accuracy = overall_accuracy(report)
    if accuracy is not None:
        support = int(table["support"].sum())
        extra.append({"class": "accuracy", "f1-score": accuracy, "support": support})
    return pd.concat([table, pd.DataFrame(extra)], ignore_index=True).to_csv(index=False)
