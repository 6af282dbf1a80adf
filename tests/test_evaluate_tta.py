"""Flip test-time augmentation: scored next to the plain predictions, in report.json and text."""

from __future__ import annotations

import numpy as np
import pytest

from flowerdash.evaluate import evaluate_model, flip_tta_scores, format_report


def test_flip_tta_averages_each_image_with_its_mirror():
    truth = np.array([0, 1, 1])
    plain = np.array([[0.6, 0.4], [0.6, 0.4], [0.2, 0.8]])
    mirrored = np.array([[0.6, 0.4], [0.1, 0.9], [0.2, 0.8]])
    scores = flip_tta_scores(truth, plain, mirrored)
    assert scores == {"accuracy": 1.0, "macro_f1": 1.0}


def test_evaluate_with_flip_tta_reports_both_scores():
    keras = pytest.importorskip("keras")
    # Probabilities from the left column only: mirroring changes what the model sees.
    inputs = keras.Input((1, 2, 1))
    left = keras.layers.Lambda(lambda x: x[:, 0, 0, :] / 255.0)(inputs)
    outputs = keras.layers.Concatenate()([left, 1.0 - left])
    model = keras.Model(inputs, outputs)
    # Image 1 reads "b" (0.2 for "a"), its mirror "a" (1.0): the mean, 0.6, is right.
    images = np.array([[[[255], [100]]], [[[51], [255]]]], dtype=np.uint8)
    report = evaluate_model(model, images, np.array([0, 0]), ["a", "b"], flip_tta=True)
    assert report["accuracy"] == 0.5 and report["flip_tta"]["accuracy"] == 1.0
    assert "flip test-time augmentation: accuracy 1.0000" in format_report(report)
    assert "(plain: accuracy 0.5000" in format_report(report)
    assert "flip_tta" not in evaluate_model(model, images, np.array([0, 0]), ["a", "b"])
