"""The Train page (AppTest): the generated form, refusing a second Start, the live run view."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import plotly.io
import pytest
from run_fixtures import write_finished_run
from streamlit.testing.v1 import AppTest
from ui_fixtures import app_test

from flowerdash import launcher, runs
from flowerdash.files import write_json_atomic
from flowerdash.models import MODELS, PRETRAINED_SETTINGS, RESNET_SETTINGS, setting_applies
from flowerdash.settings import MODES, TRAIN_PARAMS
from flowerdash.train import TrainJob
from flowerdash.train.options import job_arguments
from ui.training import MODE_LINES

PAGE = "pages/3_Train.py"


@pytest.fixture
def runs_folder() -> Path:
    return Path(os.environ["FLOWERDASH_RUNS_DIR"])


@pytest.fixture
def sleeping_run(tmp_path: Path, runs_folder: Path) -> Iterator[Path]:
    """A run whose process is alive (a stand-in that sleeps); killed at the end."""
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    job = TrainJob(Path("train.csv"), Path("test.csv"))  # the stand-in ignores it
    run_dir = launcher.start_training(job, runs_folder, run_id="live", python=str(fake))
    yield run_dir
    with contextlib.suppress(ProcessLookupError):
        os.killpg(runs.read_status(run_dir).pid, signal.SIGKILL)


def _train_page() -> AppTest:
    return app_test(PAGE).run()


def _append_batches(run_dir: Path, epoch: int, batches: range, total: int = 10) -> None:
    with (run_dir / "progress.jsonl").open("a") as handle:
        for batch in batches:
            record = {"kind": "batch", "epoch": epoch, "batch": batch, "batches": total}
            record.update(loss=1.0 / batch, accuracy=0.1 * batch, time=time.time())
            handle.write(json.dumps(record) + "\n")


def _batch_points(page: AppTest) -> list[float]:
    chart = next(c for c in page.get("plotly_chart") if c.key.startswith("live-chart-"))
    figure = plotly.io.from_json(chart.proto.spec)
    return list(next(t for t in figure.data if t.name == "training (per batch)").x)


def _setting_widgets(page: AppTest) -> set[str]:
    widgets = [*page.selectbox, *page.slider, *page.number_input, *page.toggle]
    return {w.key.removeprefix("train.") for w in widgets if w.key}


@pytest.mark.parametrize("model", list(MODELS))
def test_form_shows_the_declared_settings_the_chosen_model_uses(data_dir, model):
    page = _train_page()
    page.selectbox(key="train.model").select(model).run()
    shown = _setting_widgets(page) & {spec.name for spec in TRAIN_PARAMS}
    switches = {"mix": page.selectbox(key="train.mix").value}
    switches["schedule"] = page.selectbox(key="train.schedule").value
    expected = {
        spec.name
        for spec in TRAIN_PARAMS
        if setting_applies(spec.name, model) and spec.in_effect(switches)
    }
    assert shown == expected
    if model == "minivggnet":
        assert not shown & (RESNET_SETTINGS | PRETRAINED_SETTINGS)
    elif model == "efficientnet_lite0":
        assert shown >= PRETRAINED_SETTINGS and not shown & RESNET_SETTINGS
    else:
        assert shown >= RESNET_SETTINGS and not shown & PRETRAINED_SETTINGS


def test_a_hidden_setting_keeps_its_value_until_its_model_is_chosen_again(data_dir):
    page = _train_page()
    page.selectbox(key="train.model").select("resnet20").run()
    page.slider(key="train.width").set_value(0.5).run()
    page.selectbox(key="train.model").select("efficientnet_lite0").run()
    page.selectbox(key="train.model").select("resnet20").run()
    assert page.slider(key="train.width").value == 0.5


def test_mixing_alpha_and_warmup_are_shown_only_where_they_change_the_run(data_dir):
    page = _train_page()
    page.selectbox(key="train.mix").select("none").run()
    page.selectbox(key="train.schedule").select("constant").run()
    assert not _setting_widgets(page) & {"mix_alpha", "warmup"}
    page.selectbox(key="train.mix").select("cutmix").run()
    page.selectbox(key="train.schedule").select("warmup_cosine").run()
    assert _setting_widgets(page) >= {"mix_alpha", "warmup"}
    page.slider(key="train.mix_alpha").set_value(1.0).run()
    # Hidden again, then back: the value set is kept, as for another model's settings.
    page.selectbox(key="train.mix").select("none").run()
    assert "mix_alpha" not in _setting_widgets(page)
    page.selectbox(key="train.mix").select("mixup").run()
    assert page.slider(key="train.mix_alpha").value == 1.0


def test_every_declared_training_mode_has_its_one_line():
    assert set(MODE_LINES) == set(MODES)


def test_mode_line_follows_the_chosen_mode(data_dir):
    page = _train_page()
    page.selectbox(key="train.mode").select("manual").run()
    assert any("train_on_batch" in caption.value for caption in page.caption)


def test_choosing_the_pretrained_model_shows_its_card(data_dir):
    page = _train_page()
    assert not [m for m in page.markdown if "Model card" in m.value]
    page.selectbox(key="train.model").select("efficientnet_lite0").run()
    [card] = [m.value for m in page.markdown if "Model card" in m.value]
    assert "Pretrained on ImageNet" in card and "Apache-2.0" in card
    assert "Parameters:" in card and "multiply-accumulates" in card
    assert "never leaves this machine" in card


def run_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if runs.is_run_dir(p)]


def test_second_start_while_one_runs_is_refused_and_names_it(data_dir, sleeping_run):
    page = _train_page()
    page.button(key="train.start").click().run()
    assert any("live" in w.value and "still training" in w.value for w in page.warning)
    assert [p.name for p in run_folders(sleeping_run.parent)] == ["live"]


def _badge_text(page: AppTest) -> str:
    return " ".join(m.value for m in page.markdown if "-badge[" in m.value)


def test_launched_run_shows_starting_at_once(data_dir, sleeping_run):
    assert "starting" in _badge_text(_train_page())


def test_active_run_shows_its_batch_points_as_they_arrive(data_dir, sleeping_run):
    page = _train_page()
    _append_batches(sleeping_run, 1, range(1, 4))
    page.run()
    assert _batch_points(page) == pytest.approx([0.1, 0.2, 0.3])
    _append_batches(sleeping_run, 1, range(4, 6))
    page.run()
    assert _batch_points(page) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def _mark_running(run_dir: Path) -> None:
    status = json.loads((run_dir / "status.json").read_text())
    write_json_atomic(run_dir / "status.json", {**status, "state": "running"})


def test_starting_run_offers_stop_which_writes_the_stop_request(data_dir, sleeping_run):
    page = _train_page()
    assert "starting" in _badge_text(page)
    page.button(key="stop-live").click().run()
    assert runs.stop_requested(sleeping_run)


def test_running_run_offers_stop_which_writes_the_stop_request(data_dir, sleeping_run):
    _mark_running(sleeping_run)
    page = _train_page()
    page.button(key="stop-live").click().run()
    assert runs.stop_requested(sleeping_run)


def test_killed_run_shows_interrupted_with_resume(data_dir, sleeping_run):
    os.killpg(runs.read_status(sleeping_run).pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while runs.read_status(sleeping_run).state != "interrupted" and time.monotonic() < deadline:
        time.sleep(0.05)
    page = _train_page()
    assert "interrupted" in _badge_text(page)
    assert any("gone without finishing" in w.value for w in page.warning)
    assert page.button(key="resume-live")


def test_finished_run_shows_its_epochs_and_links_the_results(data_dir, runs_folder):
    write_finished_run(runs_folder)
    page = _train_page()
    assert page.dataframe[0].value["epoch"].tolist() == [1, 2]
    assert "finished" in _badge_text(page)
    assert "Results" in [link.proto.page for link in page.get("page_link")]


def _set_settings(page: AppTest, epochs: int) -> None:
    """The tutorial recipe (it starts fastest: these tests watch a run, not a model), then
    ``epochs`` epochs of batch 8 in memory."""
    page.selectbox(key="train.recipe").select("tutorial").run()
    page.number_input(key="train.epochs").set_value(epochs)
    page.number_input(key="train.batch_size").set_value(8)
    page.selectbox(key="train.mode").select("memory")
    page.run()


def _run_until(page: AppTest, states: set[str], timeout: float = 240.0) -> str:
    """Re-run the page (AppTest fires no fragment timers) until the run reaches a state."""
    folder = Path(os.environ["FLOWERDASH_RUNS_DIR"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.run()
        state = runs.list_runs(folder)[0].state
        if state in states:
            page.run()  # the page as it looks in that state
            return state
        time.sleep(0.5)
    raise AssertionError(f"no run reached {states} in {timeout} s")


@pytest.mark.slow
def test_one_epoch_run_started_here_finishes_and_results_show_table_and_heatmap(data_dir):
    page = _train_page()
    _set_settings(page, epochs=1)
    page.button(key="train.start").click().run()
    assert _run_until(page, {"finished", "failed"}) == "finished"
    assert "finished" in _badge_text(page)
    page.switch_page("pages/4_Results.py").run()
    assert page.dataframe[0].value["class"].tolist() == ["daisy", "rose", "tulip"]
    assert any(c.key.startswith("results.confusion.") for c in page.get("plotly_chart"))


@pytest.mark.slow
def test_stop_on_a_long_run_ends_stopped_and_resume_trains_on_to_the_new_total(data_dir):
    page = _train_page()
    _set_settings(page, epochs=1000)
    page.button(key="train.start").click().run()
    assert _run_until(page, {"running"}) == "running"
    run_dir = launcher.active_run(Path(os.environ["FLOWERDASH_RUNS_DIR"]))
    page.button(key=f"stop-{run_dir.name}").click().run()
    assert _run_until(page, {"stopped", "finished", "failed"}) == "stopped"
    assert "stopped" in _badge_text(page)
    done = int(runs.read_status(run_dir).epoch)
    page.number_input(key=f"resume-epochs-{run_dir.name}").set_value(done + 1)
    page.button(key=f"resume-{run_dir.name}").click().run()
    assert _run_until(page, {"finished", "failed"}) == "finished"
    assert runs.read_history(run_dir).epochs == done + 1


def _recorded_config(runs_folder: Path, timeout: float = 120.0) -> runs.RunConfig:
    """The ``config.json`` of the one run under ``runs_folder``, once its trainer wrote it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (run_dir,) = run_folders(runs_folder)
        if (run_dir / runs.CONFIG).exists():
            return runs.read_config(run_dir)
        status = runs.read_status(run_dir)
        assert status.state in runs.ACTIVE_STATES, status
        time.sleep(0.2)
    raise AssertionError(f"no config.json in {runs_folder} after {timeout} s")


