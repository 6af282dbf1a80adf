"""Augmentation page (AppTest): generated widgets, previews that follow them, settings kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_fixtures import write_flowers

from flowerdash.augment import AUGMENT_PARAMS, AugmentSettings
from ui.state import AUGMENT_KEY, DATASET_KEY, DatasetChoice

REPO_ROOT = Path(__file__).resolve().parent.parent
# The first run imports Keras (about 6 s, more on a busy machine).
TIMEOUT = 120


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    write_flowers(folder)
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(folder))
    return folder


def augmentation_page() -> AppTest:
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=TIMEOUT)
    app.switch_page("pages/2_Augmentation.py")
    return app.run()


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
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=TIMEOUT)
    train = real_csv_dir / "myonn_mnist_dataset" / "mnist_train_100.csv"
    app.session_state[DATASET_KEY] = DatasetChoice(train, None, None, "MNIST 100")
    app.switch_page("pages/2_Augmentation.py")
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.get("image")) == 3
    assert app.selectbox(key="augment.class").options == [str(digit) for digit in range(10)]
