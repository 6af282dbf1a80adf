"""A finished run directory written by hand, as ``flowerdash.train`` would, for dashboard tests.

Its test CSV holds 9 tiny 4x4 RGB images whose pixels all equal ``20 * (row + 1)``, so a test can
tell from an image which test row it is; the report confuses rose -> daisy twice (rows 3 and
5) and tulip -> rose once (row 8).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

CLASSES = ["daisy", "rose", "tulip"]
SHAPE = (4, 4, 3)
TEST_LABELS = ["daisy", "daisy", "daisy", "rose", "rose", "rose", "tulip", "tulip", "tulip"]
PREDICTED = ["daisy", "daisy", "daisy", "daisy", "rose", "daisy", "tulip", "tulip", "rose"]
CONFIDENCE = [0.9, 0.8, 0.7, 0.95, 0.6, 0.55, 0.9, 0.85, 0.65]


def pixel_value(row: int) -> int:
    """The value of every pixel of test row ``row`` (0-based)."""
    return 20 * (row + 1)


def write_test_csv(path: Path) -> Path:
    """Write the 9-row test CSV (label first, no header) and return its path."""
    values = int(np.prod(SHAPE))
    lines = [
        ",".join([label] + [str(pixel_value(row))] * values)
        for row, label in enumerate(TEST_LABELS)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _report() -> dict:
    from sklearn.metrics import classification_report, confusion_matrix

    report = classification_report(
        TEST_LABELS, PREDICTED, labels=CLASSES, output_dict=True, zero_division=0
    )
    report["classes"] = CLASSES
    report["confusion_matrix"] = confusion_matrix(TEST_LABELS, PREDICTED, labels=CLASSES).tolist()
    report["predictions"] = [
        {"index": i, "true": t, "predicted": p, "confidence": c}
        for i, (t, p, c) in enumerate(zip(TEST_LABELS, PREDICTED, CONFIDENCE, strict=True))
    ]
    return report


def write_finished_run(
    runs_dir: Path, run_id: str = "20260101-120000-abcd", epochs: int = 2
) -> Path:
    """Write a finished run (no model.keras) under ``runs_dir`` and return its folder."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    test_csv = write_test_csv(run_dir.parent / f"{run_id}-test.csv")
    started = time.time() - 60
    (run_dir / "config.json").write_text(
        json.dumps(
            {
                "settings": {
                    "model": "minivggnet",
                    "mode": "memory",
                    "epochs": epochs,
                    "batch_size": 32,
                    "optimizer": "sgd",
                    "learning_rate": 0.01,
                    "augment": True,
                    "seed": 42,
                },
                "augment": {},
                "data": {
                    "train": {"path": str(test_csv), "rows": len(TEST_LABELS)},
                    "test": {"path": str(test_csv), "rows": len(TEST_LABELS)},
                },
                "shape": list(SHAPE),
                "classes": CLASSES,
            }
        )
    )
    (run_dir / "status.json").write_text(
        json.dumps(
            {
                "state": "finished",
                "pid": None,
                "error": None,
                "started": started,
                "updated": started + 50,
                "finished": started + 50,
                "epoch": epochs,
                "epochs": epochs,
            }
        )
    )
    progress, history = [], ["epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"]
    for epoch in range(1, epochs + 1):
        for batch in (1, 2):
            progress.append(
                {"kind": "batch", "epoch": epoch, "batch": batch, "batches": 2,
                 "loss": 2.0 / (epoch + batch), "accuracy": 0.3 + 0.1 * epoch,
                 "time": started + 10 * epoch + batch}
            )  # fmt: skip
        values = {"loss": 1.0 / epoch, "accuracy": 0.4 + 0.1 * epoch,
                  "val_loss": 1.2 / epoch, "val_accuracy": 0.3 + 0.1 * epoch}  # fmt: skip
        progress.append(
            {"kind": "epoch", "epoch": epoch, "batch": 2, "batches": 2, **values,
             "time": started + 10 * epoch + 3}
        )  # fmt: skip
        history.append(
            f"{epoch - 1},{values['accuracy']},0.01,{values['loss']},"
            f"{values['val_accuracy']},{values['val_loss']}"
        )
    (run_dir / "progress.jsonl").write_text("".join(json.dumps(r) + "\n" for r in progress))
    (run_dir / "history.csv").write_text("\n".join(history) + "\n")
    (run_dir / "report.json").write_text(json.dumps(_report()))
    (run_dir / "train.log").write_text("epoch 1\nepoch 2\n")
    return run_dir


def _history_text(epochs: int) -> str:
    lines = ["epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"]
    lines += [f"{e},{0.4 + 0.1 * e},0.01,{1.0 / (e + 1)},{0.3 + 0.1 * e},{1.2 / (e + 1)}"
              for e in range(epochs)]  # fmt: skip
    return "\n".join(lines) + "\n"


def _write_backup_pair(folder: Path, epoch: int, suffix: str = "") -> None:
    import h5py

    with h5py.File(folder / f"latest.weights.h5{suffix}", "w") as weights:
        weights["layer"] = np.zeros(3)
    (folder / f"training_metadata.json{suffix}").write_text(json.dumps({"epoch": epoch}))


def write_stopped_run(
    runs_dir: Path, run_id: str = "20260101-130000-stop", epochs_done: int = 2, epochs: int = 4
) -> Path:
    """Write a run stopped after ``epochs_done`` epochs, as a resume finds it: config, status,
    history (and CSVLogger's file), and a backup of the last two epochs (dummy weights)."""
    run_dir = write_finished_run(runs_dir, run_id, epochs=epochs_done)
    config = json.loads((run_dir / "config.json").read_text())
    config["settings"]["epochs"] = epochs
    (run_dir / "config.json").write_text(json.dumps(config))
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(
        json.dumps({**status, "state": "stopped", "epochs": epochs})
    )
    (run_dir / "report.json").unlink()
    (run_dir / "history.csv").write_text(_history_text(epochs_done))
    (run_dir / ".history.keras.csv").write_text(_history_text(epochs_done))
    backup = run_dir / "backup"
    backup.mkdir()
    _write_backup_pair(backup, epochs_done)
    if epochs_done > 1:
        _write_backup_pair(backup, epochs_done - 1, ".bkp")
    return run_dir


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run folder and its bytes (to show that nothing changed)."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
