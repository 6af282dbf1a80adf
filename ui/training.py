"""The Train page: settings generated from the declared training settings, Start, and the live run.

Training runs in its own process (``flowerdash.launcher``); this page only reads the run
directory. The live view is a fragment re-run about once a second while the run is active: it
reads only what was appended to ``progress.jsonl`` since its last run (a ``LiveProgress`` kept in
the session state per run), so reloads, second tabs and navigation all show the same run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from flowerdash import launcher, runs
from flowerdash.augment import AugmentSettings
from flowerdash.charts.training import live_training_figure
from flowerdash.errors import FlowerdashError
from flowerdash.live_progress import LiveProgress, format_duration, summarize
from flowerdash.models import model_cost, setting_applies
from flowerdash.recipes import (
    DEFAULT_RECIPE,
    RECIPES,
    DataProfile,
    ResolvedRecipe,
    recipe_names,
    resolve_recipe,
)
from flowerdash.settings import TRAIN_PARAMS, ParamSpec, TrainSettings, param
from flowerdash.train.distribute import DistributeOptions
from flowerdash.train.engine import TrainJob
from ui import state
from ui.errors import errors_shown, show_error
from ui.loaders import load_dataset_cached
from ui.lr_finder_panel import lr_finder_panel
from ui.widgets import PERSIST, settings_values, settings_widgets, widget_key, widget_label

REFRESH_SECONDS = 1.0
#: The model whose card the page shows when it is chosen.
PRETRAINED_MODEL = "efficientnet_lite0"
NOTICE_KEY = "flowerdash.train.notice"
SETTINGS_PREFIX = "train"
DEVICES_KEY = "train.distribute"
#: The Train page's choice of devices (``train --distribute``); processes are for the CLI.
DEVICE_CHOICES = {
    "none": "One device",
    "devices": "Every device of this machine",
}
DEVICES_HELP = (
    "Every device: data-parallel on all GPUs of this machine (TensorFlow MirroredStrategy); "
    "the batch size stays the global batch, split between them. On a machine without GPUs "
    "this is one device. Several processes or machines: see docs/scale-out.md."
)
LOG_LINES = 40
RECIPE_KEY = "train.recipe"
#: The (recipe, dataset) whose values the settings widgets were last set to.
RECIPE_APPLIED_KEY = "flowerdash.train.recipe_applied"

#: Badge text, colour and icon of each run state (``queued`` reads "starting" to the user).
STATE_BADGES: dict[str, tuple[str, str, str]] = {
    "queued": ("starting", "blue", ":material/hourglass_top:"),
    "running": ("running", "blue", ":material/play_circle:"),
    "stopping": ("stopping", "orange", ":material/pause_circle:"),
    "finished": ("finished", "green", ":material/check_circle:"),
    "stopped": ("stopped", "gray", ":material/stop_circle:"),
    "failed": ("failed", "red", ":material/error:"),
    "interrupted": ("interrupted", "orange", ":material/warning:"),
}

#: One line on what each training mode means (the declared help has the details).
MODE_LINES: dict[str, str] = {
    "memory": "memory: the whole training set in RAM, Keras fit() on arrays; fastest when it fits.",
    "stream": "stream: fit() on batches read from the memory-mapped cache (a PyDataset); "
    "bounded memory, the modern fit_generator.",
    "manual": "manual: your own loop of train_on_batch() calls, same callbacks and outputs.",
}


def state_badge(state_name: str) -> None:
    """Draw the run state as a coloured badge."""
    text, color, icon = STATE_BADGES.get(state_name, (state_name, "gray", ":material/help:"))
    st.badge(text, icon=icon, color=color)


def live_progress(run_dir: Path) -> LiveProgress:
    """Return this session's ``LiveProgress`` of ``run_dir`` (created on first use)."""
    key = f"flowerdash.train.progress.{run_dir}"
    progress = st.session_state.get(key)
    if not isinstance(progress, LiveProgress):
        progress = st.session_state[key] = LiveProgress(run_dir)
    return progress


