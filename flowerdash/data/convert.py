"""Image folder -> train and test CSVs in the product's format (the step the tutorial did by hand).

``IMAGE_DIR/<class>/<image>`` becomes lines ``<class>,<H*W*C pixel values>`` (no header, label
first, LF line endings, RGB, row-major HWC). Each image is centre-cropped to a square and
resized with Lanczos filtering. The split is stratified (each class is split on its own, so
class proportions match) and shuffled, deterministic for a seed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flowerdash.errors import ConfigError, DatasetError


@dataclass
class ConvertResult:
    """What ``convert_image_folder`` wrote and what it skipped (``(path, reason)`` pairs)."""

    train_path: Path
    test_path: Path
    train_rows: int
    test_rows: int
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def load_square_image(path: str | os.PathLike[str], size: int) -> np.ndarray:
    """Return ``path`` as uint8 RGB ``(size, size, 3)``: centre-cropped square, Lanczos-resized.

    Raises ``OSError`` or ``ValueError`` (from Pillow) for files it cannot decode.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image) or image
        image = image.convert("RGB")
        side = min(image.size)
        left = (image.width - side) // 2
        top = (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image = image.resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.uint8)


def stratified_split(
    labels: list[str], test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(train_indices, test_indices)``, each shuffled; every class is split on its own.

    A class gets ``round(n * test_fraction)`` test rows, at least one when it has two or more
    rows, and always keeps one training row. Written here rather than with scikit-learn's
    ``train_test_split(stratify=...)``, which refuses classes of one image and small test sets.
    """
    rng = np.random.default_rng(seed)
    label_array = np.asarray(labels)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for name in sorted(set(labels)):
        members = rng.permutation(np.flatnonzero(label_array == name))
        count = round(len(members) * test_fraction)
        count = min(max(count, 1), len(members) - 1) if len(members) >= 2 else 0
        test.append(members[:count])
        train.append(members[count:])
    train_indices = rng.permutation(np.concatenate(train)) if train else np.zeros(0, int)
    test_indices = rng.permutation(np.concatenate(test)) if test else np.zeros(0, int)
    return train_indices, test_indices


_VALUE_TEXT = [str(value).encode() for value in range(256)]


def format_line(label: str, image: np.ndarray) -> bytes:
    """One CSV line (with ``\\n``) for a label and a uint8 image."""
    text = _VALUE_TEXT
    return label.encode() + b"," + b",".join([text[v] for v in image.reshape(-1).tolist()]) + b"\n"


def convert_image_folder(
    image_dir: str | os.PathLike[str],
    out_prefix: str | os.PathLike[str],
    *,
    size: int = 64,
    test_fraction: float = 0.25,
    seed: int = 42,
) -> ConvertResult:
    """Convert ``image_dir/<class>/*`` to ``<out_prefix>_train.csv`` and ``_test.csv``.

    Unreadable files are skipped and listed in the result. Raises ``DatasetError`` when the
    folder has no class subfolders or no readable image, ``ConfigError`` for bad settings.
    """
    if size < 1:
        raise ConfigError(f"size must be a positive number of pixels, got {size}")
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    root = Path(image_dir)
    if not root.is_dir():
        raise DatasetError("is not a folder; expected one subfolder of images per class", path=root)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(
            "has no subfolders; expected one subfolder of images per class (its name is the label)",
            path=root,
        )
    for folder in class_dirs:
        if "," in folder.name or "\n" in folder.name:
            raise DatasetError(
                "class folder name contains a comma or line break; expected a plain label",
                path=folder,
            )
    images: list[np.ndarray] = []
    labels: list[str] = []
    skipped: list[tuple[str, str]] = []
    for folder in class_dirs:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            if file.name.startswith("."):
                continue
            try:
                images.append(load_square_image(file, size))
            except (OSError, ValueError, SyntaxError) as error:
                skipped.append((str(file), str(error) or type(error).__name__))
                continue
            labels.append(folder.name)
    if not images:
        raise DatasetError("holds no readable image in its class subfolders", path=root)
    train_indices, test_indices = stratified_split(labels, test_fraction, seed)
    prefix = os.fspath(out_prefix)
    train_path = Path(prefix + "_train.csv")
    test_path = Path(prefix + "_test.csv")
    _write_csv(train_path, [(labels[i], images[i]) for i in train_indices])
    _write_csv(test_path, [(labels[i], images[i]) for i in test_indices])
    return ConvertResult(
        train_path=train_path,
        test_path=test_path,
        train_rows=len(train_indices),
        test_rows=len(test_indices),
        classes=sorted(set(labels)),
        skipped=skipped,
    )


def _write_csv(path: Path, rows: list[tuple[str, np.ndarray]]) -> None:
    """Write the lines under a temporary name, then rename: no half-written CSV is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for label, image in rows:
                handle.write(format_line(label, image))
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
