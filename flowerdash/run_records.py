"""The run directory's files as typed records: the only code that parses or writes them.

``config.json`` is a :class:`RunConfig`, ``status.json`` a :class:`RunStatus`, ``report.json``
a :class:`RunReport`, ``history.csv`` (and the CSVLogger file it is published from) a
:class:`RunHistory`, and the Keras backup's metadata a :class:`BackupState`. A file that is
there but does not parse, or misses a field, raises :class:`DamagedRunFile` (a ``RunError``)
naming the file and what was expected; a missing file raises a plain ``RunError``. Keys a record
does not know are kept (``extra``) and written back, so a newer or extended writer's fields
survive a rewrite. Run folders are made here too, atomically (:func:`create_run_dir`).

The layout is described in docs/architecture.md. No Keras, no pandas at import.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowerdash.augment import AugmentSettings
from flowerdash.errors import ConfigError, RunError
from flowerdash.files import UnreadableFile, read_json, read_text, write_json_atomic
from flowerdash.files import write_text_atomic as _write_text_atomic
from flowerdash.settings import TrainSettings

if TYPE_CHECKING:
    import pandas as pd

CONFIG = "config.json"
STATUS = "status.json"
PROGRESS = "progress.jsonl"
HISTORY = "history.csv"
#: CSVLogger's own file; ``history.csv`` is its atomic copy, published after every epoch.
CSV_LOGGER_FILE = ".history.keras.csv"
MODEL = "model.keras"
REPORT = "report.json"
PLOT = "plot.png"
LOG = "train.log"
STOP = "STOP"
BACKUP = "backup"
#: Keras BackupAndRestore's files inside ``backup/`` (``.bkp``: the epoch before).
BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_METADATA = "training_metadata.json"
PREVIOUS_SUFFIX = ".bkp"
#: Made by a launcher with a token; the trainer it starts claims the folder by removing it.
RESERVED = ".reserved"

#: States a writer records. ``interrupted`` is never recorded: readers derive it.
RECORDED_STATES = frozenset({"queued", "running", "stopping", "finished", "stopped", "failed"})
#: Recorded states whose process should be alive; dead ones read as ``interrupted``.
ACTIVE_STATES = frozenset({"queued", "running", "stopping"})
FINAL_STATES = frozenset({"finished", "stopped", "failed"})
#: States a run can be resumed from.
RESUMABLE_STATES = frozenset({"stopped", "interrupted"})
HISTORY_COLUMNS = ("epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss")
RESERVED_ENV = "FLOWERDASH_RESERVED_RUN"


class DamagedRunFile(RunError):
    """A run file that is there but cannot be used. ``path`` is the file, ``problem`` completes
    a sentence about it ("is not valid JSON (...)"); ``damage`` is the short form for a listing
    (``"status.json is not valid JSON (...)"``)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path} {problem}")

    @property
    def damage(self) -> str:
        """The file name (relative to its run folder) and its problem."""
        name = self.path.name
        if self.path.parent.name == BACKUP:
            name = f"{BACKUP}/{name}"
        return f"{name} {self.problem}"


# -- typed access to JSON fields ---------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"


