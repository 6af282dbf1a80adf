"""Augmentation page (AppTest): generated widgets, previews that follow them, settings kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_fixtures import app_test, write_flowers

from flowerdash.augment import AUGMENT_PARAMS, AugmentSettings
from ui.state import AUGMENT_KEY, DATASET_KEY, DatasetChoice

# The first run imports Keras (about 6 s, more on a busy machine).
TIMEOUT = 120


def augmentation_page() -> AppTest:
    return app_test("pages/2_Augmentation.py", TIMEOUT).run()


def image_urls(app: AppTest) -> list[str]:
    """The media URLs of every image on the page (they change when the pixels change)."""
    return [url for element in app.get("image") for url in element.value]


def test_page_renders_original_variants_and_batch(data_dir: Path) -> None:
    app = augmentation_page()
    assert not app.exception
    assert not app.error
    # The original, the grid of variants, the training batch.
    assert len(app.get("image")) == 3


def test_one_widget_per_declared_parameter_with_its_default(data_dir: Path) -> None:
    app = augmentation_page()
    widget_lists = {"float": app.slider, "int": app.slider, "bool": app.toggle}
    widget_lists["choice"] = app.selectbox
    for spec in AUGMENT_PARAMS:
        widget = widget_lists[spec.kind](key=f"augment.{spec.name}")
        assert widget.value == spec.default, spec.name
        assert spec.label in widget.label


def test_moving_a_slider_changes_the_preview(data_dir: Path) -> None:
    app = augmentation_page()
    before = image_urls(app)
    app.slider(key="augment.rotation").set_value(90.0).run()
    after = image_urls(app)
    assert after[0] == before[0]  # the original is unchanged
    assert after[1] != before[1]  # the variants follow the slider
    assert after[2] != before[2]  # and so does the batch


def test_same_seed_gives_the_same_preview(data_dir: Path) -> None:
    app = augmentation_page()
    before = image_urls(app)
    app.run()
    assert image_urls(app) == before


def test_changing_the_seed_changes_the_variants(data_dir: Path) -> None:
    app = augmentation_page()
    before = image_urls(app)
    app.number_input(key="augment.seed").set_value(7).run()
    assert image_urls(app)[1] != before[1]


def test_chosen_settings_are_kept_for_the_train_page(data_dir: Path) -> None:
    app = augmentation_page()
    app.slider(key="augment.zoom").set_value(0.3).run()
    app.toggle(key="augment.horizontal_flip").set_value(False).run()
    kept = app.session_state[AUGMENT_KEY]
    assert kept == AugmentSettings(zoom=0.3, horizontal_flip=False)


def test_reset_puts_the_tutorial_defaults_back(data_dir: Path) -> None:
    app = augmentation_page()
    app.slider(key="augment.rotation").set_value(90.0).run()
    next(button for button in app.button if "Reset" in button.label).click().run()
    assert app.slider(key="augment.rotation").value == 20.0
    assert app.session_state[AUGMENT_KEY] == AugmentSettings()


def test_variant_count_sets_the_number_of_variants(data_dir: Path) -> None:
    app = augmentation_page()
    app.select_slider(key="augment.count").set_value(4).run()
    caption = app.get("image")[1].captions[0]
    assert caption.startswith("4 variants")


def test_grayscale_real_dataset_previews(data_dir: Path, real_csv_dir: Path) -> None:
    app = app_test("pages/2_Augmentation.py", TIMEOUT)
    train = real_csv_dir / "myonn_mnist_dataset" / "mnist_train_100.csv"
    app.session_state[DATASET_KEY] = DatasetChoice(train, None, None, "MNIST 100")
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.get("image")) == 3
    assert app.selectbox(key="augment.class").options == [str(digit) for digit in range(10)]


def batch_caption(app: AppTest) -> str:
    return next(item.value for item in app.caption if item.value.startswith("Classes in this"))


def test_batch_is_a_batch_of_the_first_training_epoch(data_dir: Path) -> None:
    from ui_fixtures import CLASSES, TRAIN_ROWS

    from flowerdash.data.batches import ImageBatches
    from flowerdash.settings import TrainSettings

    app = augmentation_page()
    app.number_input(key="augment.batch").set_value(1).run()
    training = TrainSettings()
    expected = ImageBatches(
        np.zeros((TRAIN_ROWS, 1)), None, training.batch_size, shuffle=True, seed=training.seed
    ).rows(0)
    labels = [CLASSES[row % len(CLASSES)] for row in expected]
    counts = ", ".join(f"{name} x{labels.count(name)}" for name in CLASSES if name in labels)
    assert batch_caption(app) == f"Classes in this batch: {counts}"


def test_choosing_another_batch_number_changes_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_flowers(tmp_path / "data", train_rows=70)  # three batches of 32, 32 and 6
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(tmp_path / "data"))
    app = augmentation_page()
    assert app.number_input(key="augment.batch").label == "Batch (1-3)"
    before = image_urls(app)[2]
    app.number_input(key="augment.batch").set_value(2).run()
    assert image_urls(app)[2] != before