@pytest.mark.slow
def test_start_trains_the_settings_changed_in_the_same_interaction_as_the_click(
    data_dir, runs_folder
):
    # Typed into the boxes and clicked at once: the changes reach the server with the click.
    page = _train_page()
    page.number_input(key="train.epochs").set_value(3)
    page.number_input(key="train.batch_size").set_value(8)
    page.selectbox(key="train.mode").select("memory")
    page.button(key="train.start").click().run()
    settings = _recorded_config(runs_folder).settings
    assert (settings.epochs, settings.batch_size, settings.mode) == (3, 8, "memory")


@pytest.mark.slow
def test_start_trains_the_augmentation_changed_as_the_user_left_its_page(data_dir, runs_folder):
    page = app_test("pages/2_Augmentation.py").run()
    # Moved and left the page at once: the change reaches the server with the page switch.
    page.slider(key="augment.rotation").set_value(7.0)
    page.switch_page(PAGE).run()
    assert any("rotation ±7°" in caption.value for caption in page.caption)
    page.button(key="train.start").click().run()
    assert _recorded_config(runs_folder).augment.rotation == 7.0


def test_resume_trains_up_to_the_epoch_typed_with_the_click(data_dir, runs_folder, monkeypatch):
    run_dir = write_finished_run(runs_folder, epochs=2)
    status = json.loads((run_dir / "status.json").read_text())
    write_json_atomic(run_dir / "status.json", {**status, "state": "stopped"})
    asked: list[tuple[str, int | None]] = []

    def resume(folder: Path, epochs: int | None = None) -> Path:
        asked.append((folder.name, epochs))
        return folder

    monkeypatch.setattr(launcher, "resume_training", resume)
    page = _train_page()
    page.number_input(key=f"resume-epochs-{run_dir.name}").set_value(5)
    page.button(key=f"resume-{run_dir.name}").click().run()
    assert asked == [(run_dir.name, 5)]