class _Fields:
    """One JSON object's fields, each taken with its expected type; anything else raises
    DamagedRunFile naming the file, the field and what was expected."""

    def __init__(self, value: Any, path: Path, where: str, expected: str) -> None:
        if not isinstance(value, dict):
            raise DamagedRunFile(path, f"holds {_kind(value)}{where}, expected {expected}")
        self.value, self.path, self.where = value, path, where
        self.used: set[str] = set()

    def _fail(self, key: str, found: Any, expected: str) -> DamagedRunFile:
        return DamagedRunFile(
            self.path, f"has {_kind(found)} for {key!r}{self.where}, expected {expected}"
        )

    def raw(self, key: str, required: bool = False) -> Any:
        """The field's value as it is (None when absent)."""
        self.used.add(key)
        if key not in self.value or self.value[key] is None:
            if required:
                raise DamagedRunFile(self.path, f"has no {key!r}{self.where}")
            return None
        return self.value[key]

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.raw(key, required)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, value, "text")
        return value

    def whole(self, key: str, *, required: bool = False, minimum: int = 0) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise self._fail(key, value, "a whole number")
        if value < minimum:
            raise self._fail(key, value, f"a whole number of at least {minimum}")
        return int(value)

    def number(self, key: str, *, required: bool = False) -> float | None:
        value = self.raw(key, required)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self._fail(key, value, "a number")
        return None if value is None else float(value)

    def mapping(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.raw(key, required)
        if value is not None and not isinstance(value, dict):
            raise self._fail(key, value, "an object")
        return value

    def items(self, key: str, *, required: bool = False) -> list[Any] | None:
        value = self.raw(key, required)
        if value is not None and not isinstance(value, list):
            raise self._fail(key, value, "a list")
        return value

    def labels(self, key: str, *, required: bool = False) -> list[str] | None:
        value = self.items(key, required=required)
        if value is not None and not all(isinstance(v, str | int) for v in value):
            raise self._fail(key, value, "a list of class names")
        return None if value is None else [str(v) for v in value]

    def shape(self, key: str, *, required: bool = False) -> tuple[int, int, int] | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not (
            isinstance(value, list)
            and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise self._fail(key, value, "an image shape [height, width, channels]")
        return (int(value[0]), int(value[1]), int(value[2]))

    def extra(self) -> dict[str, Any]:
        """The fields not taken: kept as they are."""
        return {k: v for k, v in self.value.items() if k not in self.used}


def _read_object(path: Path, missing: str) -> Any:
    try:
        return read_json(path)
    except FileNotFoundError:
        raise RunError(f"{path}: {missing}") from None
    except UnreadableFile as error:
        raise DamagedRunFile(path, error.problem) from None


def _settings(cls: Any, values: dict[str, Any], path: Path, key: str) -> Any:
    try:
        return cls.from_dict(values)
    except ConfigError as error:
        raise DamagedRunFile(path, f"has {key} this version cannot use ({error})") from None


# -- config.json --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One data file a run trained on: ``path`` (absolute), rows, content fingerprint, shape."""

    path: Path
    rows: int | None = None
    fingerprint: str | None = None
    shape: tuple[int, int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any, path: Path, where: str) -> DataFile:
        fields = _Fields(value, path, f" in {where}", "an object with the file's path")
        return cls(
            path=Path(fields.text("path", required=True) or ""),
            rows=fields.whole("rows"),
            fingerprint=fields.text("fingerprint"),
            shape=fields.shape("shape"),
            extra=fields.extra(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "shape": list(self.shape) if self.shape else None,
            **self.extra,
        }


@dataclass(frozen=True)
class RunConfig:
    """``config.json``: everything needed to reproduce a run.

    ``classes`` is the model's output order, ``shape`` its input ``(H, W, C)``;
    ``shape_option`` the ``--shape`` the user gave (None: inferred); ``distribute`` how the
    training spread over devices and processes (``flowerdash.train.distribute``'s record);
    ``recipe`` how the settings were chosen (``flowerdash.recipes.ResolvedRecipe.to_dict()``).
    ``extra`` holds top-level keys this version does not know, written back unchanged.
    """

    settings: TrainSettings
    augment: AugmentSettings
    train: DataFile
    test: DataFile
    classes: list[str]
    shape: tuple[int, int, int]
    run_id: str | None = None
    created: float | None = None
    shape_option: tuple[int, int, int] | None = None
    versions: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    epochs_changed: list[dict[str, Any]] = field(default_factory=list)
    distribute: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    data_extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any, path: Path) -> RunConfig:
        """The config in the JSON value read from ``path``. Raises DamagedRunFile."""
        fields = _Fields(
            value, path, "", "an object with settings, augment, data, classes and shape"
        )
        data = _Fields(
            fields.mapping("data", required=True),
            path,
            " in data",
            "an object with train and test",
        )
        settings = _settings(
            TrainSettings, fields.mapping("settings", required=True) or {}, path, "settings"
        )
        augment = _settings(
            AugmentSettings, fields.mapping("augment", required=True) or {}, path, "augment"
        )
        return cls(
            settings=settings,
            augment=augment,
            train=DataFile.from_json(data.mapping("train", required=True), path, "data.train"),
            test=DataFile.from_json(data.mapping("test", required=True), path, "data.test"),
            shape_option=data.shape("shape_option"),
            data_extra=data.extra(),
            classes=fields.labels("classes", required=True) or [],
            shape=fields.shape("shape", required=True),  # type: ignore[arg-type]
            run_id=fields.text("run_id"),
            created=fields.number("created"),
            versions=fields.mapping("versions") or {},
            command=[str(part) for part in fields.items("command") or []],
            epochs_changed=fields.items("epochs_changed") or [],
            distribute=fields.mapping("distribute") or {},
            recipe=fields.mapping("recipe"),
            extra=fields.extra(),
        )

    def summary(self) -> str:
        """One line on what the run trains: data, model and mode, epochs and batch, optimizer,
        augmentation, and its devices and processes when it was spread over several."""
        settings = self.settings
        parts = [
            f"{self.train.path.name} ({self.train.rows or '?'} images)",
            f"{settings.model}, {settings.mode} mode",
            f"{settings.epochs} epochs of batch {settings.batch_size}",
            f"{settings.optimizer} lr {settings.learning_rate}",
            "augmented" if settings.augment else "not augmented",
        ]
        spread = self.distribute
        if spread.get("mode", "none") != "none":
            devices, processes = spread.get("devices", "?"), spread.get("processes", "?")
            parts.append(f"{devices} device(s) in {processes} process(es)")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "run_id": self.run_id,
            "created": self.created,
            "settings": self.settings.to_dict(),
            "augment": self.augment.to_dict(),
            "recipe": self.recipe,
            "data": {
                "train": self.train.to_json(),
                "test": self.test.to_json(),
                "shape_option": list(self.shape_option) if self.shape_option else None,
                **self.data_extra,
            },
            "classes": list(self.classes),
            "shape": list(self.shape),
            "versions": self.versions,
            "command": self.command,
        }
        if self.epochs_changed:
            value["epochs_changed"] = self.epochs_changed
        if self.distribute:
            value["distribute"] = self.distribute
        return {**value, **self.extra}


def read_config(run_dir: str | os.PathLike[str]) -> RunConfig:
    """Return the run's ``config.json``. Raises RunError (DamagedRunFile when it does not
    parse or misses a field)."""
    path = Path(run_dir) / CONFIG
    value = _read_object(path, "not found (is it a run directory, and has the run started?)")
    return RunConfig.from_json(value, path)


def write_config(run_dir: str | os.PathLike[str], config: RunConfig) -> None:
    """Write ``config.json`` atomically."""
    write_json_atomic(Path(run_dir) / CONFIG, config.to_json())


# -- status.json --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStatus:
    """``status.json``: the run's state and its process. Times are Unix seconds; ``epoch``
    counts finished epochs. ``recorded_state`` is set only when a reader derived ``state``
    (``interrupted``) from a recorded active state whose process is gone."""

    state: str
    pid: int | None = None
    pid_started: float | None = None
    error: str | None = None
    started: float | None = None
    updated: float | None = None
    finished: float | None = None
    epoch: int = 0
    epochs: int | None = None
    recorded_state: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any, path: Path) -> RunStatus:
        """The status in the JSON value read from ``path``. Raises DamagedRunFile."""
        expected = "an object with the run's state"
        fields = _Fields(value, path, "", expected)
        state = fields.text("state", required=True)
        if state not in RECORDED_STATES:
            raise DamagedRunFile(
                path,
                f"records the state {state!r}, expected one of "
                + ", ".join(sorted(RECORDED_STATES)),
            )
        return cls(
            state=state,
            pid=fields.whole("pid"),
            pid_started=fields.number("pid_started"),
            error=fields.text("error"),
            started=fields.number("started"),
            updated=fields.number("updated"),
            finished=fields.number("finished"),
            epoch=fields.whole("epoch") or 0,
            epochs=fields.whole("epochs", minimum=1),
            extra={k: v for k, v in fields.extra().items() if k != "recorded_state"},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.recorded_state or self.state,
            "pid": self.pid,
            "pid_started": self.pid_started,
            "error": self.error,
            "started": self.started,
            "updated": self.updated,
            "finished": self.finished,
            "epoch": self.epoch,
            "epochs": self.epochs,
            **self.extra,
        }

    @property
    def is_active(self) -> bool:
        """Whether the run's process is (recorded and seen) alive."""
        return self.state in ACTIVE_STATES

    @property
    def is_resumable(self) -> bool:
        return self.state in RESUMABLE_STATES

    def changed(self, **fields: Any) -> RunStatus:
        """This status with ``fields`` changed and ``updated`` now; ``finished`` is set when the
        new state is final."""
        now = time.time()
        new = dataclasses.replace(self, **{"updated": now, "recorded_state": None, **fields})
        if "state" in fields and new.state in FINAL_STATES and "finished" not in fields:
            new = dataclasses.replace(new, finished=now)
        return new


