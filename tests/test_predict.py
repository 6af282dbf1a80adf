"""Reading images for prediction and ranking classes (no model needed)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from flowerdash.errors import DatasetError
from flowerdash.predict import read_image, top_k


def _png(size=(30, 20), colour=(200, 40, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_read_image_resizes_to_the_model_shape(tmp_path):
    (tmp_path / "a.png").write_bytes(_png())
    image = read_image(tmp_path / "a.png", (16, 12, 3))
    assert image.shape == (16, 12, 3) and image.dtype == np.uint8
    assert tuple(image[8, 6]) == (200, 40, 10)


def test_read_image_converts_to_grayscale_for_one_channel_models(tmp_path):
    (tmp_path / "a.png").write_bytes(_png())
    assert read_image(tmp_path / "a.png", (28, 28, 1)).shape == (28, 28, 1)


def test_read_image_accepts_an_open_upload():
    upload = io.BytesIO(_png())
    upload.name = "upload.png"
    assert read_image(upload, (8, 8, 3)).shape == (8, 8, 3)


def test_a_file_that_is_not_an_image_is_a_dataset_error_naming_it(tmp_path):
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(DatasetError, match=r"notes\.png"):
        read_image(tmp_path / "notes.png", (8, 8, 3))


def test_top_k_orders_classes_by_probability():
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    assert top_k(probabilities, ["a", "b", "c"], 2) == [
        [("b", 0.7), ("c", 0.2)],
        [("a", 0.5), ("c", 0.3)],
    ]


def test_top_k_is_capped_at_the_class_count():
    assert len(top_k(np.array([[0.4, 0.6]]), ["a", "b"], 5)[0]) == 2
