"""Declared training settings."""

from __future__ import annotations

import pytest

from flowerdash.errors import ConfigError
from flowerdash.settings import TRAIN_PARAMS, TrainSettings, param


def test_defaults_are_the_tutorials():
    settings = TrainSettings()
    assert (settings.epochs, settings.batch_size, settings.optimizer) == (75, 32, "sgd")
    assert settings.learning_rate == 0.01


def test_every_declared_setting_has_a_matching_field_and_default():
    settings = TrainSettings()
    for spec in TRAIN_PARAMS:
        assert getattr(settings, spec.name) == spec.default


def test_settings_round_trip_through_a_dict():
    settings = TrainSettings(mode="manual", epochs=3, optimizer="adam", learning_rate=0.001)
    assert TrainSettings.from_dict(settings.to_dict()) == settings


def test_missing_names_take_the_default():
    assert TrainSettings.from_dict({"epochs": 2}) == TrainSettings(epochs=2)


def test_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="mode"):
        TrainSettings(mode="generator")


def test_fractional_epochs_are_a_config_error():
    with pytest.raises(ConfigError, match="epochs"):
        TrainSettings.from_dict({"epochs": 2.5})


def test_cli_flag_is_the_name_with_dashes():
    assert param(TRAIN_PARAMS, "batch_size").cli_flag == "--batch-size"