def read_recorded_status(run_dir: str | os.PathLike[str]) -> RunStatus:
    """Return ``status.json`` as recorded (``flowerdash.runs.read_status`` adds ``interrupted``).

    Raises RunError when it is missing, DamagedRunFile when it does not parse.
    """
    path = Path(run_dir) / STATUS
    return RunStatus.from_json(_read_object(path, "not found (is it a run directory?)"), path)


def write_status(run_dir: str | os.PathLike[str], status: RunStatus) -> None:
    """Write ``status.json`` atomically: the one writer of the file."""
    write_json_atomic(Path(run_dir) / STATUS, status.to_json())


# -- report.json --------------------------------------------------------------------------------

_SCORE_KEYS = ("precision", "recall", "f1-score", "support")
_AVERAGES = ("macro avg", "weighted avg")


@dataclass(frozen=True)
class RunReport:
    """``report.json``: scikit-learn's per-class ``scores`` (``{class: {precision, recall,
    f1-score, support}}`` plus the averages), ``accuracy``, ``confusion_matrix`` (rows true,
    columns predicted, in ``classes`` order), ``count`` and ``predictions``
    (``{"index", "true", "predicted", "confidence"}`` per test row)."""

    classes: list[str]
    confusion_matrix: list[list[int]]
    scores: dict[str, dict[str, float]]
    accuracy: float | None = None
    count: int = 0
    predictions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any, path: Path) -> RunReport:
        """The report in the JSON value read from ``path``. Raises DamagedRunFile."""
        fields = _Fields(
            value, path, "", "an object with classes, confusion_matrix and per-class scores"
        )
        classes = fields.labels("classes", required=True) or []
        matrix = fields.items("confusion_matrix", required=True) or []
        if len(matrix) != len(classes) or not all(
            isinstance(row, list)
            and len(row) == len(classes)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in row)
            for row in matrix
        ):
            raise DamagedRunFile(
                path,
                f"has a confusion_matrix that is not {len(classes)}x{len(classes)} whole "
                "numbers (one row and column per class)",
            )
        scores = {}
        for name in [*classes, *_AVERAGES]:
            entry = fields.mapping(name, required=name in classes)
            if entry is None:
                continue
            entry_fields = _Fields(entry, path, f" in {name!r}", "an object of scores")
            scores[name] = {k: entry_fields.number(k, required=True) for k in _SCORE_KEYS}
        predictions = fields.items("predictions") or []
        for position, prediction in enumerate(predictions):
            where = f" in predictions[{position}]"
            item = _Fields(prediction, path, where, "an object")
            item.whole("index", required=True)
            item.number("confidence", required=True)
            for key in ("true", "predicted"):
                if str(item.raw(key, True)) not in classes:
                    raise DamagedRunFile(path, f"names a class{where} that is not in classes")
        count = fields.whole("count")
        return cls(
            classes=classes,
            confusion_matrix=[[int(v) for v in row] for row in matrix],
            scores=scores,  # type: ignore[arg-type]
            accuracy=fields.number("accuracy"),
            count=count if count is not None else sum(sum(row) for row in matrix),
            predictions=predictions,
            extra=fields.extra(),
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as ``report.json`` holds it (what ``flowerdash.report_tables`` reads)."""
        value: dict[str, Any] = {name: dict(scores) for name, scores in self.scores.items()}
        if self.accuracy is not None:
            value["accuracy"] = self.accuracy
        value.update(
            confusion_matrix=self.confusion_matrix,
            classes=list(self.classes),
            count=self.count,
            predictions=self.predictions,
        )
        return {**value, **self.extra}


def read_report(run_dir: str | os.PathLike[str]) -> RunReport:
    """Return the run's ``report.json``. Raises RunError when it is missing (the run has not
    ended), DamagedRunFile when it does not parse."""
    path = Path(run_dir) / REPORT
    value = _read_object(path, "not found (the report is written when training ends)")
    return RunReport.from_json(value, path)


def write_report(path: str | os.PathLike[str], report: Mapping[str, Any] | RunReport) -> RunReport:
    """Check ``report`` against the contract and write it to ``path`` atomically."""
    target = Path(path)
    if not isinstance(report, RunReport):
        report = RunReport.from_json(dict(report), target)
    write_json_atomic(target, report.as_dict())
    return report


# -- history.csv ---------------------------------------------------------------------------------


def _history_value(text: str) -> float:
    text = text.strip()
    return math.nan if text in ("", "NA", "nan") else float(text)


@dataclass(frozen=True)
class RunHistory:
    """``history.csv``: one row per finished epoch, ``epoch`` 0-based, as CSVLogger writes it."""

    columns: tuple[str, ...] = HISTORY_COLUMNS
    rows: tuple[dict[str, float], ...] = ()

    @classmethod
    def parse(cls, text: str, path: Path) -> RunHistory:
        """The history in CSV ``text`` read from ``path``; a last line without its newline (being
        written, or cut by a crash) is left out. Raises DamagedRunFile for anything else that
        is not CSVLogger's table."""
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines = lines[:-1]
        if not lines:
            return cls()
        columns = tuple(name.strip() for name in lines[0].strip().split(","))
        if "epoch" not in columns:
            raise DamagedRunFile(
                path,
                "does not start with a CSVLogger header (expected columns "
                + ", ".join(HISTORY_COLUMNS)
                + ")",
            )
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            values = line.strip().split(",")
            try:
                if len(values) != len(columns):
                    raise ValueError
                row = {name: _history_value(v) for name, v in zip(columns, values, strict=True)}
                if not (row["epoch"] >= 0 and row["epoch"] == int(row["epoch"])):
                    raise ValueError
            except ValueError:
                raise DamagedRunFile(
                    path,
                    f"line {number}: expected {len(columns)} numbers ({', '.join(columns)}), "
                    f"found {line.strip()[:60]!r}",
                ) from None
            rows.append(row)
        return cls(columns, tuple(rows))

    @property
    def epochs(self) -> int:
        """How many epoch rows the history holds."""
        return len(self.rows)

    def last(self, column: str) -> float | None:
        """The last epoch's value of ``column`` (None when there is no row or no column)."""
        if not self.rows or column not in self.columns:
            return None
        value = self.rows[-1][column]
        return None if math.isnan(value) else value

    def up_to(self, epochs: int) -> RunHistory:
        """The rows of the epochs before ``epochs`` (0-based ``epoch < epochs``)."""
        return RunHistory(self.columns, tuple(r for r in self.rows if r["epoch"] < epochs))

    def to_csv(self) -> str:
        """The history as CSVLogger's table."""

        def cell(name: str, value: float) -> str:
            return str(int(value)) if name == "epoch" else repr(float(value))

        lines = [",".join(self.columns)]
        lines += [",".join(cell(n, row[n]) for n in self.columns) for row in self.rows]
        return "\n".join(lines) + "\n"

    def frame(self) -> pd.DataFrame:
        """The history as a DataFrame (empty, with the contract's columns, before epoch 1)."""
        import pandas as pd

        frame = pd.DataFrame(list(self.rows), columns=list(self.columns), dtype=float)
        if "epoch" in frame and len(frame):
            frame["epoch"] = frame["epoch"].astype(int)
        return frame