def shown_run(runs_folder: Path) -> Path | None:
    """Return the run to show: the active one, else the one last started or chosen here, else
    the newest run under ``runs_folder``."""
    active = launcher.active_run(runs_folder)
    if active is not None:
        return active
    remembered = state.train_run()
    if remembered is not None and (remembered / runs.STATUS).exists():
        return remembered
    if not runs_folder.is_dir():
        return None
    candidates = sorted(
        (d for d in runs_folder.iterdir() if (d / runs.STATUS).exists()), reverse=True
    )
    return candidates[0] if candidates else None


def training_job(
    dataset: state.DatasetChoice,
    values: dict[str, Any],
    augment: dict[str, Any],
    recipe: ResolvedRecipe | None = None,
    devices: str = "none",
) -> TrainJob:
    """Return the job for the chosen data, settings and devices (a ``--distribute`` mode).

    ``augment`` holds the augmentation values set by the user (see
    :func:`augmentation_overrides`). With ``recipe``, only the training values that differ from
    the recipe's count as the user's, so ``config.json`` records what the user changed. Raises
    FlowerdashError without a test set, ConfigError for a setting out of range.
    """
    if dataset.test_path is None:
        raise FlowerdashError(
            f"{dataset.name}: training needs a test set; choose a test CSV on the Data page"
        )
    if recipe is not None and recipe.profile is not None:
        proposed = recipe.settings.to_dict()
        values = {name: value for name, value in values.items() if proposed.get(name) != value}
        resolved = resolve_recipe(recipe.requested, recipe.profile, train=values, augment=augment)
        settings, augmentation, record = resolved.settings, resolved.augment, resolved.to_dict()
    else:
        settings = TrainSettings.from_dict(values)
        augmentation = AugmentSettings.from_dict({**AugmentSettings().to_dict(), **augment})
        record = None
    return TrainJob(
        train_path=dataset.train_path,
        test_path=dataset.test_path,
        settings=settings,
        augment=augmentation,
        shape=dataset.shape,
        recipe=record,
        distribute=DistributeOptions(mode=devices),
    )


def page_recipe(dataset: state.DatasetChoice, name: str) -> ResolvedRecipe:
    """The recipe ``name`` resolved for the chosen training data (read through the cache).

    Raises FlowerdashError for an unreadable file or data no recipe can train.
    """
    loaded = load_dataset_cached(dataset.train_path, dataset.shape)
    return resolve_recipe(name, DataProfile.of(loaded.dataset))


def augmentation_overrides() -> dict[str, Any]:
    """The augmentation values set on the Augmentation page that differ from its defaults:
    they win over the recipe's preset; the others follow the preset."""
    defaults = AugmentSettings().to_dict()
    chosen = state.current_augment_settings().to_dict()
    return {name: value for name, value in chosen.items() if defaults[name] != value}


def apply_recipe_to_widgets(recipe: ResolvedRecipe, marker: str) -> None:
    """Set the settings widgets to the recipe's values once per (recipe, dataset) ``marker``,
    before they are drawn; the user's changes after that stay until either changes."""
    if st.session_state.get(RECIPE_APPLIED_KEY) == marker:
        return
    for spec in TRAIN_PARAMS:
        st.session_state[widget_key(spec, SETTINGS_PREFIX)] = getattr(recipe.settings, spec.name)
    st.session_state[RECIPE_APPLIED_KEY] = marker


def spec_spans_decades(spec: ParamSpec) -> bool:
    """Whether a float setting ranges over several orders of magnitude (a learning rate): a
    slider from 1e-6 to 1 cannot set 0.001, so it gets a number box instead."""
    return (
        spec.kind == "float"
        and bool(spec.minimum)
        and spec.maximum is not None
        and spec.maximum / spec.minimum >= 1000  # type: ignore[operator]
    )


def decades_input(spec: ParamSpec) -> float:
    """Draw a number box for a float setting spanning decades; return its value."""
    key = widget_key(spec, SETTINGS_PREFIX)
    if key not in st.session_state:
        st.session_state[key] = float(spec.default)
    return float(
        st.number_input(
            widget_label(spec),
            min_value=float(spec.minimum),  # type: ignore[arg-type]
            max_value=float(spec.maximum),  # type: ignore[arg-type]
            step=float(spec.step or spec.minimum),  # type: ignore[arg-type]
            format="%g",
            help=f"{spec.help} Default: {spec.default}.",
            key=key,
            persist_state=PERSIST,
        )
    )


