"""Fuzzing the readers of untrusted input (issue #12): random and mutated inputs give a result
or a ``FlowerdashError``, never another exception, each within a time bound.

Bounded: a fixed number of examples per test (``derandomize`` keeps CI reproducible), small
inputs, and a generous per-example deadline (the machine is shared) that still catches a hang
or a runaway loop.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowerdash import run_records, runs
from flowerdash.data import load_dataset, parse_shape
from flowerdash.data.limits import ReadLimits
from flowerdash.dataset_files import resolve_data_path, safe_file_name
from flowerdash.errors import FlowerdashError
from flowerdash.predict import check_model_file

FUZZ = settings(
    max_examples=150,
    deadline=5000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMITS = ReadLimits(ratio_after=4096, gzip_size=1 << 20, cache_size=1 << 22)


def _valid_csv(rows: int, pixels: int, header: bool, label_last: bool, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    lines = []
    if header:
        names = [f"pixel{i}" for i in range(pixels)]
        lines.append(",".join([*names, "label"] if label_last else ["label", *names]))
    for row in range(rows):
        values = [str(v) for v in rng.integers(0, 256, pixels)]
        label = ["cat", "dog", "7", "wild rose"][row % 4]
        lines.append(",".join([*values, label] if label_last else [label, *values]))
    return ("\n".join(lines) + "\n").encode()


@st.composite
def mutated_csv(draw: st.DrawFn) -> bytes:
    """A valid small image CSV, then a few random edits (bytes changed, inserted, deleted,
    lines cut or repeated), sometimes gzipped before or after the edits."""
    pixels = draw(st.sampled_from([1, 4, 12, 16]))
    data = bytearray(
        _valid_csv(draw(st.integers(1, 12)), pixels, draw(st.booleans()), draw(st.booleans()), 0)
    )
    compress_first = draw(st.booleans()) and draw(st.booleans())
    if compress_first:
        data = bytearray(gzip.compress(bytes(data)))
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["replace", "insert", "delete", "cut", "repeat"]))
        byte = draw(
            st.sampled_from([*b',\n\r" -.0123456789a\x00\xff\t', draw(st.integers(0, 255))])
        )
        if edit == "replace":
            data[position] = byte
        elif edit == "insert":
            data[position:position] = bytes([byte]) * draw(st.integers(1, 3))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        elif edit == "cut":
            del data[position:]
        else:
            data[position:position] = data[position : position + draw(st.integers(1, 64))]
    if not compress_first and draw(st.integers(0, 4)) == 0:
        data = bytearray(gzip.compress(bytes(data)))
    return bytes(data)


_names = itertools.count()


def _read(folder: Path, data: bytes, use_cache: bool, shape: str | None = None) -> None:
    path = folder / f"input-{next(_names)}.csv"  # a new name: no cache hit from an earlier one
    path.write_bytes(data)
    try:
        dataset = load_dataset(path, shape, use_cache=use_cache, limits=LIMITS)
    except FlowerdashError:
        return
    # a result must be self-consistent
    assert len(dataset.codes) == len(dataset) > 0
    assert sum(dataset.class_counts().values()) == len(dataset)
    assert dataset.images.dtype == np.uint8 and dataset.images.shape[1:] == dataset.shape


@FUZZ
@given(data=st.binary(max_size=3000), use_cache=st.booleans())
def test_random_bytes_are_read_or_refused(tmp_path, data, use_cache):
    _read(tmp_path, data, use_cache)


@FUZZ
@given(data=mutated_csv(), use_cache=st.booleans(), shape=st.sampled_from([None, "2x2x1", "1x4"]))
def test_mutated_csvs_are_read_or_refused(tmp_path, data, use_cache, shape):
    _read(tmp_path, data, use_cache, shape)


@FUZZ
@given(text=st.text(max_size=40))
def test_any_shape_text_parses_or_is_refused(text):
    try:
        shape = parse_shape(text)
    except FlowerdashError:
        return
    assert shape is None or (len(shape) == 3 and min(shape) >= 1)


@FUZZ
@given(text=st.text(max_size=300), long_part=st.integers(0, 400))
def test_any_typed_path_resolves_inside_data_or_is_refused(tmp_path, text, long_part):
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "a.csv").write_text("a,1\n")
    typed = text + "x" * long_part if long_part > 250 else text
    try:
        resolved = resolve_data_path(typed, data_dir)
    except FlowerdashError:
        return
    assert resolved.is_relative_to(data_dir.resolve()) and resolved.is_file()


@FUZZ
@given(name=st.text(max_size=400))
def test_any_upload_name_becomes_a_short_plain_file_name(name):
    stored = safe_file_name(name)
    assert stored and "/" not in stored and len(stored.encode()) <= 255
    assert stored not in (".", "..") and not stored.startswith(".")


@st.composite
def model_files(draw: st.DrawFn) -> bytes:
    """Random bytes, or a zip whose config.json is random JSON-ish text."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=500))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if draw(st.booleans()):
            archive.writestr("config.json", draw(st.text(max_size=200)))
        else:
            archive.writestr("config.json", draw(st.sampled_from(_CONFIGS)))
    data = buffer.getvalue()
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.booleans()) else data


