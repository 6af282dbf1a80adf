"""Tables drawn from a run's report: per-class scores, confused pairs, a cell's samples."""

from __future__ import annotations

import pytest

from flowerdash.errors import RunError
from flowerdash.report_tables import (
    cell_label,
    cell_predictions,
    cells_in_order,
    most_confused_pairs,
    overall_accuracy,
    per_class_table,
    predictions_table,
    report_csv,
    true_labels_by_row,
)

REPORT = {
    "daisy": {"precision": 0.6, "recall": 0.75, "f1-score": 0.667, "support": 4},
    "rose": {"precision": 0.667, "recall": 0.5, "f1-score": 0.571, "support": 4},
    "accuracy": 0.625,
    "macro avg": {"precision": 0.633, "recall": 0.625, "f1-score": 0.619, "support": 8},
    "weighted avg": {"precision": 0.633, "recall": 0.625, "f1-score": 0.619, "support": 8},
    "classes": ["daisy", "rose"],
    "confusion_matrix": [[3, 1], [2, 2]],
    "predictions": [
        {"index": 0, "true": "rose", "predicted": "daisy", "confidence": 0.6},
        {"index": 1, "true": "rose", "predicted": "daisy", "confidence": 0.9},
        {"index": 2, "true": "daisy", "predicted": "daisy", "confidence": 0.8},
    ],
}


def test_per_class_table_has_one_row_per_class_in_report_order():
    table = per_class_table(REPORT)
    assert table["class"].tolist() == ["daisy", "rose"]
    assert table.loc[1, "support"] == 4
    assert table.loc[0, "recall"] == pytest.approx(0.75)


def test_per_class_table_of_a_report_without_classes_raises_run_error():
    with pytest.raises(RunError, match="per-class"):
        per_class_table({"accuracy": 0.5})


def test_overall_accuracy_reads_the_report_accuracy():
    assert overall_accuracy(REPORT) == pytest.approx(0.625)


def test_most_confused_pairs_lists_the_largest_off_diagonal_count_first():
    pairs = most_confused_pairs([[3, 1, 0], [2, 2, 0], [0, 3, 1]], ["a", "b", "c"])
    assert [(p.true, p.predicted, p.count) for p in pairs] == [
        ("c", "b", 3),
        ("b", "a", 2),
        ("a", "b", 1),
    ]


def test_most_confused_pairs_gives_the_share_of_the_true_class():
    pair = most_confused_pairs([[3, 1], [2, 2]], ["a", "b"], limit=1)[0]
    assert pair.share == pytest.approx(0.5)


def test_cell_predictions_selects_the_pair_most_confident_first():
    chosen = cell_predictions(REPORT["predictions"], "rose", "daisy")
    assert [p["index"] for p in chosen] == [1, 0]


def test_predictions_table_marks_correct_predictions():
    assert predictions_table(REPORT["predictions"])["correct"].tolist() == [False, False, True]


def test_report_csv_holds_classes_averages_and_accuracy():
    lines = report_csv(REPORT).splitlines()
    assert lines[0] == "class,precision,recall,f1-score,support"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "daisy",
        "rose",
        "macro avg",
        "weighted avg",
        "accuracy",
    ]


def test_cells_in_order_puts_mistakes_most_frequent_first_then_the_correct_cells():
    assert cells_in_order(REPORT) == [
        ("rose", "daisy"),
        ("daisy", "rose"),
        ("daisy", "daisy"),
        ("rose", "rose"),
    ]


def test_a_cell_reads_as_its_count_out_of_the_true_class():
    assert cell_label(REPORT, ("rose", "daisy")) == "rose → daisy (mistaken): 2 of 4 rose images"
    assert cell_label(REPORT, ("daisy", "daisy")) == "daisy → daisy (correct): 3 of 4 daisy images"


def test_true_labels_by_row_come_from_the_predictions_and_leave_other_rows_unknown():
    predictions = [*REPORT["predictions"], {"index": 9, "true": "rose", "predicted": "rose"}]
    assert true_labels_by_row(predictions, 4) == ["rose", "rose", "daisy", None]