def chosen_train_settings() -> dict[str, Any]:
    """Return the training settings as the page's widgets hold them now (the session state)."""
    return settings_values(TRAIN_PARAMS, key_prefix=SETTINGS_PREFIX)


def _start() -> None:
    """Start button callback: launch the training, or leave a notice saying why not.

    Everything it trains on is read here, at the click (the dataset, the widgets' values, the
    augmentation), never bound as arguments at the previous script run: a value typed and
    clicked at once reaches the server with the click, after that run.
    """
    try:
        dataset = state.current_dataset()
        recipe = page_recipe(dataset, st.session_state.get(RECIPE_KEY, DEFAULT_RECIPE))
        job = training_job(
            dataset,
            chosen_train_settings(),
            augmentation_overrides(),
            recipe,
            st.session_state.get(DEVICES_KEY, "none"),
        )
        run_dir = launcher.start_training(job, state.runs_dir())
    except launcher.TrainingAlreadyRunning as error:
        st.session_state[NOTICE_KEY] = (
            f"Not started: run **{error.run_dir.name}** is still training (one training at a "
            "time). Stop it or wait until it finishes; it is shown on the right."
        )
        return
    except FlowerdashError as error:
        st.session_state[NOTICE_KEY] = f"Not started: {error}"
        return
    state.set_train_run(run_dir)
    st.session_state.pop(NOTICE_KEY, None)


def model_card_box(dataset: state.DatasetChoice, values: dict[str, Any]) -> None:
    """The pretrained model's card: origin, licence, parameters, cost, and the data's privacy."""
    from flowerdash.pretrained.transfer import model_card

    try:
        classes = len(load_dataset_cached(dataset.train_path, dataset.shape).dataset.classes)
    except FlowerdashError:
        classes = 2  # the page shows the data error elsewhere; the card needs a class count
    size = int(values.get("input_size", param(TRAIN_PARAMS, "input_size").default))
    with st.container(border=True, key="train.model_card"):
        st.markdown(
            "**Model card: EfficientNet-Lite0**  \n" + "  \n".join(model_card(size, classes))
        )


