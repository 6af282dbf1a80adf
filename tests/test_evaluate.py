"""Evaluation: every sample predicted once, and the report dict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flowerdash.evaluate import build_report, format_report, predict_probabilities

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def probabilities() -> np.ndarray:
    return np.array(
        [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32
    )


def test_report_holds_sklearn_metrics_confusion_matrix_and_classes(probabilities):
    report = build_report(np.array([0, 1, 1, 2]), probabilities, CLASSES)
    assert report["accuracy"] == 0.75
    assert report["dog"]["recall"] == 0.5
    assert report["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert report["classes"] == CLASSES and report["count"] == 4


def test_report_lists_each_sample_with_its_row_truth_prediction_and_confidence(probabilities):
    report = build_report(np.array([0, 1, 1, 2]), probabilities, CLASSES)
    assert report["predictions"][2] == {
        "index": 2,
        "true": "dog",
        "predicted": "cat",
        "confidence": pytest.approx(0.6),
    }


def test_class_absent_from_the_test_set_is_listed_with_support_zero(probabilities):
    report = build_report(np.array([0, 0, 0, 0]), probabilities, CLASSES)
    assert report["fox"]["support"] == 0
    assert np.array(report["confusion_matrix"]).shape == (3, 3)


def test_report_is_json_serialisable(probabilities):
    report = build_report(np.array([0, 1, 1, 2]), probabilities, CLASSES)
    assert json.loads(json.dumps(report))["count"] == 4


def test_text_report_names_every_class(probabilities):
    text = format_report(build_report(np.array([0, 1, 1, 2]), probabilities, CLASSES))
    assert all(name in text for name in CLASSES) and "weighted avg" in text


@pytest.mark.parametrize("count", [32, 33, 31])
def test_every_image_is_predicted_exactly_once_in_order(count):
    import keras

    model = keras.Sequential([keras.Input((1, 1, 1)), keras.layers.Flatten()])
    images = np.arange(count, dtype=np.uint8).reshape(count, 1, 1, 1)
    predicted = predict_probabilities(model, images, batch_size=8)
    assert predicted[:, 0].astype(int).tolist() == list(range(count))


def test_top_losses_are_the_most_confident_mistakes_first():
    from flowerdash.evaluate import top_losses

    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.45, 0.55], [0.01, 0.99], [0.6, 0.4]])
    truth = np.array([0, 0, 0, 0, 1])
    assert [row for row, _ in top_losses(probabilities, truth, 10)] == [3, 1, 4, 2]
    (row, loss), *_ = top_losses(probabilities, truth, 1)
    assert row == 3 and loss == pytest.approx(-np.log(0.01))
    everything = top_losses(probabilities, truth, 10, mistakes_only=False)
    assert [row for row, _ in everything][-1] == 0
