"""Small CSV datasets written on the fly for the dashboard tests (AppTest and browser).

``write_flowers(folder)`` writes ``flowers_train.csv`` (30 rows) and ``flowers_test.csv``
(9 rows) of 8x8 RGB images in 3 classes, the bundled dataset's names, so that pointing
``FLOWERDASH_DATA_DIR`` at ``folder`` makes them "the bundled dataset". Test row 4 is a copy
of training row 7 (one leak).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

CLASSES = ["daisy", "rose", "tulip"]
SHAPE = (8, 8, 3)
TRAIN_ROWS = 30
TEST_ROWS = 9
LEAKED_TEST_ROW = 4
LEAKED_FROM_TRAIN_ROW = 7


def write_csv(path: Path, labels: list[str], images: np.ndarray, header: bool = False) -> Path:
    """Write one image a line, label first (optionally with a ``label,pixel1..`` header)."""
    flat = images.reshape(len(images), -1)
    lines = []
    if header:
        lines.append(",".join(["label"] + [f"pixel{i + 1}" for i in range(flat.shape[1])]))
    lines += [
        f"{label}," + ",".join(map(str, row)) for label, row in zip(labels, flat, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def flower_images(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``count`` labels cycling through the classes, and random uint8 8x8x3 images."""
    rng = np.random.default_rng(seed)
    labels = [CLASSES[i % len(CLASSES)] for i in range(count)]
    return labels, rng.integers(0, 256, (count, *SHAPE), dtype=np.uint8)


def write_flowers(folder: Path, train_rows: int = TRAIN_ROWS) -> tuple[Path, Path]:
    """Write the small stand-in for the bundled dataset; return (train, test) paths."""
    folder.mkdir(parents=True, exist_ok=True)
    train_labels, train_images = flower_images(train_rows, seed=1)
    test_labels, test_images = flower_images(TEST_ROWS, seed=2)
    test_images[LEAKED_TEST_ROW] = train_images[LEAKED_FROM_TRAIN_ROW]
    return (
        write_csv(folder / "flowers_train.csv", train_labels, train_images),
        write_csv(folder / "flowers_test.csv", test_labels, test_images),
    )


def write_non_square(path: Path, rows: int = 6) -> Path:
    """A CSV of 2x3 grayscale images (6 values a line): its shape must be given explicitly."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (rows, 2, 3, 1), dtype=np.uint8)
    return write_csv(path, [str(i % 2) for i in range(rows)], images)


APP = str(Path(__file__).resolve().parent.parent / "app.py")


def app_test(page: str | None = None, timeout: float = 60) -> AppTest:
    """The dashboard under AppTest, not yet run, on ``page`` (e.g. ``"pages/1_Data.py"``; None
    is Home). Set session state or query parameters on it, then call ``run()``."""
    app = AppTest.from_file(APP, default_timeout=timeout)
    if page is not None:
        app.switch_page(page)
    return app