def read_history_file(path: str | os.PathLike[str]) -> RunHistory:
    """Return the history in ``path`` (empty when it does not exist yet). Raises
    DamagedRunFile when it is not UTF-8 or not CSVLogger's table."""
    target = Path(path)
    try:
        text = read_text(target)
    except FileNotFoundError:
        return RunHistory()
    except UnreadableFile as error:
        raise DamagedRunFile(target, error.problem) from None
    return RunHistory.parse(text, target)


def read_history(run_dir: str | os.PathLike[str]) -> RunHistory:
    """Return the run's ``history.csv`` (empty before the first finished epoch)."""
    return read_history_file(Path(run_dir) / HISTORY)


def write_history(run_dir: str | os.PathLike[str], history: RunHistory) -> None:
    """Write ``history`` as the CSVLogger file and publish it as ``history.csv``, atomically."""
    folder = Path(run_dir)
    text = history.to_csv()
    _write_text_atomic(folder / CSV_LOGGER_FILE, text)
    _write_text_atomic(folder / HISTORY, text)


# -- backup/ --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupState:
    """What a run's ``backup/`` holds for a resume.

    ``epoch``: epochs finished in the current backup (0 with no backup at all), None when it is
    damaged, and then ``damage`` says how. ``previous_epoch``: the epochs of the previous
    backup Keras keeps beside it (``.bkp``), when that one is intact.
    """

    epoch: int | None
    damage: DamagedRunFile | None = None
    previous_epoch: int | None = None


