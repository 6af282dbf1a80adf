"""Data commands through the CLI: inspect, convert, cache; exit codes and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from data_helpers import REPO_ROOT, csv_text, random_images, write
from PIL import Image

from flowerdash.cli import main


def _csv(tmp_path: Path) -> Path:
    return write(tmp_path / "f.csv", csv_text(["b", "a", "b"], random_images(3, (2, 2, 3))))


def test_inspect_json_prints_one_object_with_the_contract_fields(tmp_path, capsys):
    assert main(["inspect", str(_csv(tmp_path)), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 3 and summary["shape"] == [2, 2, 3]
    assert summary["header"] is False and summary["classes"] == ["a", "b"]
    assert summary["class_counts"] == {"a": 1, "b": 2}
    assert summary["label_column"] == 0 and summary["cache"] == "written"
    assert len(summary["fingerprint"]) == 64


def test_inspect_reports_a_cache_hit_the_second_time(tmp_path, capsys):
    path = str(_csv(tmp_path))
    main(["inspect", path, "--json"])
    capsys.readouterr()
    main(["inspect", path, "--json"])
    assert json.loads(capsys.readouterr().out)["cache"] == "hit"


def test_inspect_prints_a_human_summary_by_default(tmp_path, capsys):
    assert main(["inspect", str(_csv(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "rows:          3" in out and "2x2x3 (RGB)" in out
    assert "  b  2" in out


def test_inspect_honours_an_explicit_shape(tmp_path, capsys):
    assert main(["inspect", str(_csv(tmp_path)), "--shape", "1x4x3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [1, 4, 3]


def test_inspect_bad_file_exits_2_with_one_line_naming_file_and_line(tmp_path):
    path = write(tmp_path / "bad.csv", "a,1,2,3,4\nb,1,2,x,4\n")
    result = subprocess.run(
        [sys.executable, "-m", "flowerdash", "inspect", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}, line 2: found 'x' in column 4")


def test_inspect_missing_file_exits_2(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "none.csv")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_inspect_does_not_import_tensorflow_or_keras(tmp_path):
    script = (
        "import sys; from flowerdash.cli import main; "
        f"code = main(['inspect', {str(_csv(tmp_path))!r}, '--json']); "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
        "print(heavy, file=sys.stderr); sys.exit(code or (1 if heavy else 0))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"


def test_convert_command_writes_both_csvs_and_lists_skipped_files(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / "img" / name).mkdir(parents=True)
        for index in range(2):
            Image.fromarray(np.full((9, 9, 3), index * 50, np.uint8)).save(
                tmp_path / "img" / name / f"{index}.png"
            )
    (tmp_path / "img" / "a" / "bad.jpg").write_bytes(b"xx")
    code = main(["convert", str(tmp_path / "img"), str(tmp_path / "out"), "--size", "4"])
    captured = capsys.readouterr()
    assert code == 0
    assert "bad.jpg" in captured.err
    assert (tmp_path / "out_train.csv").exists() and (tmp_path / "out_test.csv").exists()
    assert "4x4x3" in captured.out


def test_convert_without_class_folders_exits_2(tmp_path, capsys):
    (tmp_path / "img").mkdir()
    assert main(["convert", str(tmp_path / "img"), str(tmp_path / "o")]) == 2
    assert "subfolder" in capsys.readouterr().err


def test_cache_info_and_clear(tmp_path, capsys):
    main(["inspect", str(_csv(tmp_path)), "--json"])
    capsys.readouterr()
    assert main(["cache", "info", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["entries"]) == 1
    assert main(["cache", "clear"]) == 0
    assert "cleared" in capsys.readouterr().out
    main(["cache", "info", "--json"])
    assert json.loads(capsys.readouterr().out)["entries"] == []
