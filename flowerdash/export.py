"""Exporting a finished run's model: TensorFlow SavedModel, ONNX and TFLite (LiteRT), checked.

Each format is written by Keras 3's ``model.export`` (``tf_saved_model``; ``onnx`` through
tf2onnx; ``litert`` through TensorFlow's converter) into ``<run>/exports/``, from an inference
graph (the model called with ``training=False``, so the augmentation block is left out: traced
with Keras' defaults, RandomAffine would augment inside the export, and tf2onnx has no ONNX op
for it). Right after writing, the file is reloaded with its own runtime (TensorFlow,
onnxruntime, the LiteRT interpreter of ``ai-edge-litert``), run on the run's test set and
compared with ``model.keras``'s predictions; the agreement is recorded in
``exports/agreement.json`` and ``MODEL_CARD.md`` (input contract, classes, data fingerprints,
test scores) is rewritten in the run folder.

Keras, TensorFlow and the runtimes are imported inside the functions only.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flowerdash import runs
from flowerdash.child_command import run_flowerdash_json
from flowerdash.errors import ConfigError, RunError
from flowerdash.files import read_json, write_json_atomic

if TYPE_CHECKING:
    import keras

EXPORTS_DIR = "exports"
AGREEMENT = "agreement.json"
MODEL_CARD = "MODEL_CARD.md"
EXPORT_BATCH_SIZE = 64
#: Bound on an export run from the dashboard (three formats take ~20-60 s on 2 busy cores).
EXPORT_TIMEOUT_S = 600


@dataclass(frozen=True)
class ExportFormat:
    """One export format: Keras' name for it, its file in ``exports/``, and its runtime."""

    name: str
    title: str
    keras_format: str
    filename: str
    runtime: str
    load_hint: str


FORMATS: dict[str, ExportFormat] = {
    spec.name: spec
    for spec in (
        ExportFormat(
            "saved_model",
            "TensorFlow SavedModel",
            "tf_saved_model",
            "saved_model",
            "tensorflow",
            'tf.saved_model.load("saved_model").serve(pixels)',
        ),
        ExportFormat(
            "onnx",
            "ONNX",
            "onnx",
            "model.onnx",
            "onnxruntime",
            'onnxruntime.InferenceSession("model.onnx").run(None, {"pixels": pixels})[0]',
        ),
        ExportFormat(
            "tflite",
            "TensorFlow Lite (LiteRT)",
            "litert",
            "model.tflite",
            "ai-edge-litert",
            'ai_edge_litert.interpreter.Interpreter(model_path="model.tflite") '
            "(resize_tensor_input to the batch, allocate_tensors, set_tensor, invoke)",
        ),
    )
}


def check_formats(formats: Sequence[str]) -> list[str]:
    """The formats, unique and in ``FORMATS`` order; raises ConfigError for an unknown one."""
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise ConfigError(
            f"unknown export format {', '.join(map(repr, unknown))}; "
            f"expected one of: {', '.join(FORMATS)}"
        )
    if not formats:
        raise ConfigError(f"no export format given; expected some of: {', '.join(FORMATS)}")
    return [name for name in FORMATS if name in formats]


def exports_dir(run_dir: str | os.PathLike[str]) -> Path:
    """The run's ``exports/`` folder (it may not exist yet)."""
    return Path(run_dir) / EXPORTS_DIR


def export_path(run_dir: str | os.PathLike[str], name: str) -> Path:
    """Where format ``name`` is written in the run folder."""
    return exports_dir(run_dir) / FORMATS[name].filename


def download_path(run_dir: str | os.PathLike[str], name: str) -> Path:
    """The single file to download for ``name`` (the SavedModel folder is zipped beside it)."""
    path = export_path(run_dir, name)
    return path.with_suffix(".zip") if name == "saved_model" else path


def inference_model(model: keras.Model) -> keras.Model:
    """The model as a graph called with ``training=False`` (augmentation and dropout off)."""
    import keras

    inputs = keras.Input(shape=model.input_shape[1:], name="pixels", dtype="float32")
    return keras.Model(inputs, model(inputs, training=False), name=f"{model.name}_inference")


def _batches(images: np.ndarray) -> list[np.ndarray]:
    return [
        np.ascontiguousarray(images[start : start + EXPORT_BATCH_SIZE], dtype=np.float32)
        for start in range(0, len(images), EXPORT_BATCH_SIZE)
    ]


