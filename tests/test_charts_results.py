"""Result figures: the confusion-matrix heatmap and top-k bars."""

from __future__ import annotations

import numpy as np
import pytest

from flowerdash.charts.results import confusion_matrix_figure, row_normalized, top_k_figure

MATRIX = [[3, 1, 0], [2, 2, 0], [0, 0, 0]]
CLASSES = ["daisy", "rose", "tulip"]


def test_row_normalized_divides_each_row_by_its_total_and_keeps_empty_rows_zero():
    shares = row_normalized(MATRIX)
    assert shares[0].tolist() == pytest.approx([0.75, 0.25, 0.0])
    assert shares[2].tolist() == [0.0, 0.0, 0.0]


def test_heatmap_of_counts_labels_cells_with_counts():
    heatmap = confusion_matrix_figure(MATRIX, CLASSES).data[0]
    assert np.asarray(heatmap.z).tolist() == MATRIX
    assert heatmap.text[1][0] == "2"


def test_heatmap_normalized_labels_cells_with_the_true_class_share():
    heatmap = confusion_matrix_figure(MATRIX, CLASSES, normalize=True).data[0]
    assert heatmap.z[1][0] == pytest.approx(0.5)
    assert heatmap.text[0][1] == "25%"


def test_heatmap_has_predicted_classes_across_and_true_classes_down():
    figure = confusion_matrix_figure(MATRIX, CLASSES)
    assert list(figure.data[0].x) == CLASSES
    assert figure.layout.xaxis.title.text == "predicted class"
    assert figure.layout.yaxis.title.text == "true class"


def test_top_k_shows_the_k_most_probable_classes_most_probable_first():
    bars = top_k_figure(CLASSES, [0.2, 0.7, 0.1], k=2).data[0]
    assert list(bars.y) == ["rose", "daisy"]
    assert list(bars.x) == pytest.approx([0.7, 0.2])


def test_top_k_larger_than_the_class_count_shows_every_class():
    assert len(top_k_figure(CLASSES, [0.2, 0.7, 0.1], k=10).data[0].y) == 3


def test_heatmap_cells_carry_clickable_points_of_predicted_and_true_class():
    cells = confusion_matrix_figure(MATRIX, CLASSES).data[1]
    assert cells.type == "scatter"
    assert len(cells.x) == 9
    assert (cells.x[3], cells.y[3]) == ("daisy", "rose")
    assert cells.customdata[3][0] == 2