def _backup_epoch(weights: Path, metadata: Path) -> int:
    """Epochs held by one (weights, metadata) pair. Raises DamagedRunFile."""
    if not metadata.exists():
        raise DamagedRunFile(metadata, "is missing (the weights have no epoch count)")
    try:
        value = read_json(metadata)
    except UnreadableFile as error:
        raise DamagedRunFile(metadata, error.problem) from None
    epoch = _Fields(value, metadata, "", "an object with the epoch count").whole(
        "epoch", required=True
    )
    if not weights.is_file():
        raise DamagedRunFile(weights, "is missing")
    import h5py

    try:
        with h5py.File(weights, "r"):
            pass
    except OSError as error:
        raise DamagedRunFile(weights, f"is not a readable weights file ({error})") from None
    return int(epoch or 0)


def read_backup(run_dir: str | os.PathLike[str]) -> BackupState:
    """Read and check the run's Keras backup (what ``train --resume`` continues from)."""
    folder = Path(run_dir) / BACKUP
    weights, metadata = folder / BACKUP_WEIGHTS, folder / BACKUP_METADATA
    previous: int | None = None
    with contextlib.suppress(DamagedRunFile):
        previous = _backup_epoch(
            weights.with_name(weights.name + PREVIOUS_SUFFIX),
            metadata.with_name(metadata.name + PREVIOUS_SUFFIX),
        )
    if not weights.exists() and not metadata.exists():
        return BackupState(epoch=0, previous_epoch=previous)
    try:
        return BackupState(epoch=_backup_epoch(weights, metadata), previous_epoch=previous)
    except DamagedRunFile as damage:
        return BackupState(epoch=None, damage=damage, previous_epoch=previous)