def _saved_model_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(path))
    return lambda batch: np.asarray(loaded.serve(tf.constant(batch)))


def _onnx_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: np.asarray(session.run(None, {name: batch})[0])


def _tflite_predictor(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def predict(batch: np.ndarray) -> np.ndarray:
        interpreter.resize_tensor_input(source, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, batch)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target))

    return predict


_PREDICTORS: dict[str, Callable[[Path], Callable[[np.ndarray], np.ndarray]]] = {
    "saved_model": _saved_model_predictor,
    "onnx": _onnx_predictor,
    "tflite": _tflite_predictor,
}


def runtime_probabilities(name: str, path: Path, images: np.ndarray) -> np.ndarray:
    """Probabilities ``(N, classes)`` of export ``name`` at ``path``, run by its own runtime."""
    predict = _PREDICTORS[name](path)
    return np.concatenate([predict(batch) for batch in _batches(images)])


def compare_predictions(reference: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """How far ``other`` agrees with ``reference``: same top class count, largest prob diff."""
    if reference.shape != other.shape:
        raise RunError(
            f"export gave predictions of shape {other.shape}, expected {reference.shape}"
        )
    same = int((reference.argmax(axis=1) == other.argmax(axis=1)).sum())
    diff = float(np.abs(reference - other).max()) if reference.size else 0.0
    return {"same_class": same, "count": len(reference), "max_prob_diff": diff}


def format_agreement(record: dict[str, Any]) -> str:
    """``"125/125 same class, max prob diff 2e-06"`` for an agreement record."""
    return (
        f"{record['same_class']}/{record['count']} same class, "
        f"max prob diff {record['max_prob_diff']:.1g}"
    )


def _runtime_version(runtime: str) -> str:
    try:
        return metadata.version(runtime)
    except metadata.PackageNotFoundError:
        return "unknown"


def _write(name: str, model: keras.Model, path: Path) -> None:
    import logging

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    model.export(os.fspath(path), format=FORMATS[name].keras_format, verbose=False)
    if name == "saved_model":
        archive = download_path(path.parent.parent, name)
        shutil.make_archive(os.fspath(archive.with_suffix("")), "zip", path.parent, path.name)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def _test_images(config: runs.RunConfig, test_path: Path | None) -> tuple[Path, Any]:
    from flowerdash.data import load_dataset
    from flowerdash.data_checks import check_same_shape

    path = Path(test_path) if test_path is not None else config.test.path
    dataset = load_dataset(path, config.shape)
    check_same_shape(path, dataset.images.shape[1:], config.shape, against="the model's input")
    return path, dataset


def read_agreement(run_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The recorded agreement of each format exported so far (empty when none)."""
    path = exports_dir(run_dir) / AGREEMENT
    if not path.is_file():
        return {}
    return read_json(path)


def export_run(
    run_dir: str | os.PathLike[str],
    formats: Sequence[str] = tuple(FORMATS),
    *,
    test_path: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Write, reload and check each of ``formats`` for a finished run; return their records.

    Each record: ``format``, ``file`` (relative to the run folder), ``bytes``, ``runtime`` and
    its version, ``same_class``, ``count``, ``max_prob_diff``, ``test_path``,
    ``test_fingerprint``, ``seconds``, ``made`` (Unix time). The test set is the run's own
    (``config.json``) unless ``test_path`` is given. Raises ConfigError for an unknown format,
    RunError for a run without a model, DatasetError for an unreadable test file.
    """
    from flowerdash.evaluate import predict_probabilities
    from flowerdash.predict import load_run_model

    run_dir = Path(run_dir)
    names = check_formats(formats)
    config = runs.read_config(run_dir)
    model = load_run_model(run_dir)
    path, dataset = _test_images(config, Path(test_path) if test_path else None)
    images = np.asarray(dataset.images, dtype=np.float32)
    reference = predict_probabilities(model, images)
    graph = inference_model(model)
    graph(images[:1])  # Keras' ONNX and LiteRT exporters refuse a model never called
    exports_dir(run_dir).mkdir(exist_ok=True)
    records = read_agreement(run_dir)
    made = {}
    for name in names:
        started = time.time()
        target = export_path(run_dir, name)
        _write(name, graph, target)
        record = {
            "format": name,
            "file": target.relative_to(run_dir).as_posix(),
            "bytes": _size(target),
            "runtime": FORMATS[name].runtime,
            "runtime_version": _runtime_version(FORMATS[name].runtime),
            **compare_predictions(reference, runtime_probabilities(name, target, images)),
            "test_path": os.fspath(path),
            "test_fingerprint": dataset.fingerprint,
            "seconds": round(time.time() - started, 2),
            "made": time.time(),
        }
        records[name] = made[name] = record
        write_json_atomic(exports_dir(run_dir) / AGREEMENT, records)
    write_model_card(run_dir)
    return made


def _scores(run_dir: Path) -> list[str]:
    try:
        report = runs.read_report(run_dir)
    except RunError:  # a run without report.json still gets a card
        return ["- no report.json in the run folder"]
    count = int(np.sum(report.confusion_matrix))
    lines = [f"- accuracy {report.accuracy or 0.0:.4f} on {count} test images"]
    for average in ("macro avg", "weighted avg"):
        if average in report.scores:
            lines.append(f"- {average} F1 {report.scores[average]['f1-score']:.4f}")
    return lines


def model_card(run_dir: str | os.PathLike[str]) -> str:
    """The text of ``MODEL_CARD.md`` for the run, from its config, report and agreement."""
    run_dir = Path(run_dir)
    config = runs.read_config(run_dir)
    height, width, channels = config.shape
    classes = config.classes
    agreement = read_agreement(run_dir)
    lines = [
        f"# Model card: run {run_dir.name}",
        "",
        f"Model `{config.settings.model}`, trained by flowerdash.",
        "",
        "## Input contract (every format)",
        "",
        f"- one float32 tensor `pixels` of shape `(N, {height}, {width}, {channels})`: a batch "
        f"of N images, height {height}, width {width}, {channels} channel(s) "
        f"({'grayscale' if channels == 1 else 'RGB'}), channels last (HWC)",
        "- raw pixel values 0-255, exactly as stored in the CSV; do not rescale (the model "
        "divides by 255 itself) and do not normalise",
        f"- output: `(N, {len(classes)})` class probabilities (softmax), in the class order below",
        "",
        "## Classes (output index: label)",
        "",
        *[f"{index}. {label}" for index, label in enumerate(classes)],
        "",
        "## Data",
        "",
    ]
    for role, record in (("train", config.train), ("test", config.test)):
        lines.append(
            f"- {role}: `{record.path.name}`, {record.rows or '?'} rows, "
            f"SHA-256 `{record.fingerprint or '?'}`"
        )
    lines += ["", "## Test scores (model.keras)", "", *_scores(run_dir), "", "## Formats", ""]
    lines.append("| format | file | load with | agreement with model.keras on the test set |")
    lines.append("|---|---|---|---|")
    lines.append(
        "| Keras 3 | `model.keras` | `keras.saving.load_model(path)` (flowerdash's "
        "RandomAffine layer registered) | reference |"
    )
    for name, spec in FORMATS.items():
        if name in agreement:
            record = agreement[name]
            lines.append(
                f"| {spec.title} | `{record['file']}` | `{spec.load_hint}` "
                f"({record['runtime']} {record['runtime_version']}) | "
                f"{format_agreement(record)} |"
            )
    if not agreement:
        lines.append("| (no exports yet) | | `flowerdash export RUN_DIR` | |")
    return "\n".join(lines) + "\n"


def write_model_card(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``MODEL_CARD.md`` in the run folder (atomically) and return its path."""
    path = Path(run_dir) / MODEL_CARD
    temporary = path.with_name(f".{MODEL_CARD}.tmp")
    temporary.write_text(model_card(run_dir))
    os.replace(temporary, path)
    return path


def export_in_subprocess(
    run_dir: str | os.PathLike[str],
    formats: Sequence[str],
    *,
    timeout: float = EXPORT_TIMEOUT_S,
) -> dict[str, dict[str, Any]]:
    """Run ``flowerdash export`` in a child process (so a converter crash cannot take the
    caller down) and return the agreement records it made. Raises RunError on failure."""
    names = check_formats(formats)
    arguments = ["export", os.fspath(run_dir), "--json"]
    arguments += [option for name in names for option in ("--format", name)]
    return run_flowerdash_json(arguments, what="export", timeout=timeout)
