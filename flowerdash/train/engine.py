"""Training a model on a train/test CSV pair into a run directory, in one of three modes.

- ``memory``: ``model.fit`` on arrays loaded into RAM;
- ``stream``: ``model.fit`` on :class:`~flowerdash.data.batches.ImageBatches` reading the
  memory-mapped cache batch by batch (the modern ``fit_generator``);
- ``manual``: a ``train_on_batch`` loop driving the same callbacks.

All three validate on the whole test set once per epoch, write the same files and the same
history keys. Augmentation sits at the model's input (active only in training), so the three
modes augment identically and ``model.keras`` takes raw pixels; mixing (``mix``: mixup,
CutMix) is done in the training batches (``MixedBatches``), the same in all three. Stop (STOP
file, SIGTERM, Ctrl-C) ends at the next batch boundary, then evaluates and saves;
``resume_training`` continues a stopped or interrupted run from its last saved epoch (Keras
BackupAndRestore).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flowerdash import __version__, run_records, runs
from flowerdash.augment import AugmentSettings
from flowerdash.data.csv_format import format_shape
from flowerdash.data_checks import check_same_shape
from flowerdash.errors import ConfigError, FlowerdashError, RunError
from flowerdash.models import check_model_fits
from flowerdash.run_records import (
    CSV_LOGGER_FILE,
    RESUMABLE_STATES,
    DamagedRunFile,
    DataFile,
    RunConfig,
)
from flowerdash.settings import TrainSettings
from flowerdash.train import distribute
from flowerdash.train.distribute import DistributeOptions
from flowerdash.train.phases import TrainingPhase, describe_phases, training_phases
from flowerdash.train.rundir import RunWriter, Tee, process_started, stdout_is


@dataclass(frozen=True)
class TrainJob:
    """What to train: the data files and every setting."""

    train_path: Path
    test_path: Path
    settings: TrainSettings = field(default_factory=TrainSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    shape: tuple[int, int, int] | None = None
    distribute: DistributeOptions = field(default_factory=DistributeOptions)
    #: How the settings were chosen (``flowerdash.recipes.ResolvedRecipe.to_dict()``), if so.
    recipe: dict[str, Any] | None = None


@dataclass
class PreparedData:
    """Train and test images with their class indices, checked against each other."""

    train: Any
    test: Any
    classes: list[str]
    train_labels: np.ndarray
    test_labels: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.train.images.shape[1:])


def prepare_data(job: TrainJob, classes: list[str] | None = None) -> PreparedData:
    """Load both files and check they can train together, with the chosen model.

    Raises DatasetError for a bad file or test labels unknown to training, ConfigError for a
    single class, train and test images of different shapes, or images too small for the
    model or a model too big for this machine's memory (checked without building it).
    """
    from flowerdash.data.shards import load_files  # a file, or a glob of shard files

    train = distribute.load_train_data(job.train_path, job.shape, job.distribute)
    test = load_files(job.test_path, job.shape)
    if tuple(test.images.shape[1:]) != tuple(train.images.shape[1:]) and np.prod(
        test.images.shape[1:]
    ) == np.prod(train.images.shape[1:]):
        # Same pixel count, shape inferred differently: read the test file as training reads.
        test = load_files(job.test_path, tuple(train.images.shape[1:]))
    classes = list(classes) if classes is not None else [str(c) for c in train.classes]
    if len(classes) < 2:
        raise ConfigError(
            f"{train.path}: only one class ({classes[0] if classes else 'none'}) in the "
            "training file; a classifier needs at least 2"
        )
    check_same_shape(
        test.path,
        test.images.shape[1:],
        train.images.shape[1:],
        against=f"the training images ({train.path})",
    )
    if len(train.images) == 0 or len(test.images) == 0:
        raise ConfigError("the training and test files must each hold at least one image")
    check_model_fits(
        job.settings.model,
        tuple(int(v) for v in train.images.shape[1:]),
        len(classes),
        batch_size=job.settings.batch_size,
        options=job.settings.model_options,
    )
    return PreparedData(
        train=train,
        test=test,
        classes=classes,
        train_labels=train.label_indices(classes),
        test_labels=test.label_indices(classes),
    )


def _versions() -> dict[str, str]:
    """Versions that matter to reproduce a run; the Keras backend is whichever is in use."""
    import importlib

    import keras
    import sklearn

    backend = keras.backend.backend()
    return {
        "flowerdash": __version__,
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": backend,
        backend: getattr(importlib.import_module(backend), "__version__", "unknown"),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _data_file(dataset: Any, rows: int) -> DataFile:
    return DataFile(
        path=Path(dataset.path).resolve(),
        fingerprint=getattr(dataset, "fingerprint", None),
        rows=rows,
        shape=tuple(int(v) for v in dataset.images.shape[1:]),  # type: ignore[arg-type]
    )


def build_config(job: TrainJob, data: PreparedData, run_id: str) -> RunConfig:
    """Everything needed to reproduce the run (written as ``config.json``)."""
    return RunConfig(
        run_id=run_id,
        created=time.time(),
        settings=job.settings,
        augment=job.augment,
        recipe=job.recipe,
        train=_data_file(data.train, len(data.train_labels)),
        test=_data_file(data.test, len(data.test_labels)),
        shape_option=job.shape,
        classes=list(data.classes),
        shape=data.shape,
        versions=_versions(),
        command=list(sys.argv),
        distribute=distribute.start(job.distribute).record(),
    )


def job_from_config(config: RunConfig) -> TrainJob:
    """The TrainJob a ``config.json`` describes (on one device: a resume sets the
    distribution)."""
    return TrainJob(
        train_path=config.train.path,
        test_path=config.test.path,
        settings=config.settings,
        augment=config.augment,
        shape=config.shape_option,
        recipe=config.recipe,
    )


@contextlib.contextmanager
def _log_to(writer: RunWriter) -> Iterator[None]:
    """Copy stdout and stderr into ``train.log`` unless a launcher already sends them there."""
    log_path = writer.file(runs.LOG)
    if stdout_is(log_path):
        yield
        return
    with log_path.open("a", encoding="utf-8") as log:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Tee(sys.stdout, log), Tee(sys.stderr, log)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def _trim_history(writer: RunWriter, epochs_done: int) -> None:
    """Keep the CSVLogger rows of the epochs the backup holds, so history stays continuous.

    Called only once the backup has been read and checked (a whole row a crash left behind,
    and an epoch the backup does not hold, are dropped; nothing else is)."""
    source = writer.file(CSV_LOGGER_FILE)
    if source.exists():
        history = run_records.read_history_file(source)
        run_records.write_history(writer.path, history.up_to(epochs_done))


def train_new(
    job: TrainJob,
    runs_dir: str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    *,
    verbose: int | None = None,
) -> Path:
    """Train ``job`` into a new run directory ``runs_dir/run_id``; return its path.

    The data is checked before the run directory is made, so bad input leaves no run behind
    (unless a launcher reserved the folder: then it records ``failed`` with the message). The
    folder is made atomically: a ``run_id`` already in use is refused with a RunError, even
    when two trainings ask for it at the same moment.
    """
    runs_dir = Path(runs_dir) if runs_dir is not None else runs.default_runs_dir()
    taken = run_records.exists_already(runs_dir, run_id)
    if taken is not None and job.distribute.mode != "processes":
        raise taken
    cluster = distribute.start(job.distribute)
    try:
        data = prepare_data(job)
    except FlowerdashError as error:
        if cluster.chief and run_id is not None and run_records.reserved_for_me(runs_dir / run_id):
            RunWriter(runs_dir / run_id).set_state("failed", error=str(error))
        raise
    if not cluster.chief:  # process 0 writes the run directory
        if run_id is None:
            raise ConfigError("a process other than 0 needs the run's --run-id")
        writer = cluster.writer(runs_dir / run_id)
        return _run(writer, job, data, initial_epoch=0, verbose=verbose)
    folder = run_records.claim_run_dir(
        runs_dir, run_id, workers_first=job.distribute.mode == "processes"
    )
    writer = RunWriter(folder)
    writer.write_config(build_config(job, data, folder.name))
    return _run(writer, job, data, initial_epoch=0, verbose=verbose)


def start_again_hint(config: RunConfig) -> str:
    """How to start a run over with the settings and data of ``config`` (a command line)."""
    from flowerdash.train.options import job_arguments

    return "flowerdash train " + " ".join(job_arguments(job_from_config(config)))


def resume_point(
    run_dir: Path, config: RunConfig, *, use_previous_backup: bool = False
) -> tuple[int, bool]:
    """Return the epoch a resume continues after, and whether that is the previous backup.

    Reads and checks ``backup/`` (and the CSVLogger file) without changing anything. Raises
    RunError, saying what the user can do, when the backup is damaged.
    """
    try:
        run_records.read_history_file(run_dir / CSV_LOGGER_FILE)
        logged = run_records.read_history(run_dir).epochs
    except DamagedRunFile as error:
        raise RunError(
            f"cannot resume {run_dir}: {error}. Nothing was changed. Start again with its "
            f"settings: {start_again_hint(config)}"
        ) from None
    backup = run_records.read_backup(run_dir)
    if use_previous_backup:
        if backup.previous_epoch is None:
            raise RunError(
                f"cannot resume {run_dir} from its previous backup: there is none intact. "
                f"Nothing was changed. Start again with its settings: {start_again_hint(config)}"
            )
        return backup.previous_epoch, True
    if backup.damage is not None:
        options = []
        if backup.previous_epoch is not None:
            options.append(
                f"resume from the last good backup, after epoch {backup.previous_epoch} "
                f"(flowerdash train --resume {run_dir} --previous-backup; the history rows "
                "after it are dropped)"
            )
        options.append(f"start again with its settings: {start_again_hint(config)}")
        raise RunError(
            f"cannot resume {run_dir}: {backup.damage} (a crash while it was written?). "
            f"Nothing was changed. You can " + ", or ".join(options)
        )
    if backup.epoch == 0 and logged > 0:
        raise RunError(
            f"cannot resume {run_dir}: its backup ({run_records.BACKUP}/) is gone but "
            f"history.csv holds {logged} epochs. Nothing was changed. Start again with its "
            f"settings: {start_again_hint(config)}"
        )
    return int(backup.epoch or 0), False


def resume_training(
    run_dir: str | os.PathLike[str],
    *,
    epochs: int | None = None,
    previous_backup: bool = False,
    verbose: int | None = None,
    distribute_options: DistributeOptions | None = None,
) -> Path:
    """Continue a stopped or interrupted run from its last saved epoch; return its path.

    ``epochs`` changes the run's total number of epochs (to train longer or end sooner); the
    SGD decay follows the new total from the current step on. ``previous_backup`` continues
    from the backup of the epoch before (Keras keeps two) when the last one is damaged.
    ``distribute_options`` default to the run's own (``distribute.resume_options``).
    Everything is read and checked before anything is written: on a RunError (a run in
    another state, a damaged backup) or a ConfigError (a data file changed since) the run is
    left exactly as it was.
    """
    folder = Path(run_dir)
    config = runs.read_config(folder)
    options = distribute_options or distribute.resume_options(config.distribute)
    cluster = distribute.start(options)
    if not cluster.chief:  # process 0 checks and records the run's state
        job = dataclasses.replace(job_from_config(config), distribute=options)
        if epochs is not None:  # the new total, as process 0 has it
            job = dataclasses.replace(
                job, settings=dataclasses.replace(job.settings, epochs=epochs)
            )
        data = prepare_data(job, classes=config.classes)
        writer = cluster.writer(folder)
        own = run_records.read_backup(writer.file(runs.BACKUP).parent).epoch or 0
        return _run(writer, job, data, initial_epoch=own, verbose=verbose, resuming=True)
    status = runs.read_status(folder)
    # A launcher records "queued" with this process's pid before we start: that is us.
    launched_here = status.state == "queued" and status.pid == os.getpid()
    if status.state not in RESUMABLE_STATES and not launched_here:
        raise RunError(
            f"{folder}: cannot resume a run that is {status.state}; expected one of: "
            f"{', '.join(sorted(RESUMABLE_STATES))}"
        )
    if epochs is not None and epochs != config.settings.epochs:
        settings = TrainSettings.from_dict({**config.settings.to_dict(), "epochs": epochs})
        config = dataclasses.replace(
            config,
            settings=settings,
            epochs_changed=[*config.epochs_changed, {"epochs": epochs, "at": time.time()}],
        )
    initial_epoch, from_previous = resume_point(folder, config, use_previous_backup=previous_backup)
    job = dataclasses.replace(job_from_config(config), distribute=options)
    data = prepare_data(job, classes=config.classes)
    for part, recorded, dataset in (
        ("train", config.train, data.train),
        ("test", config.test, data.test),
    ):
        found = getattr(dataset, "fingerprint", None)
        if recorded.fingerprint and found and recorded.fingerprint != found:
            raise ConfigError(
                f"{recorded.path}: the {part} file changed since the run "
                "started (its content fingerprint differs); start a new run instead"
            )
    # Checked: from here on the run is changed.
    if from_previous:
        initial_epoch = run_records.restore_previous_backup(folder)
    writer = RunWriter(folder)
    writer.write_config(config)
    _trim_history(writer, initial_epoch)
    return _run(writer, job, data, initial_epoch=initial_epoch, verbose=verbose, resuming=True)


def _clear_stale_stop(stop_file: Path) -> None:
    """Remove a stop request older than this process (left by an earlier stop, before a
    resume); one made since (Stop clicked while the run was starting) stands."""
    started = process_started()
    with contextlib.suppress(FileNotFoundError):
        if started is None or stop_file.stat().st_mtime < started:
            stop_file.unlink()


def _run(
    writer: RunWriter,
    job: TrainJob,
    data: PreparedData,
    *,
    initial_epoch: int,
    verbose: int | None,
    resuming: bool = False,
) -> Path:
    """Record ``running``, train from ``initial_epoch``, evaluate, save; record the end state
    (or ``failed``)."""
    settings = job.settings
    _clear_stale_stop(writer.file(runs.STOP))
    writer.set_state(
        "running", epochs=settings.epochs, epoch=initial_epoch, error=None, finished=None
    )
    writer.start_heartbeat()
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    try:
        with _log_to(writer):
            print(f"run directory: {writer.path}" + (" (resumed)" if resuming else ""))
            state = _train_and_report(writer, job, data, initial_epoch, verbose=verbose)
        writer.set_state(state)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            message = "aborted by a second Ctrl-C (the first one asks for a clean stop)"
        else:
            message = str(error) if isinstance(error, FlowerdashError) else repr(error)
        if not isinstance(error, FlowerdashError | KeyboardInterrupt):
            with contextlib.suppress(OSError), writer.file(runs.LOG).open("a") as log:
                traceback.print_exc(file=log)
        writer.set_state("failed", error=message)
        raise
    finally:
        writer.close()
    return writer.path


def _train_and_report(
    writer: RunWriter, job: TrainJob, data: PreparedData, initial_epoch: int, *, verbose: int
) -> str:
    import keras

    from flowerdash.augment import build_augmentation
    from flowerdash.data.batches import ImageBatches
    from flowerdash.evaluate import evaluate_model, format_report
    from flowerdash.models import build_model
    from flowerdash.train.callbacks import (
        HistoryPublisher,
        LearningRateLogger,
        ProgressWriter,
        StopWatcher,
    )
    from flowerdash.train.optimizers import batchnorm_momentum, set_batchnorm_momentum
    from flowerdash.train.plot import save_training_plot

    settings = job.settings
    keras.utils.set_random_seed(settings.seed)  # the same in every process: the same weights
    cluster = distribute.start(job.distribute)
    scope = contextlib.ExitStack()  # the strategy's scope, from building the model to fit's end
    scope.enter_context(cluster.scope())
    augmentation = build_augmentation(job.augment, settings.seed) if settings.augment else None
    model = build_model(
        settings.model,
        data.shape,
        len(data.classes),
        augmentation=augmentation,
        options=settings.model_options,
    )
    steps_per_epoch = -(-len(data.train_labels) // settings.batch_size)
    if settings.batchnorm == "adaptive":
        set_batchnorm_momentum(model, batchnorm_momentum(settings.epochs * steps_per_epoch))
    phases = _phases(settings, model)

    backup_dir = writer.file(runs.BACKUP)
    train_images, train_labels = cluster.train_shard(data.train.images, data.train_labels)
    batch_size = cluster.local_batch_size(settings.batch_size)
    in_memory = settings.mode == "memory" and settings.mixing  # fits on MixedBatches
    train_batches = _training_batches(
        settings,
        np.asarray(train_images) if in_memory else train_images,
        train_labels,
        batch_size,
        len(data.classes),
        initial_epoch,
    )
    # Every process validates on the whole test set: its copies weigh the same, so the
    # figures are those of one pass.
    test_batches = ImageBatches(data.test.images, data.test_labels, batch_size)
    steps = len(train_batches)
    stop = StopWatcher(writer, agree=cluster.agree)
    callbacks = [
        LearningRateLogger(),
        keras.callbacks.CSVLogger(str(writer.file(CSV_LOGGER_FILE)), append=True),
        ProgressWriter(writer, steps),
        stop,
        # The backup after CSVLogger's row, and history.csv published only after the backup:
        # a crash anywhere in between re-runs at most that epoch on resume (the CSVLogger file
        # is trimmed to the backup's epoch), and history.csv never shows an epoch that a
        # resume would train again.
        keras.callbacks.BackupAndRestore(
            str(backup_dir), double_checkpoint=True, delete_checkpoint=False
        ),
        HistoryPublisher(writer, writer.file(CSV_LOGGER_FILE)),
    ]
    print(
        f"training {settings.model} ({model.count_params():,} parameters) on "
        f"{len(data.train_labels)} images "
        f"({format_shape(data.shape)}, {len(data.classes)} classes), validating on "
        f"{len(data.test_labels)}; mode {settings.mode}, {settings.epochs} epochs, "
        f"batch size {settings.batch_size}, {settings.optimizer} lr {settings.learning_rate} "
        f"({settings.schedule}), augmentation {'on' if augmentation is not None else 'off'}, "
        + (f"{settings.mix} (alpha {settings.mix_alpha}), " if settings.mixing else "")
        + f"{cluster.replicas} device(s) in {cluster.processes} process(es)"
        + (f", resuming after epoch {initial_epoch}" if initial_epoch else "")
    )
    if len(phases) > 1 or phases[0].trainable_blocks is not None:
        print("phases: " + describe_phases(phases))
    stop.install_signal_handlers()
    try:
        for phase in phases:
            if phase.end <= initial_epoch:
                continue
            if stop.requested:
                break
            _fit_phase(
                model,
                settings,
                phase,
                initial_epoch=max(initial_epoch, phase.start),
                steps_per_epoch=steps_per_epoch,
                num_classes=len(data.classes),
                callbacks=callbacks,
                train_arrays=(train_images, train_labels, batch_size),
                test_arrays=(data.test.images, data.test_labels),
                train_batches=train_batches,
                test_batches=test_batches,
                verbose=verbose,
            )
    finally:
        stop.restore_signal_handlers()
        scope.close()
    if not cluster.chief:  # process 0 evaluates and saves
        return _end_state(stop.requested, backup_dir)

    report = evaluate_model(
        cluster.local_model(model),
        data.test.images,
        data.test_labels,
        data.classes,
        flip_tta=settings.flip_tta,
    )
    if report["count"] != len(data.test_labels):
        raise RunError(f"evaluated {report['count']} of {len(data.test_labels)} test images")
    writer.publish(runs.MODEL, lambda path: _inference_copy(model).save(path))
    run_records.write_report(writer.file(runs.REPORT), report)
    history = runs.read_history(writer.path).frame()
    title = f"Training loss and accuracy: {Path(data.train.path).name}, {settings.model}"
    writer.publish(runs.PLOT, lambda path: save_training_plot(history, path, title=title))
    print(format_report(report))
    return _end_state(stop.requested, backup_dir)


def _training_batches(
    settings: TrainSettings,
    images: Any,
    labels: np.ndarray,
    batch_size: int,
    num_classes: int,
    epoch: int,
) -> Any:
    """This process's training batches: ImageBatches, or MixedBatches when ``settings.mix`` is
    mixup or cutmix (in every mode; the memory mode then fits on them too)."""
    from flowerdash.data.batches import ImageBatches, MixedBatches

    if not settings.mixing:
        return ImageBatches(
            images, labels, batch_size, shuffle=True, seed=settings.seed, epoch=epoch
        )
    return MixedBatches(
        images,
        labels,
        batch_size,
        num_classes=num_classes,
        method=settings.mix,
        alpha=settings.mix_alpha,
        seed=settings.seed,
        epoch=epoch,
    )


def _end_state(stopped: bool, backup_dir: Path) -> str:
    """``stopped`` or ``finished``; a finished run needs no backup, a stopped one keeps it for
    --resume."""
    if stopped:
        return "stopped"
    import shutil

    shutil.rmtree(backup_dir, ignore_errors=True)
    return "finished"


def _phases(settings: TrainSettings, model: Any) -> list[TrainingPhase]:
    """The run's phases: one for a model trained whole, head then fine-tune for a pretrained
    one (:mod:`flowerdash.train.phases`)."""
    from flowerdash.pretrained.transfer import is_transfer_model

    return training_phases(
        settings.epochs,
        settings.learning_rate,
        pretrained=is_transfer_model(model),
        frozen_epochs=settings.frozen_epochs,
        fine_tune_blocks=settings.fine_tune_blocks,
        fine_tune_rate=settings.fine_tune_rate,
    )


def _fit_phase(
    model: Any,
    settings: TrainSettings,
    phase: TrainingPhase,
    *,
    initial_epoch: int,
    steps_per_epoch: int,
    num_classes: int,
    callbacks: list[Any],
    train_arrays: tuple[Any, Any, int],
    test_arrays: tuple[Any, Any],
    train_batches: Any,
    test_batches: Any,
    verbose: int,
) -> None:
    """Set the phase's trainable layers, compile with its optimizer and train its epochs from
    ``initial_epoch`` with the run's callbacks (``train_arrays`` this process's images,
    labels and batch size, for the memory mode; BackupAndRestore restores a backup of this
    phase, optimizer included; at a phase's first epoch the previous phase's optimizer state
    does not fit and Keras skips it, which is what a new phase wants)."""
    import warnings

    from flowerdash.train.optimizers import build_accuracy, build_loss, build_optimizer

    if phase.trainable_blocks is not None:
        from flowerdash.pretrained.transfer import set_trainable_blocks

        set_trainable_blocks(model, phase.trainable_blocks)
    # The phase's own rate and length: a schedule spans the phase (warmup and decay in each).
    phase_settings = dataclasses.replace(
        settings, learning_rate=phase.learning_rate, epochs=phase.epochs
    )
    mixing = settings.mixing  # soft targets in training, class indices in validation
    model.compile(
        optimizer=build_optimizer(phase_settings, steps_per_epoch),
        loss=build_loss(settings.label_smoothing, num_classes, soft_targets=mixing),
        metrics=[build_accuracy(num_classes, soft_targets=mixing)],
    )
    if phase.start > 0 and initial_epoch > phase.start:
        print(f"{phase.name} phase resumed at epoch {initial_epoch + 1}")
    elif phase.start > 0:
        print(f"{phase.name} phase from epoch {phase.start + 1}: {describe_phases([phase])}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        if settings.mode == "memory" and not mixing:
            images, labels, batch_size = train_arrays
            model.fit(
                np.asarray(images),
                labels,
                batch_size=batch_size,
                epochs=phase.end,
                initial_epoch=initial_epoch,
                validation_data=(np.asarray(test_arrays[0]), test_arrays[1]),
                shuffle=True,
                callbacks=callbacks,
                verbose=verbose,
            )
        elif settings.mode in ("memory", "stream"):
            # Mixing is drawn per batch in MixedBatches (repeatable per seed, epoch and batch),
            # so a mixing memory mode fits on those batches over its in-memory arrays, not on
            # fit(x, y), whose batches Keras cuts itself; it still validates on arrays.
            in_memory = settings.mode == "memory"
            model.fit(
                train_batches,
                epochs=phase.end,
                initial_epoch=initial_epoch,
                validation_data=(
                    (np.asarray(test_arrays[0]), test_arrays[1]) if in_memory else test_batches
                ),
                validation_batch_size=train_arrays[2] if in_memory else None,
                shuffle=False,  # the batches reshuffle themselves, seeded, every epoch
                callbacks=callbacks,
                verbose=verbose,
            )
        elif settings.mode == "manual":
            _fit_manually(
                model, train_batches, test_batches, phase.end, callbacks, verbose, initial_epoch
            )
        else:
            raise ConfigError(f"unknown training mode {settings.mode!r}")


def _inference_copy(model: Any) -> Any:
    """The model with its weights but no optimizer: half the size of ``model.keras`` (SGD's
    momentum doubles the weights); resuming uses ``backup/``, which keeps the optimizer."""
    import keras

    copy = keras.Model.from_config(model.get_config())  # uncompiled (clone_model compiles)
    copy.set_weights(model.get_weights())
    return copy


def _fit_manually(
    model: Any,
    train_batches: Any,
    test_batches: Any,
    epochs: int,
    callbacks: list[Any],
    verbose: int,
    initial_epoch: int = 0,
) -> None:
    """The tutorial's ``train_on_batch`` loop, driving the same callbacks as ``fit``.

    Epoch logs are sample-weighted means over the epoch's batches, as ``fit`` reports them.
    """
    import keras

    steps = len(train_batches)
    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch
    train_batches.set_epoch(initial_epoch)
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        totals = {"loss": 0.0, "accuracy": 0.0}
        seen = 0
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            x, y = train_batches[step]
            batch_logs = model.train_on_batch(x, y, return_dict=True)
            seen += len(y)
            for key in totals:
                totals[key] += float(batch_logs[key]) * len(y)
            logs = {key: total / seen for key, total in totals.items()}
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        validation = model.evaluate(test_batches, verbose=0, return_dict=True)
        logs = {**logs, **{f"val_{key}": value for key, value in validation.items()}}
        callback_list.on_epoch_end(epoch, logs)
        train_batches.on_epoch_end()
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