def test_failed_run_shows_its_error(data_dir, runs_folder):
    run_dir = runs_folder / "broken"
    run_dir.mkdir(parents=True)
    write_json_atomic(
        run_dir / "status.json",
        {"state": "failed", "pid": None, "error": "data.csv, line 3: expected 192 values"},
    )
    page = _train_page()
    assert "failed" in _badge_text(page)
    assert "data.csv, line 3: expected 192 values" in page.error[0].value


def test_settings_set_here_survive_a_visit_to_the_augmentation_page(data_dir):
    page = _train_page()
    page.number_input(key="train.epochs").set_value(3)
    page.number_input(key="train.learning_rate").set_value(0.002)
    page.selectbox(key="train.mode").select("manual")
    page.selectbox(key="train.distribute").select("devices").run()
    page.switch_page("pages/2_Augmentation.py").run()
    page.switch_page(PAGE).run()
    assert page.selectbox(key="train.distribute").value == "devices"
    assert page.number_input(key="train.epochs").value == 3
    assert page.number_input(key="train.learning_rate").value == pytest.approx(0.002)
    assert page.selectbox(key="train.mode").value == "manual"


def test_learning_rate_is_typed_so_small_rates_can_be_set(data_dir):
    page = _train_page()
    page.number_input(key="train.learning_rate").set_value(0.001).run()
    assert page.number_input(key="train.learning_rate").value == pytest.approx(0.001)


