"""Training the pretrained EfficientNet-Lite0: two phases in one run, resumable, and a saved
model that needs neither the weights package nor custom code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from train_fixtures import write_image_csv

from flowerdash import run_records, runs
from flowerdash.augment import AugmentSettings
from flowerdash.models import ModelOptions, build_model
from flowerdash.pretrained import efficientnet_lite
from flowerdash.pretrained.transfer import model_card, set_trainable_blocks
from flowerdash.recipes import DataProfile, resolve_recipe
from flowerdash.settings import TrainSettings
from flowerdash.train import TrainJob, resume_training, train_new
from flowerdash.train.phases import training_phases

keras = pytest.importorskip("keras")

CLASSES = ["cat", "dog", "fox"]
SMALL = {
    "input_size": 32,
    "batch_size": 8,
    "optimizer": "adam",
    "learning_rate": 0.01,
    "schedule": "constant",
}
TINY = ModelOptions(input_size=32)


@pytest.fixture
def pair(tmp_path):
    train = write_image_csv(tmp_path / "train.csv", CLASSES * 6, seed=1)
    test = write_image_csv(tmp_path / "test.csv", CLASSES * 3, seed=2)
    return train, test


def _job(pair, **settings) -> TrainJob:
    values = {"model": "efficientnet_lite0", **SMALL, **settings}
    return TrainJob(pair[0], pair[1], TrainSettings.from_dict(values), AugmentSettings())


def test_phases_split_the_epochs_and_lower_the_rate():
    head, tune = training_phases(
        10, 0.01, pretrained=True, frozen_epochs=3, fine_tune_blocks=5, fine_tune_rate=0.1
    )
    assert (head.start, head.end, head.trainable_blocks, head.learning_rate) == (0, 3, 0, 0.01)
    assert (tune.start, tune.end, tune.trainable_blocks) == (3, 10, 5)
    assert tune.learning_rate == pytest.approx(0.001)
    [whole] = training_phases(10, 0.01, pretrained=False, frozen_epochs=3)
    assert (whole.start, whole.end, whole.trainable_blocks) == (0, 10, None)


def test_grayscale_images_are_resized_and_repeated_to_rgb_inside_the_model():
    model = build_model("efficientnet_lite0", (28, 28, 1), 4, options=TINY)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 4)
    assert model.get_layer("resize").output.shape[1:] == (32, 32, 1)
    assert model.get_layer("gray_to_rgb").output.shape[-1] == 3
    stem = model.get_layer("backbone").get_layer("_conv_stem").get_weights()[0]
    efficientnet_lite.converted_weights()  # cached by the build above
    np.testing.assert_array_equal(stem, efficientnet_lite.converted_weights()["_conv_stem.weight"])


def test_head_phase_trains_only_the_classifier_and_keeps_batchnorm_frozen():
    model = build_model("efficientnet_lite0", (16, 16, 3), 3, options=TINY)
    set_trainable_blocks(model, 0)
    assert [w.path for w in model.trainable_weights] == [
        "probabilities/kernel",
        "probabilities/bias",
    ]
    tuned = set_trainable_blocks(model, 2)
    backbone = model.get_layer("backbone")
    assert tuned > 0
    assert backbone.get_layer("_blocks.15._project_conv").trainable
    assert backbone.get_layer("_conv_head").trainable
    assert not backbone.get_layer("_blocks.13._project_conv").trainable
    assert not backbone.get_layer("_blocks.15._bn1").trainable


@pytest.mark.slow
def test_a_run_stopped_in_the_head_phase_resumes_into_fine_tuning_with_one_history(
    pair, tmp_path, monkeypatch
):
    folder = run_records.reserve_run_dir(tmp_path / "runs", "r")  # as a launcher makes it
    monkeypatch.setenv(run_records.RESERVED_ENV, run_records.run_token(folder))
    (folder / runs.STOP).touch()  # made after this process started: it stands
    run = train_new(_job(pair, epochs=1, frozen_epochs=1), tmp_path / "runs", "r", verbose=0)
    assert runs.read_status(run).state == "stopped"
    (run / runs.STOP).unlink()  # a resumed process would find it stale and remove it
    resume_training(run, epochs=3, verbose=0)

    assert runs.read_status(run).state == "finished"
    history = pd.read_csv(run / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2]
    assert history["learning_rate"].tolist() == pytest.approx([0.01, 0.001, 0.001])
    epochs = [r["epoch"] for r in runs.read_progress(run, 0)[0] if r["kind"] == "epoch"]
    assert epochs == [1, 2, 3]
    log = (run / "train.log").read_text()
    assert "fine-tune phase from epoch 2" in log
    assert "Skipping variable loading" not in log

    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_PACKAGE", "no_such_weights_package")
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    probabilities = model.predict(np.full((2, 12, 12, 3), 200.0), verbose=0)
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_model_card_names_origin_licence_size_cost_and_privacy():
    card = "\n".join(model_card(128, 5))
    assert "ImageNet" in card and "Apache-2.0" in card
    assert "3.41 M in the backbone" in card and "6,405 in the new classifier" in card
    assert "125 M multiply-accumulates at 128x128" in card
    assert "never leaves this machine" in card


def test_transfer_recipe_trains_the_pretrained_model_in_two_phases_and_auto_picks_it():
    photos = DataProfile((64, 64, 3), 375, 5)
    resolved = resolve_recipe("transfer", photos)
    settings = resolved.settings
    assert (settings.model, settings.input_size) == ("efficientnet_lite0", 224)
    # About 6,000 images seen: 16 epochs of 375 photos, 5 (the least) of 2,250.
    assert (settings.frozen_epochs, settings.fine_tune_blocks, settings.epochs) == (2, 5, 16)
    assert resolve_recipe("transfer", DataProfile((64, 64, 3), 2_250, 5)).settings.epochs == 5
    # Each phase has its own warmup and cosine; fine-tuning peaks well below the new head.
    assert settings.schedule == "warmup_cosine" and settings.fine_tune_rate < 0.1
    fine_tune_rate = settings.learning_rate * settings.fine_tune_rate
    assert f"fine-tuned at peak lr {fine_tune_rate:g}" in resolved.explanation
    assert resolved.augment_preset == "photos" and settings.flip_tta
    assert "pretrained on ImageNet" in resolved.explanation
    assert resolve_recipe("transfer", photos, train={"epochs": 4}).settings.epochs == 4
    assert resolve_recipe("auto", photos).name == "transfer"
