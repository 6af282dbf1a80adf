"""Data page (AppTest): choosing the dataset and what the page shows about it."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_fixtures import (
    LEAKED_FROM_TRAIN_ROW,
    LEAKED_TEST_ROW,
    TEST_ROWS,
    TRAIN_ROWS,
    app_test,
    write_non_square,
)

from ui.state import DATASET_KEY, DatasetChoice

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30


def data_page() -> AppTest:
    return app_test("pages/1_Data.py", TIMEOUT).run()


def metric(app: AppTest, label: str) -> str:
    return next(item.value for item in app.metric if item.label == label)


def chosen(app: AppTest) -> DatasetChoice | None:
    return app.session_state.get(DATASET_KEY)


def upload(app: AppTest, index: int, path: Path) -> None:
    app.file_uploader[index].set_value((path.name, path.read_bytes(), "text/csv"))


def test_bundled_dataset_loads_on_first_visit(data_dir: Path) -> None:
    app = data_page()
    assert not app.exception
    assert not app.error
    assert metric(app, "Training images") == str(TRAIN_ROWS)
    assert metric(app, "Test images") == str(TEST_ROWS)
    assert metric(app, "Image shape") == "8x8x3"
    assert metric(app, "Classes") == "3"


def test_class_counts_chart_and_sample_images_are_shown(data_dir: Path) -> None:
    app = data_page()
    assert len(app.get("plotly_chart")) == 1
    # One image grid per class (the leak check's grid has a caption, they have none).
    sample_grids = [image for image in app.get("image") if image.captions == [""]]
    assert len(sample_grids) == 3


def test_leak_check_counts_the_copied_test_row(data_dir: Path) -> None:
    app = data_page()
    warnings = [item.value for item in app.warning]
    assert any("1 of the 9 test images" in text for text in warnings)
    pair = f"({LEAKED_TEST_ROW + 1}, {LEAKED_FROM_TRAIN_ROW + 1})"
    assert any(pair in item.value for item in app.markdown)
    assert any(image.captions == ["those test images"] for image in app.get("image"))


def test_missing_bundled_dataset_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWERDASH_DATA_DIR", str(tmp_path / "empty"))
    app = data_page()
    assert not app.exception
    assert "no such file" in app.error[0].value
    assert any("make data" in item.value for item in app.info)


def test_upload_of_a_real_csv_becomes_the_dataset(data_dir: Path, real_csv_dir: Path) -> None:
    app = data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    upload(app, 0, real_csv_dir / "myonn_mnist_dataset" / "mnist_train_100.csv")
    upload(app, 1, real_csv_dir / "myonn_mnist_dataset" / "mnist_test_10.csv")
    app.run()
    app.button[0].click().run()
    assert not app.exception
    assert not app.error
    choice = chosen(app)
    assert choice is not None and choice.train_path.name == "mnist_train_100.csv"
    assert metric(app, "Training images") == "100"
    assert metric(app, "Image shape") == "28x28x1"
    assert "Now using" in app.success[0].value


def test_gzipped_upload_is_read(data_dir: Path, real_csv_dir: Path, tmp_path: Path) -> None:
    source = real_csv_dir / "myonn_mnist_dataset" / "mnist_test_10.csv"
    packed = tmp_path / "mnist_test_10.csv.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    app = data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    upload(app, 0, packed)
    app.run()
    app.button[0].click().run()
    assert not app.error
    assert metric(app, "Training images") == "10"


def test_upload_is_stored_in_the_uploads_folder(data_dir: Path, real_csv_dir: Path) -> None:
    app = data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    upload(app, 0, real_csv_dir / "sign_mnist_subset_noheader" / "sign_mnist_train.csv")
    app.run()
    app.button[0].click().run()
    choice = chosen(app)
    assert choice is not None
    assert choice.train_path.is_relative_to(Path(os.environ["FLOWERDASH_UPLOADS_DIR"]))


def test_malformed_upload_shows_its_message_and_keeps_the_dataset(
    data_dir: Path, real_csv_dir: Path
) -> None:
    app = data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    upload(app, 0, real_csv_dir / "negative_lfs_pointer" / "sign_mnist_test.csv")
    app.run()
    app.button[0].click().run()
    assert not app.exception
    assert "LFS" in app.error[0].value
    # Named as the user uploaded it, not by its hashed storage path.
    assert app.error[0].value.startswith("sign_mnist_test.csv (uploaded): ")
    assert chosen(app) is None  # still the bundled dataset
    assert metric(app, "Training images") == str(TRAIN_ROWS)


def type_paths(app: AppTest, train: str, test: str = "", shape: str = "") -> AppTest:
    app.radio(key="data.source").set_value("A file inside data/").run()
    app.text_input(key="data.path_train").input(train)
    app.text_input(key="data.path_test").input(test)
    app.text_input(key="data.path_shape").input(shape)
    app.button[0].click()
    return app.run()


def test_path_outside_the_data_folder_is_refused(data_dir: Path) -> None:
    outside = data_dir.parent / "elsewhere.csv"
    outside.write_text((data_dir / "flowers_test.csv").read_text())
    app = type_paths(data_page(), str(outside))
    assert "outside the data folder" in app.error[0].value
    assert chosen(app) is None


def test_path_with_dot_dot_is_refused(data_dir: Path) -> None:
    app = type_paths(data_page(), "../elsewhere.csv")
    assert "'..' is not allowed" in app.error[0].value


def test_typed_path_inside_the_data_folder_becomes_the_dataset(data_dir: Path) -> None:
    app = type_paths(data_page(), "flowers_test.csv")
    assert not app.error
    assert metric(app, "Training images") == str(TEST_ROWS)
    assert metric(app, "Test images") == "none"


def test_shape_the_file_leaves_open_can_be_set_on_the_page(data_dir: Path) -> None:
    write_non_square(data_dir / "small.csv")
    refused = type_paths(data_page(), "small.csv")
    assert "fit no square image" in refused.error[0].value
    assert any("Image shape" in item.value for item in refused.info)
    app = type_paths(data_page(), "small.csv", shape="2x3x1")
    assert not app.error
    assert metric(app, "Image shape") == "2x3x1"


REAL_FILES = [
    "myonn_mnist_dataset/mnist_train_100.csv",
    "myonn_mnist_dataset/mnist_test_10.csv",
    "fashion_mnist_kaggle_subset_lf/fashion-mnist_train.csv",
    "sign_mnist_subset_noheader/sign_mnist_train.csv",
    "sign_mnist_subset_noheader/sign_mnist_test.csv",
    "da4bam_dataset/MNIST sample 100 28x28 dense.CSV",
    "prasertcbs_basic_dataset/mnist_28x28_2000rows.csv",
]


@pytest.mark.parametrize("name", REAL_FILES)
def test_every_real_csv_uploads_and_shows_its_images(
    name: str, data_dir: Path, real_csv_dir: Path
) -> None:
    app = data_page()
    app.radio(key="data.source").set_value("Upload CSV files").run()
    upload(app, 0, real_csv_dir / name)
    app.run()
    app.button[0].click().run()
    assert not app.exception
    assert not app.error
    assert metric(app, "Image shape") == "28x28x1"
    assert len(app.get("image")) >= 1


NO_KERAS_SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
home = AppTest.from_file(sys.argv[1], default_timeout=60).run()
data = AppTest.from_file(sys.argv[1], default_timeout=60)
data.switch_page("pages/1_Data.py")
data.run()
assert not home.exception and not data.exception, (home.exception, data.exception)
heavy = sorted(name for name in ("keras", "tensorflow") if name in sys.modules)
print("imported:", heavy)
sys.exit(1 if heavy else 0)
"""


def test_home_and_data_pages_never_import_keras_or_tensorflow(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_KERAS_SCRIPT, str(REPO_ROOT / "app.py")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_path_section_lists_the_csv_files_in_the_data_folder(data_dir: Path) -> None:
    app = data_page()
    app.radio(key="data.source").set_value("A file inside data/").run()
    assert app.code[0].value == "flowers_test.csv\nflowers_train.csv"