_CONFIGS = [
    "[]",
    "null",
    '{"class_name": "Lambda"}',
    '{"config": {"layers": [{"class_name": "TFSMLayer", "name": 3}]}}',
    '{"module": 5, "class_name": []}',
    '{"config": {"layers": [[[{"module": "subprocess", "class_name": "Popen"}]]]}}',
]


@FUZZ
@given(data=model_files())
def test_any_model_file_is_accepted_or_refused_as_a_run_error(tmp_path, data):
    path = tmp_path / "model.keras"
    path.write_bytes(data)
    try:
        check_model_file(path)
    except FlowerdashError:
        return


def _outcome(path: Path) -> tuple:
    try:
        dataset = load_dataset(path, use_cache=False, limits=LIMITS)
    except FlowerdashError as error:
        return ("error", str(error))
    return ("data", dataset.images.tobytes(), dataset.shape, list(dataset.labels))


@FUZZ
@given(data=mutated_csv())
def test_lines_decoded_in_pieces_give_what_whole_lines_give(tmp_path, monkeypatch, data):
    """Differential: with chunks and pieces of 16 bytes every line takes the wide-line path
    (decoded in pieces cut at commas, one line a chunk); the data must be the normal path's,
    and a file refused one way is refused the other (the message may name another bad line:
    with one line a chunk, the first line with any problem is the one reported)."""
    from flowerdash.data import parser

    path = tmp_path / f"input-{next(_names)}.csv"
    path.write_bytes(data)
    expected = _outcome(path)
    with monkeypatch.context() as patch:
        patch.setattr(parser, "CHUNK_BYTES", 16)
        patch.setattr(parser, "WIDE_LINE_BYTES", 16)
        patch.setitem(parser.iter_decoded.__kwdefaults__, "chunk_bytes", 16)
        found = _outcome(path)
    assert found[0] == expected[0], (found, expected)
    if found[0] == "data":
        assert found == expected


# -- run folders ------------------------------------------------------------------------------

VALID_CONFIG = {
    "run_id": "r",
    "created": 1.0,
    "settings": {},
    "augment": {},
    "data": {
        "train": {"path": "/x/train.csv", "fingerprint": "ab", "rows": 3, "shape": [4, 4, 1]},
        "test": {"path": "/x/test.csv", "fingerprint": "cd", "rows": 2, "shape": [4, 4, 1]},
    },
    "classes": ["a", "b"],
    "shape": [4, 4, 1],
}
VALID_STATUS = {
    "state": "finished",
    "pid": 1,
    "started": 1.0,
    "updated": 2.0,
    "finished": 2.0,
    "epoch": 1,
    "epochs": 1,
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
RUN_FILES = ["config.json", "status.json", "history.csv", "report.json", "progress.jsonl"]


@st.composite
def mutated_json(draw: st.DrawFn, base: dict) -> str:
    """``base`` with a few keys (at any depth) deleted or replaced by random JSON values, and
    sometimes cut short."""
    value = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 4))):
        target = value
        while isinstance(target, dict) and target and draw(st.booleans()):
            child = target[draw(st.sampled_from(sorted(target)))]
            if not isinstance(child, dict):
                break
            target = child
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(json_values)
    text = json.dumps(value)
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


_run_folders = itertools.count()


def _read_run(folder: Path) -> None:
    """Every run-folder reader gives a result or a FlowerdashError; summarizing and listing
    never fail, and a run folder is always listed (marked when damaged)."""
    for read in (
        run_records.read_config,
        run_records.read_recorded_status,
        run_records.read_report,
        run_records.read_history,
        runs.read_status,
    ):
        with contextlib.suppress(FlowerdashError):
            read(folder)
    summary = runs.summarize_run(folder)
    listed = {run.run_id for run in runs.list_runs(folder.parent)}
    if runs.is_run_dir(folder):
        assert summary.run_id in listed


@FUZZ
@given(
    config=mutated_json(VALID_CONFIG),
    status=mutated_json(VALID_STATUS),
    history=st.binary(max_size=300),
    report=st.text(max_size=200),
)
def test_mutated_run_files_are_read_or_refused(tmp_path, config, status, history, report):
    folder = tmp_path / "runs" / f"r{next(_run_folders)}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(config)
    (folder / "status.json").write_text(status)
    (folder / "history.csv").write_bytes(history)
    (folder / "report.json").write_text(report)
    _read_run(folder)


@FUZZ
@given(names=st.lists(st.sampled_from(RUN_FILES), max_size=5), content=st.binary(max_size=200))
def test_random_bytes_in_run_files_are_read_or_refused(tmp_path, names, content):
    folder = tmp_path / "runs" / f"r{next(_run_folders)}"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_bytes(content)
    _read_run(folder)
    records, offset = runs.read_progress(folder, 0)
    assert isinstance(records, list) and 0 <= offset <= len(content)