def restore_previous_backup(run_dir: str | os.PathLike[str]) -> int:
    """Make the previous backup (``.bkp``) the current one; return its epochs.

    Raises DamagedRunFile when the previous backup is missing or damaged (nothing is changed).
    """
    folder = Path(run_dir) / BACKUP
    names = (BACKUP_WEIGHTS, BACKUP_METADATA)
    epoch = _backup_epoch(*(folder / (name + PREVIOUS_SUFFIX) for name in names))
    for name in names:
        temporary = folder / f".tmp-{os.getpid()}-{name}"
        shutil.copyfile(folder / (name + PREVIOUS_SUFFIX), temporary)
        os.replace(temporary, folder / name)
    return epoch


# -- run folders ----------------------------------------------------------------------------------


def new_run_id() -> str:
    """Return a fresh run id: the UTC start time (sortable) plus a short random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` when it is a plain folder name; raise RunError otherwise."""
    if not run_id or "/" in run_id or os.sep in run_id or run_id in (".", "..") or "\0" in run_id:
        raise RunError(f"invalid run id {run_id!r}: expected a plain folder name")
    return run_id


def create_run_dir(runs_dir: str | os.PathLike[str], run_id: str | None = None) -> Path:
    """Make the folder of a new run, atomically: exactly one caller gets a given id.

    Without ``run_id`` a fresh one is made (another is tried should it exist). Raises RunError
    when ``runs_dir/run_id`` exists already.
    """
    parent = Path(runs_dir)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        folder = parent / check_run_id(run_id or new_run_id())
        try:
            folder.mkdir()
        except FileExistsError:
            if run_id is not None:
                raise RunError(
                    f"{folder}: a run with this id exists already; pick another --run-id "
                    f"(or continue it with --resume {folder})"
                ) from None
            continue
        return folder
    raise RunError(f"{parent}: could not find a free run id")  # pragma: no cover


