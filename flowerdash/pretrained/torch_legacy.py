"""Reading a PyTorch ``state_dict`` saved in the legacy (non-zip) format, without PyTorch.

``torch.save(..., _use_new_zipfile_serialization=False)`` writes five pickles one after the
other, then the raw data of every storage:

1. the magic number ``0x1950A86A20F9469CFC6C``;
2. the protocol version, ``1001``;
3. system info (``little_endian``, ``type_sizes``);
4. the object itself (here an ``OrderedDict`` of tensors). Each tensor is pickled as a call to
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` whose ``storage`` is
   a *persistent id* ``("storage", <storage type>, key, location, element count, view)``;
5. the list of storage keys, in the order their data follows.

Then, per key in that order: the element count as an 8-byte little-endian integer and the
elements as raw little-endian values. A restricted unpickler resolves only the few globals a
state dict needs (anything else is refused, so a crafted file cannot run code), stands in
placeholders for storages and tensors while the pickles are read, and builds NumPy arrays once
the storage data has been read.
"""

from __future__ import annotations

import collections
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from flowerdash.errors import FlowerdashError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

#: Storage types a state dict may name, and the NumPy dtype of their little-endian elements.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchFileError(FlowerdashError):
    """A file that is not a legacy PyTorch state dict this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return STORAGE_DTYPES[self.name]


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    count: int


@dataclass(frozen=True)
class _TensorRef:
    """A tensor to build once its storage's data is known."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def extent(self) -> int:
        """Elements of the storage the tensor reaches (from its start)."""
        if self.size and min(self.size) == 0:
            return 0
        last = sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        return self.offset + last + 1

    def build(self, data: np.ndarray) -> np.ndarray:
        if not self.size:
            return np.array(data[self.offset])
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.size,
            strides=tuple(step * itemsize for step in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(
    storage: _StorageRef,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _TensorRef:
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only what a state dict of plain tensors needs; refuses every other global."""

    def __init__(self, file: IO[bytes], source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchFileError(
            f"{self.source}: the pickle asks for {module}.{name}; expected only tensors "
            "(torch._utils._rebuild_tensor_v2, torch.*Storage) in an OrderedDict"
        )

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise TorchFileError(f"{self.source}: unexpected persistent id {pid!r}")
        storage_type, key, _location, count = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"{self.source}: unexpected storage type {storage_type!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise TorchFileError(f"{self.source}: storage views are not supported")
        return _StorageRef(str(key), storage_type.dtype, int(count))


def _load_pickle(file: IO[bytes], source: str, what: str) -> Any:
    try:
        return _StateDictUnpickler(file, source).load()
    except TorchFileError:
        raise
    except Exception as error:  # a truncated or foreign file: say which part was unreadable
        raise TorchFileError(f"{source}: cannot read the {what} ({error})") from None


def _read_exact(file: IO[bytes], count: int, source: str, what: str) -> bytes:
    data = file.read(count)
    if len(data) != count:
        raise TorchFileError(
            f"{source}: the file ends inside {what} (expected {count} bytes, found {len(data)})"
        )
    return data


def read_state_dict(path: str | os.PathLike[str]) -> collections.OrderedDict[str, np.ndarray]:
    """Return the tensors of the legacy-format PyTorch ``state_dict`` at ``path``, by name.

    Arrays are NumPy (float32 for ``FloatStorage``, int64 for ``LongStorage``, ...), in the
    file's order. Raises TorchFileError for another format, a global other than tensors and
    storages, a truncated file, or bytes left over after the last storage.
    """
    source = os.fspath(path)
    with Path(path).open("rb") as file:
        if file.read(4) == b"PK\x03\x04":
            raise TorchFileError(
                f"{source}: a zip-format PyTorch file (torch >= 1.6); this reader takes the "
                "legacy format (saved with _use_new_zipfile_serialization=False)"
            )
        file.seek(0)
        if _load_pickle(file, source, "magic number") != MAGIC_NUMBER:
            raise TorchFileError(f"{source}: not a legacy PyTorch file (its magic number differs)")
        protocol = _load_pickle(file, source, "protocol version")
        if protocol != PROTOCOL_VERSION:
            raise TorchFileError(
                f"{source}: protocol version {protocol!r}; expected {PROTOCOL_VERSION}"
            )
        info = _load_pickle(file, source, "system info")
        if not isinstance(info, dict) or not info.get("little_endian", False):
            raise TorchFileError(f"{source}: expected a little-endian file, got {info!r}")
        state = _load_pickle(file, source, "state dict")
        keys = _load_pickle(file, source, "storage keys")
        if not isinstance(state, dict) or not isinstance(keys, list):
            raise TorchFileError(f"{source}: expected a state dict (a dict of tensors)")
        tensors = {}
        for name, value in state.items():
            if not isinstance(value, _TensorRef):
                raise TorchFileError(f"{source}: entry {name!r} is not a tensor")
            tensors[name] = value
        refs = {ref.storage.key: ref.storage for ref in tensors.values()}
        storages: dict[str, np.ndarray] = {}
        for key in keys:
            if key not in refs:
                raise TorchFileError(f"{source}: storage {key!r} is listed but no tensor uses it")
            ref = refs[key]
            count = int.from_bytes(_read_exact(file, 8, source, f"storage {key}'s size"), "little")
            if count != ref.count:
                raise TorchFileError(
                    f"{source}: storage {key} holds {count} elements; its tensors expect "
                    f"{ref.count}"
                )
            raw = _read_exact(file, count * ref.dtype.itemsize, source, f"storage {key}")
            storages[key] = np.frombuffer(raw, dtype=ref.dtype)
        missing = sorted(set(refs) - set(storages))
        if missing:
            raise TorchFileError(f"{source}: no data for storage(s) {', '.join(missing)}")
        left = len(file.read())
        if left:
            raise TorchFileError(f"{source}: {left} bytes left over after the last storage")
    result: collections.OrderedDict[str, np.ndarray] = collections.OrderedDict()
    for name, tensor in tensors.items():
        if len(tensor.size) != len(tensor.stride) or tensor.extent() > tensor.storage.count:
            raise TorchFileError(f"{source}: tensor {name!r} does not fit its storage")
        result[name] = tensor.build(storages[tensor.storage.key])
    return result