def settings_panel(runs_folder: Path) -> None:
    """Draw the dataset, the training settings, the augmentation summary and Start."""
    dataset = state.current_dataset()
    augment = state.current_augment_settings()
    st.subheader("Settings")
    test_name = dataset.test_path.name if dataset.test_path else "no test set"
    st.markdown(f"**Data:** {dataset.name}  \n`{dataset.train_path.name}` / `{test_name}`")
    st.page_link("pages/1_Data.py", label="Change the data", icon=":material/table:")
    recipe_name = st.selectbox(
        "Recipe",
        recipe_names(),
        key=RECIPE_KEY,
        persist_state=PERSIST,
        help="Sets every training setting below together (you can still change any). "
        + " ".join(f"{r.name}: {r.summary}." for r in RECIPES.values())
        + " auto: picks a recipe and its values from the data and says why.",
    )
    recipe: ResolvedRecipe | None = None
    with errors_shown():
        recipe = page_recipe(dataset, recipe_name)
    if recipe is not None:
        apply_recipe_to_widgets(recipe, f"{recipe_name}|{dataset.train_path}|{dataset.shape}")
        st.info(recipe.explanation, icon=":material/auto_awesome:")
    by_name = {spec.name: spec for spec in TRAIN_PARAMS}
    first = [by_name["model"], by_name["mode"]]
    values = settings_widgets(first, {}, key_prefix=SETTINGS_PREFIX)
    cost_line = st.empty()
    st.caption(MODE_LINES.get(values["mode"], ""))
    hidden = [s for s in TRAIN_PARAMS if not setting_applies(s.name, values["model"])]
    # Another kind of model's settings are not drawn; they keep their values for the session.
    values |= settings_values(hidden, key_prefix=SETTINGS_PREFIX)
    for spec in TRAIN_PARAMS:
        if spec.name in values:
            continue
        if not spec.in_effect(values):  # e.g. the mixing alpha with mix none: not drawn
            values |= settings_values([spec], key_prefix=SETTINGS_PREFIX)
            continue
        if spec_spans_decades(spec):
            values[spec.name] = decades_input(spec)
        else:
            values |= settings_widgets([spec], {}, key_prefix=SETTINGS_PREFIX)
    lr_finder_panel(
        widget_key(param(TRAIN_PARAMS, "learning_rate"), SETTINGS_PREFIX), chosen_train_settings
    )
    st.selectbox(
        "Devices",
        list(DEVICE_CHOICES),
        format_func=DEVICE_CHOICES.get,
        key=DEVICES_KEY,
        persist_state=PERSIST,
        help=DEVICES_HELP,
    )
    if recipe is not None and recipe.profile is not None:
        with errors_shown():
            profile = recipe.profile
            options = TrainSettings.from_dict(values).model_options
            cost = model_cost(values["model"], profile.shape, max(2, profile.classes), options)
            cost_line.caption(f"{values['model']} on these images: {cost.summary()}.")
    overrides = augmentation_overrides()
    if recipe is not None:
        augment = AugmentSettings.from_dict({**recipe.augment.to_dict(), **overrides})
    if values.get("model") == PRETRAINED_MODEL:
        model_card_box(dataset, values)
    if values.get("augment", param(TRAIN_PARAMS, "augment").default):
        source = f"the recipe's {recipe.augment_preset} preset" if recipe else "its page"
        if recipe is not None and overrides:
            source += f", {', '.join(overrides)} from the Augmentation page"
        st.caption(f"Augmentation ({source}): {augment.summary()}.")
    else:
        st.caption("Augmentation is off: training sees the images as they are.")
    st.page_link("pages/2_Augmentation.py", label="Tune augmentation", icon=":material/tune:")
    st.button(
        "Start training",
        key="train.start",
        type="primary",
        icon=":material/play_arrow:",
        on_click=_start,
        disabled=dataset.test_path is None,
        width="stretch",
    )
    if dataset.test_path is None:
        st.warning("Training needs a test set: choose a test CSV on the Data page.")
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.warning(notice, icon=":material/block:")


