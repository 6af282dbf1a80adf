"""Reading the legacy PyTorch state dict of the pretrained weights, without PyTorch."""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest

from flowerdash.pretrained.efficientnet_lite import weights_source
from flowerdash.pretrained.torch_legacy import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    TorchFileError,
    read_state_dict,
)


@pytest.fixture(scope="module")
def state_dict():
    return read_state_dict(weights_source())


def test_reads_every_tensor_of_the_efficientnet_lite0_weights(state_dict):
    assert len(state_dict) == 296
    counters = [name for name in state_dict if name.endswith("num_batches_tracked")]
    assert len(counters) == 49
    assert all(state_dict[name].dtype == np.int64 for name in counters)
    floats = [v for name, v in state_dict.items() if name not in counters]
    assert all(v.dtype == np.float32 for v in floats)
    learned = sum(
        v.size
        for name, v in state_dict.items()
        if not name.endswith(("running_mean", "running_var")) and name not in counters
    )
    assert learned == pytest.approx(4.65e6, rel=0.01)


def test_tensors_have_the_lukemelas_names_and_shapes(state_dict):
    assert state_dict["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state_dict["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state_dict["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state_dict["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert state_dict["_fc.weight"].shape == (1000, 1280)
    assert np.all(state_dict["_bn1.running_var"] > 0)
    assert np.isfinite(state_dict["_fc.weight"]).all()


def test_bytes_after_the_last_storage_are_refused(tmp_path):
    copy = tmp_path / "extra.pth"
    shutil.copyfile(weights_source(), copy)
    with copy.open("ab") as file:
        file.write(b"\0")
    with pytest.raises(TorchFileError, match="1 bytes left over"):
        read_state_dict(copy)


def test_a_truncated_file_names_the_storage_it_ends_in(tmp_path):
    source = weights_source()
    copy = tmp_path / "short.pth"
    with source.open("rb") as file:
        copy.write_bytes(file.read(os.path.getsize(source) - 100))
    with pytest.raises(TorchFileError, match="ends inside storage"):
        read_state_dict(copy)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_a_pickle_that_asks_for_other_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(
        b"".join(
            pickle.dumps(part, protocol=2)
            for part in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}, _RunsCode())
        )
    )
    with pytest.raises(TorchFileError, match=r"asks for \w+\.system"):
        read_state_dict(path)


def test_a_zip_format_file_is_named_as_such(tmp_path):
    path = tmp_path / "zip.pth"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(TorchFileError, match=r"zip\.pth: a zip-format"):
        read_state_dict(path)
