"""Evaluation: predict every test sample exactly once, then the report the dashboard reads.

The tutorial predicted with ``steps = N // BS + 1`` from a wrap-around generator, which counts
one batch too many whenever N is a multiple of BS. Here predictions come from a PyDataset in
file order whose length is ``ceil(N / BS)``, and the count is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flowerdash.errors import RunError

if TYPE_CHECKING:
    import keras

PREDICT_BATCH_SIZE = 256
#: The report key of the flip test-time augmentation scores.
FLIP_TTA = "flip_tta"


def predict_probabilities(
    model: keras.Model, images: np.ndarray, *, batch_size: int = PREDICT_BATCH_SIZE
) -> np.ndarray:
    """Return class probabilities ``(N, classes)`` for ``images`` ``(N, H, W, C)``, in order.

    Raises RunError if Keras returned another number of predictions than images.
    """
    from flowerdash.data.batches import ImageBatches

    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    batches = ImageBatches(images, None, batch_size)
    probabilities = np.asarray(model.predict(batches, verbose=0))
    if len(probabilities) != len(images):
        raise RunError(f"got {len(probabilities)} predictions for {len(images)} images")
    return probabilities


def build_report(
    true_indices: np.ndarray, probabilities: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Return the report dict saved as ``report.json``.

    scikit-learn's ``classification_report(output_dict=True)`` (every class listed, absent ones
    with support 0), plus ``confusion_matrix`` (rows: true class, columns: predicted, in
    ``classes`` order), ``classes``, ``count`` and ``predictions``: one
    ``{"index", "true", "predicted", "confidence"}`` per sample, ``index`` being its 0-based row
    in the test file.
    """
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    true_indices = np.asarray(true_indices, dtype=np.int64)
    if len(true_indices) != len(probabilities):
        raise RunError(f"{len(true_indices)} labels but {len(probabilities)} predictions")
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    labels = list(range(len(classes)))
    names = [str(name) for name in classes]
    report: dict[str, Any] = classification_report(
        true_indices,
        predicted,
        labels=labels,
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    report["accuracy"] = float(accuracy_score(true_indices, predicted))
    report["confusion_matrix"] = confusion_matrix(true_indices, predicted, labels=labels).tolist()
    report["classes"] = names
    report["count"] = len(true_indices)
    report["predictions"] = [
        {"index": row, "true": names[truth], "predicted": names[guess], "confidence": round(p, 6)}
        for row, (truth, guess, p) in enumerate(
            zip(true_indices.tolist(), predicted.tolist(), confidence.tolist(), strict=True)
        )
    ]
    return report


def format_report(report: dict[str, Any]) -> str:
    """The text classification report, as the tutorial printed it, from a report dict; with
    flip test-time augmentation, a line giving that score next to the plain one."""
    from sklearn.metrics import classification_report

    names = report["classes"]
    index = {name: i for i, name in enumerate(names)}
    truth = [index[p["true"]] for p in report["predictions"]]
    guess = [index[p["predicted"]] for p in report["predictions"]]
    text = classification_report(
        truth, guess, labels=list(range(len(names))), target_names=names, zero_division=0
    )
    tta = report.get(FLIP_TTA)
    if tta:
        text += (
            f"\nflip test-time augmentation: accuracy {tta['accuracy']:.4f}, macro F1 "
            f"{tta['macro_f1']:.4f} (plain: accuracy {report['accuracy']:.4f}, macro F1 "
            f"{report['macro avg']['f1-score']:.4f})\n"
        )
    return text


def flip_tta_scores(
    true_indices: np.ndarray, probabilities: np.ndarray, flipped: np.ndarray
) -> dict[str, float]:
    """Accuracy and macro F1 of the mean of each image's and its mirror image's probabilities."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = ((probabilities + flipped) / 2).argmax(axis=1)
    labels = list(range(probabilities.shape[1]))
    return {
        "accuracy": float(accuracy_score(true_indices, predicted)),
        "macro_f1": float(
            f1_score(true_indices, predicted, labels=labels, average="macro", zero_division=0)
        ),
    }


def evaluate_model(
    model: keras.Model,
    images: np.ndarray,
    true_indices: np.ndarray,
    classes: Sequence[str],
    *,
    batch_size: int = PREDICT_BATCH_SIZE,
    flip_tta: bool = False,
) -> dict[str, Any]:
    """Predict every image once and return :func:`build_report`'s dict.

    With ``flip_tta`` the mirrored images are predicted too and the report's ``flip_tta`` key
    holds :func:`flip_tta_scores` (the rest of the report stays the plain predictions').
    """
    probabilities = predict_probabilities(model, images, batch_size=batch_size)
    report = build_report(true_indices, probabilities, classes)
    if flip_tta and len(images):
        flipped = predict_probabilities(
            model, np.asarray(images)[:, :, ::-1], batch_size=batch_size
        )
        report[FLIP_TTA] = flip_tta_scores(np.asarray(true_indices), probabilities, flipped)
    return report


def top_losses(
    probabilities: np.ndarray, true_indices: np.ndarray, k: int, *, mistakes_only: bool = True
) -> list[tuple[int, float]]:
    """The ``k`` samples with the highest cross-entropy loss, highest first (fastai's
    ``top_losses``): ``(row, loss)`` pairs, ``loss = -log p(true class)``. With
    ``mistakes_only`` (the default) only misclassified samples count: the most confident
    mistakes."""
    true_indices = np.asarray(true_indices, dtype=np.int64)
    if len(true_indices) != len(probabilities):
        raise RunError(f"{len(true_indices)} labels but {len(probabilities)} predictions")
    if len(true_indices) == 0:
        return []
    chosen = probabilities[np.arange(len(true_indices)), true_indices]
    losses = -np.log(np.clip(chosen, 1e-12, 1.0))
    rows = np.arange(len(true_indices))
    if mistakes_only:
        rows = rows[probabilities.argmax(axis=1) != true_indices]
    order = rows[np.argsort(-losses[rows], kind="stable")][: max(0, k)]
    return [(int(row), float(losses[row])) for row in order]