def _epoch_table(epochs: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    table = pd.DataFrame(epochs)
    return table[[c for c in columns if c in table]] if not table.empty else table


def _progress_line(progress: LiveProgress, status: runs.RunStatus) -> None:
    summary = summarize(progress, status.epochs or 0)
    if summary is None:
        st.progress(0.0, text="Loading data and building the model…")
        return
    eta = "" if not status.is_active else (f" · about {format_duration(summary.eta_seconds)} left")
    st.progress(
        summary.fraction,
        text=(
            f"Epoch {summary.epoch} of {summary.epochs} · batch {summary.batch} of "
            f"{summary.batches}{eta}"
        ),
    )


def _request_stop(run_dir: Path) -> None:
    runs.request_stop(run_dir)


def live_view(run_dir: Path, was_active: bool) -> None:
    """Draw the run's state, progress, live chart and epoch table (the polled fragment body)."""
    try:
        status = runs.read_status(run_dir)
    except FlowerdashError as error:
        damage_notice(run_dir, error)
        return
    run_state = status.state
    if was_active and not status.is_active:
        st.rerun()  # the run ended: redraw the page without the timer, with the end actions
    st.caption(run_description(run_dir))
    top = st.columns([3, 1], vertical_alignment="center")
    with top[0]:
        state_badge(run_state)
    if run_state in ("queued", "running"):  # a Stop while starting is kept for the trainer
        top[1].button(
            "Stop",
            icon=":material/stop:",
            on_click=_request_stop,
            args=(run_dir,),
            key=f"stop-{run_dir.name}",
            help="Ask the training to stop after the current batch; it evaluates and saves.",
            width="stretch",
        )
    progress = live_progress(run_dir)
    progress.update()
    _progress_line(progress, status)
    st.plotly_chart(
        live_training_figure(
            progress.batches,
            progress.epochs,
            epochs=status.epochs,
            log_loss=bool(st.session_state.get(state.LOG_LOSS_KEY)),
        ),
        key=f"live-chart-{run_dir.name}",
        config={"displaylogo": False},
    )
    st.toggle(
        "Loss on a log scale",
        key=state.LOG_LOSS_KEY,
        help="Useful when the validation loss is far above the training loss.",
    )
    if progress.epochs:
        st.dataframe(_epoch_table(progress.epochs), hide_index=True, width="stretch")


def _resume(run_dir: Path) -> None:
    epochs = st.session_state.get(f"resume-epochs-{run_dir.name}")
    try:
        launcher.resume_training(run_dir, epochs=epochs)
    except FlowerdashError as error:
        st.session_state[NOTICE_KEY] = f"Not resumed: {error}"
    else:
        st.session_state.pop(NOTICE_KEY, None)


def run_description(run_dir: Path) -> str:
    """Return one line on what a run trains (``RunConfig.summary``), or why it cannot say."""
    try:
        config = runs.read_config(run_dir)
    except runs.DamagedRunFile as error:
        return f"damaged: {error.damage}"
    except FlowerdashError:
        return "Starting: the settings are recorded once the data is read."
    return config.summary()


def damage_notice(run_dir: Path, error: FlowerdashError) -> None:
    """Say that ``run_dir`` cannot be read (``damaged: <file> <problem>``), and where to delete
    it."""
    what = error.damage if isinstance(error, runs.DamagedRunFile) else str(error)
    st.error(f"Run {run_dir.name} is damaged: {what}", icon=":material/broken_image:")
    st.page_link("pages/6_Runs.py", label="Delete it on the Runs page", icon=":material/delete:")


def run_panel(run_dir: Path) -> None:
    """Draw one run: the live view (polled while active) and what can be done once it ended.

    A damaged run is shown marked, with what is wrong; the rest of the page keeps working."""
    try:
        status = runs.read_status(run_dir)
    except FlowerdashError as error:
        st.subheader(f"Run {run_dir.name}")
        damage_notice(run_dir, error)
        return
    run_state = status.state
    active = status.is_active
    st.subheader(f"Run {run_dir.name}")
    st.fragment(run_every=REFRESH_SECONDS if active else None)(live_view)(run_dir, active)
    if run_state == "failed":
        st.error(f"Training failed: {status.error or 'see the log below'}")
    elif run_state == "interrupted":
        st.warning(
            "The training process is gone without finishing (killed or crashed). Everything it "
            "wrote is kept; Resume continues from the last finished epoch.",
            icon=":material/warning:",
        )
    if status.is_resumable:
        if status.error:
            st.warning(f"The last resume did not start: {status.error}", icon=":material/block:")
        planned = status.epochs or 1
        left, right = st.columns([1, 1], vertical_alignment="bottom")
        left.number_input(
            "Train up to epoch",
            min_value=max(1, status.epoch + 1),
            max_value=int(param(TRAIN_PARAMS, "epochs").maximum or 1000),
            value=max(planned, status.epoch + 1),
            key=f"resume-epochs-{run_dir.name}",
            help="The run continues from its last finished epoch until this total.",
        )
        right.button(
            "Resume",
            type="primary",
            icon=":material/play_arrow:",
            on_click=_resume,
            args=(run_dir,),
            key=f"resume-{run_dir.name}",
            width="stretch",
        )
    if run_state in {"finished", "stopped"}:
        st.page_link("pages/4_Results.py", label="See the results", icon=":material/insights:")
    with st.expander("Training log"):
        log = run_dir / runs.LOG
        lines = log.read_text(errors="replace").splitlines()[-LOG_LINES:] if log.exists() else []
        st.code("\n".join(lines) or "(empty)", language=None)


def render() -> None:
    """Draw the Train page."""
    st.title("Train")
    runs_folder = state.runs_dir()
    settings_column, run_column = st.columns([1, 2], gap="large")
    with settings_column:
        try:
            settings_panel(runs_folder)
        except FlowerdashError as error:
            show_error(error)
    with run_column:
        run_dir = shown_run(runs_folder)
        if run_dir is None:
            st.info("No training yet: choose the settings and press **Start training**.")
        else:
            run_panel(run_dir)