def reserve_run_dir(runs_dir: str | os.PathLike[str], run_id: str | None = None) -> Path:
    """Make a new run's folder for a trainer that a launcher is about to start.

    The folder holds a one-time token in ``.reserved``; :func:`run_token` is what the trainer's
    environment needs (``RESERVED_ENV``) to claim it with :func:`claim_run_dir`.
    """
    folder = create_run_dir(runs_dir, run_id)
    _write_text_atomic(folder / RESERVED, secrets.token_hex(16))
    return folder


def run_token(run_dir: str | os.PathLike[str]) -> str:
    """The token a launcher passes to the trainer of a reserved run folder ("" if none)."""
    try:
        return read_text(Path(run_dir) / RESERVED).strip()
    except (OSError, UnreadableFile):
        return ""


def reserved_for_me(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``run_dir`` was reserved for this process (its token is in our environment)."""
    token = os.environ.get(RESERVED_ENV, "")
    return bool(token) and run_token(run_dir) == token


def _holds_only_worker_files(folder: Path) -> bool:
    """Whether ``folder`` holds what the other processes of a distributed training write
    before process 0 makes the run (``.process-<i>/``, ``train.<i>.log``), and nothing else."""
    names = [entry.name for entry in folder.iterdir()]
    return (
        all(
            name.startswith(".process-") or (name.startswith("train.") and name.endswith(".log"))
            for name in names
        )
        and not (folder / CONFIG).exists()
    )


def claim_run_dir(
    runs_dir: str | os.PathLike[str], run_id: str | None, *, workers_first: bool = False
) -> Path:
    """Return the folder this trainer writes its new run into.

    A folder a launcher reserved for this process is claimed (its token removed); any other
    existing folder is refused, so two trainings with one ``--run-id`` cannot share a folder.
    ``workers_first``: process 0 of a training over several processes also takes a folder that
    holds only what its other processes wrote there first.
    """
    if run_id is not None:
        folder = Path(runs_dir) / check_run_id(run_id)
        if workers_first and folder.is_dir() and _holds_only_worker_files(folder):
            return folder
        if reserved_for_me(folder):
            try:
                (folder / RESERVED).unlink()
            except FileNotFoundError:
                pass  # claimed meanwhile by another process: refused below
            else:
                return folder
    return create_run_dir(runs_dir, run_id)


def exists_already(runs_dir: str | os.PathLike[str], run_id: str | None) -> RunError | None:
    """The error a new run with ``run_id`` would meet (before spending time on the data)."""
    if run_id is None:
        return None
    folder = Path(runs_dir) / check_run_id(run_id)
    if folder.exists() and not reserved_for_me(folder):
        return RunError(
            f"{folder}: a run with this id exists already; pick another --run-id "
            f"(or continue it with --resume {folder})"
        )
    return None