def test_loss_can_be_shown_on_a_log_scale(data_dir, runs_folder):
    write_finished_run(runs_folder)
    page = _train_page()
    page.toggle(key="flowerdash.log_loss").set_value(True).run()
    chart = next(c for c in page.get("plotly_chart") if c.key.startswith("live-chart-"))
    assert plotly.io.from_json(chart.proto.spec).layout.yaxis.type == "log"


def test_every_device_choice_starts_a_devices_run(data_dir, runs_folder, monkeypatch):
    started: list[TrainJob] = []

    def start(job: TrainJob, folder: Path) -> Path:
        started.append(job)
        return write_finished_run(folder, run_id="devices-run")

    monkeypatch.setattr(launcher, "start_training", start)
    page = _train_page()
    page.selectbox(key="train.distribute").select("devices")
    page.button(key="train.start").click().run()
    assert started and started[0].distribute.mode == "devices"
    assert job_arguments(started[0])[-2:] == ["--distribute", "devices"]


def test_a_distributed_run_says_its_devices_and_processes(data_dir, runs_folder):
    run_dir = write_finished_run(runs_folder)
    config = json.loads((run_dir / "config.json").read_text())
    config["distribute"] = {"mode": "processes", "devices": 4, "processes": 2}
    (run_dir / "config.json").write_text(json.dumps(config))
    page = _train_page()
    assert any("4 device(s) in 2 process(es)" in caption.value for caption in page.caption)
