"""Data-parallel training on every local device, or across processes and machines.

Three modes, each on an engine built for it (nothing home-made on the wire):

- ``none``: one device, as before.
- ``devices``: every device of this machine, on TensorFlow's ``tf.distribute.MirroredStrategy``
  (the TensorFlow backend). Each step's global batch (``--batch-size``) is split between the
  replicas and the gradients summed, so a step is the step one device would take. On a machine
  without GPUs, ``--cpu-devices N`` (or ``$FLOWERDASH_CPU_DEVICES``) splits the CPU into N
  logical devices (``tf.config.set_logical_device_configuration``): for tests and benchmarks.
- ``processes``: several processes on one or many machines, on Keras' distribution API with
  the JAX backend (``keras.distribution.initialize`` over ``jax.distributed``, CPU collectives
  on gloo, ``keras.distribution.DataParallel(auto_shard_dataset=False)``). Each process reads
  only its shard of the training rows (:func:`flowerdash.data.shards.shard_rows`) and feeds
  ``batch_size / processes`` of each global batch; process 0 writes the run directory, the
  others only their ``train.<index>.log`` (and a private folder). Every process sets the same
  seed, so the initial weights agree. ``tf.distribute.MultiWorkerMirroredStrategy`` is not
  used: ``fit`` fails with it in Keras 3 (keras-team/keras#20585).

The coordinator address, process count and index come from ``--coordinator``,
``--num-processes``, ``--process-id`` or ``$FLOWERDASH_COORDINATOR``,
``$FLOWERDASH_NUM_PROCESSES``, ``$FLOWERDASH_PROCESS_ID`` (falling back on SLURM's
``$SLURM_NTASKS`` and ``$SLURM_PROCID``). Given a count but no coordinator and no index, the
``train`` command starts the other processes itself on this machine (:func:`spawn_local_workers`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flowerdash import runs
from flowerdash.errors import ConfigError
from flowerdash.run_records import RunConfig, RunStatus
from flowerdash.train.rundir import RunWriter

MODES = ("none", "devices", "processes")
MODE_HELP = (
    "none: one device. devices: every device of this machine (TensorFlow MirroredStrategy; "
    "on a CPU-only machine --cpu-devices N logical devices). processes: several processes on "
    "one or many machines (Keras distribution API on the JAX backend), each reading its own "
    "shard of the training rows; needs --num-processes, and --coordinator HOST:PORT and "
    "--process-id on each machine, else starts the processes on this machine."
)
CPU_DEVICES_ENV = "FLOWERDASH_CPU_DEVICES"
COORDINATOR_ENV = "FLOWERDASH_COORDINATOR"
NUM_PROCESSES_ENV = "FLOWERDASH_NUM_PROCESSES"
PROCESS_ID_ENV = "FLOWERDASH_PROCESS_ID"
SLURM_NTASKS_ENV = "SLURM_NTASKS"
SLURM_PROCID_ENV = "SLURM_PROCID"


def _env_int(environ: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        text = environ.get(name, "").strip()
        if text:
            try:
                return int(text)
            except ValueError:
                raise ConfigError(f"${name}: expected a whole number, got {text!r}") from None
    return None


@dataclass(frozen=True)
class DistributeOptions:
    """How one training spreads over devices and processes (what the user asked for)."""

    mode: str = "none"
    cpu_devices: int = 0  # logical CPU devices for ``devices`` (0: the machine's as they are)
    coordinator: str | None = None  # HOST:PORT of process 0, for ``processes``
    num_processes: int = 1
    process_id: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(
                f"--distribute: expected one of {', '.join(MODES)}, got {self.mode!r}"
            )
        if self.cpu_devices < 0:
            raise ConfigError(f"--cpu-devices: expected 0 or more, got {self.cpu_devices}")
        if self.mode != "processes":
            return
        if self.num_processes < 2:
            raise ConfigError(
                "--distribute processes needs --num-processes (or $FLOWERDASH_NUM_PROCESSES, "
                f"$SLURM_NTASKS) of at least 2, got {self.num_processes}"
            )
        if self.process_id is not None and not 0 <= self.process_id < self.num_processes:
            raise ConfigError(
                f"--process-id: expected 0 to {self.num_processes - 1}, got {self.process_id}"
            )
        if (self.coordinator is None) != (self.process_id is None):
            raise ConfigError(
                "--distribute processes: give both --coordinator HOST:PORT and --process-id "
                "(one process per machine or task), or neither (all processes on this machine)"
            )
        if self.coordinator is not None and ":" not in self.coordinator:
            raise ConfigError(
                f"--coordinator: expected HOST:PORT of process 0, got {self.coordinator!r}"
            )

    @property
    def launches_locally(self) -> bool:
        """Whether this process starts the others itself (``processes`` without a coordinator)."""
        return self.mode == "processes" and self.coordinator is None

    @property
    def chief(self) -> bool:
        """Whether this process writes the run directory (process 0, or the only one)."""
        return not self.process_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_options(
    mode: str | None = None,
    *,
    cpu_devices: int | None = None,
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> DistributeOptions:
    """Options from command-line values, else the environment; raises ConfigError."""
    environ = os.environ if environ is None else environ
    mode = mode or "none"
    if cpu_devices is None:
        cpu_devices = _env_int(environ, CPU_DEVICES_ENV) or 0
    if mode != "processes":
        return DistributeOptions(mode=mode, cpu_devices=cpu_devices)
    if num_processes is None:
        num_processes = _env_int(environ, NUM_PROCESSES_ENV, SLURM_NTASKS_ENV) or 0
    if process_id is None:
        process_id = _env_int(environ, PROCESS_ID_ENV, SLURM_PROCID_ENV)
    coordinator = coordinator or environ.get(COORDINATOR_ENV) or None
    return DistributeOptions(
        mode=mode,
        cpu_devices=cpu_devices,
        coordinator=coordinator,
        num_processes=num_processes,
        process_id=process_id,
    )


def resume_options(
    record: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> DistributeOptions:
    """The options a run recorded in ``config.json`` under ``distribute`` (``RunConfig.
    distribute``: its mode, devices and process count), with this process's coordinator and
    index from the environment."""
    record = record or {}
    mode = record.get("mode") or "none"
    environ = os.environ if environ is None else environ
    processes = None
    if mode == "processes" and _env_int(environ, NUM_PROCESSES_ENV, SLURM_NTASKS_ENV) is None:
        processes = int(record.get("processes") or 0)
    return resolve_options(
        mode,
        cpu_devices=record.get("cpu_devices") or None,
        num_processes=processes,
        environ=environ,
    )


def select_backend(options: DistributeOptions) -> None:
    """Choose the Keras backend the mode needs; call before anything imports Keras.

    ``processes`` needs JAX (sets ``KERAS_BACKEND=jax``); ``devices`` needs TensorFlow.
    Raises ConfigError when another backend was asked for or is already loaded.
    """
    needed = {"processes": "jax", "devices": "tensorflow"}.get(options.mode)
    if needed is None:
        return
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
    else:
        current = os.environ.get("KERAS_BACKEND") or "tensorflow"
        if options.mode == "processes" and "KERAS_BACKEND" not in os.environ:
            current = needed
    if current != needed:
        raise ConfigError(
            f"--distribute {options.mode} runs on the {needed} Keras backend, but "
            f"{current} is selected (KERAS_BACKEND); unset it or set KERAS_BACKEND={needed}"
        )
    os.environ["KERAS_BACKEND"] = needed


class Cluster:
    """The started distribution: its scope, its size, and this process's part in it."""

    def __init__(
        self,
        options: DistributeOptions,
        *,
        replicas: int = 1,
        scope: Callable[[], Any] = contextlib.nullcontext,
        device_names: Sequence[str] = (),
    ) -> None:
        self.options = options
        self.replicas = replicas
        self._scope = scope
        self.device_names = list(device_names)
        self.files_sharded = False  # True when each process read its own files of a glob

    @property
    def processes(self) -> int:
        return self.options.num_processes if self.options.mode == "processes" else 1

    @property
    def index(self) -> int:
        return self.options.process_id or 0

    @property
    def chief(self) -> bool:
        return self.index == 0

    def scope(self) -> Any:
        """The context in which the model is built, compiled and fitted."""
        return self._scope()

    def local_batch_size(self, global_batch_size: int) -> int:
        """This process's share of each global batch (the whole batch on one process)."""
        if global_batch_size % self.processes:
            raise ConfigError(
                f"--batch-size {global_batch_size} is the global batch: it must divide evenly "
                f"between the {self.processes} processes"
            )
        return global_batch_size // self.processes

    def train_shard(self, images: Any, labels: np.ndarray) -> tuple[Any, np.ndarray]:
        """The training rows this process reads: all of them, or its shard padded to the
        longest shard's length so every process takes the same steps."""
        if self.processes == 1:
            return images, labels
        from flowerdash.data.shards import RowSubset, pad_rows, shard_rows

        if self.files_sharded:  # this process's own files: all their rows
            rows = np.arange(len(labels))
            longest = max(self.gather(len(labels)))
        else:
            rows = shard_rows(len(labels), self.processes, self.index)
            longest = -(-len(labels) // self.processes)
        rows = pad_rows(rows, longest)
        return RowSubset(images, rows), np.asarray(labels)[rows]

    def gather(self, value: Any) -> list[Any]:
        """Every process's JSON-ready ``value``, in process order (a collective)."""
        if self.processes == 1:
            return [value]
        from jax.experimental import multihost_utils

        data = np.frombuffer(json.dumps(value).encode(), np.uint8)
        sizes = multihost_utils.process_allgather(np.array([len(data)])).ravel()
        padded = np.zeros(int(sizes.max()), np.uint8)
        padded[: len(data)] = data
        every = multihost_utils.process_allgather(padded).reshape(len(sizes), -1)
        return [json.loads(bytes(row[:size])) for row, size in zip(every, sizes, strict=True)]

    def agree(self, flag: bool) -> bool:
        """Process 0's ``flag``, in every process (a collective: all processes call it)."""
        if self.processes == 1:
            return flag
        from jax.experimental import multihost_utils

        return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag)))

    def record(self) -> dict[str, Any]:
        """What ``config.json`` records under ``distribute``."""
        import keras

        return {
            "mode": self.options.mode,
            "backend": keras.backend.backend(),
            "devices": self.replicas,
            "processes": self.processes,
            "device_names": self.device_names,
            "cpu_devices": self.options.cpu_devices,
            "coordinator": self.options.coordinator,
        }

    def writer(self, run_dir: Path) -> RunWriter:
        """The run directory's writer for process 0, a :class:`WorkerWriter` for the others."""
        return RunWriter(run_dir) if self.chief else WorkerWriter(run_dir, self.index)

    def local_model(self, model: Any) -> Any:
        """``model`` usable by this process alone (predicting outside the collective steps):
        a copy with its weights, built outside the distribution, in ``processes`` mode."""
        if self.processes == 1:
            return model
        import keras

        copy = keras.Model.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        return copy


_STARTED: Cluster | None = None


def load_train_data(path: str | os.PathLike[str], shape: Any, options: DistributeOptions) -> Any:
    """The training set as this process reads it: one file (each process then trains on its
    rows of it), or a glob of shard files, of which each process reads only its own; their
    classes are then the union over all processes, so every process numbers them alike."""
    from flowerdash.data.labels import class_order, encode_labels
    from flowerdash.data.shards import is_glob, load_files

    cluster = start(options)
    if cluster.processes == 1 or not is_glob(path):
        return load_files(path, shape)
    dataset = load_files(path, shape, part=(cluster.index, cluster.processes))
    cluster.files_sharded = True
    classes = class_order(name for names in cluster.gather(dataset.classes) for name in names)
    codes = encode_labels(dataset.labels, classes, path=path)
    return replace(dataset, classes=classes, codes=codes)


def start(options: DistributeOptions) -> Cluster:
    """Start the distribution ``options`` ask for (once per process; later calls return it).

    Raises ConfigError for a mode this machine or backend cannot run.
    """
    global _STARTED
    if _STARTED is not None:
        if _STARTED.options != options:
            raise ConfigError("this process already trains with another distribution")
        return _STARTED
    if options.mode == "none":
        _STARTED = Cluster(options)
    elif options.mode == "devices":
        _STARTED = _start_mirrored(options)
    else:
        _STARTED = _start_processes(options)
    return _STARTED


def _start_mirrored(options: DistributeOptions) -> Cluster:
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ConfigError(
            "--distribute devices runs on the TensorFlow backend (MirroredStrategy); on "
            f"{keras.backend.backend()} use --distribute processes, one process per device"
        )
    import tensorflow as tf

    if options.cpu_devices and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * options.cpu_devices
            )
        except RuntimeError as error:  # TensorFlow already initialised its devices
            current = len(tf.config.list_logical_devices("CPU"))
            if current != options.cpu_devices:
                raise ConfigError(
                    f"--cpu-devices {options.cpu_devices}: TensorFlow already runs with "
                    f"{current} CPU device(s) in this process ({error})"
                ) from None
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    return Cluster(
        options,
        replicas=strategy.num_replicas_in_sync,
        scope=strategy.scope,
        device_names=devices,
    )


def _start_processes(options: DistributeOptions) -> Cluster:
    import keras

    if keras.backend.backend() != "jax":
        raise ConfigError(
            "--distribute processes runs on the JAX backend (Keras distribution API); set "
            "KERAS_BACKEND=jax (tf.distribute.MultiWorkerMirroredStrategy fails in Keras 3)"
        )
    import jax

    # CPU collectives between processes; GPUs and TPUs bring their own (NCCL, ICI).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(options.coordinator, options.num_processes, options.process_id)
    devices = keras.distribution.list_devices()
    mesh = keras.distribution.DeviceMesh((len(devices),), ["batch"], devices=devices)
    # Each process feeds its own shard: no automatic sharding of the input.
    distribution = keras.distribution.DataParallel(device_mesh=mesh, auto_shard_dataset=False)
    return Cluster(options, replicas=len(devices), scope=distribution.scope, device_names=devices)


class WorkerWriter(RunWriter):
    """The writer of a process other than 0: it writes none of the run directory's files.

    Its log is ``train.<index>.log``; its own Keras files (backup, CSV log) go to a private
    folder ``.process-<index>/``; status, progress, config and published files are skipped.
    """

    def __init__(self, run_dir: str | os.PathLike[str], index: int) -> None:
        super().__init__(run_dir)
        self.index = index
        self.private = self.run_dir / f".process-{index}"
        self.private.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        if name == runs.LOG:
            return self.run_dir / f"train.{self.index}.log"
        return self.private / name

    def write_config(self, config: RunConfig) -> None:
        pass

    def set_state(self, state: str, **fields: Any) -> None:
        self._status = (self._status or RunStatus(state=state)).changed(state=state, **fields)

    def update_status(self, **fields: Any) -> None:
        pass

    def start_heartbeat(self, every: float = 0.0) -> None:
        pass

    def append_progress(self, record: dict[str, Any]) -> None:
        pass

    def publish(self, name: str, write: Callable[[Path], Any]) -> Path:
        return self.file(name)


def worker_log(run_dir: Path, index: int) -> Path:
    """Where process ``index`` (not 0) logs."""
    return Path(run_dir) / f"train.{index}.log"


def free_local_address() -> str:
    """``127.0.0.1:PORT`` with a port free now (for processes on this machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn_local_workers(
    options: DistributeOptions, argv: Sequence[str], run_dir: Path
) -> tuple[DistributeOptions, list[subprocess.Popen[bytes]]]:
    """Start processes 1..N-1 of ``options`` on this machine, running ``flowerdash`` with
    ``argv`` (the same ``train`` arguments), each logging to ``train.<index>.log``.

    Returns the options of this process (process 0, with the coordinator address) and the
    children. They die with this process (Linux ``PR_SET_PDEATHSIG``); a watcher thread ends
    this process when a child fails, so no process waits forever on a dead peer.
    """
    address = free_local_address()
    run_dir.mkdir(parents=True, exist_ok=True)
    children = []
    for index in range(1, options.num_processes):
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            "PYTHONUNBUFFERED": "1",
            COORDINATOR_ENV: address,
            NUM_PROCESSES_ENV: str(options.num_processes),
            PROCESS_ID_ENV: str(index),
        }
        with worker_log(run_dir, index).open("ab") as log:
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flowerdash", *argv],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    preexec_fn=_die_with_parent,
                )
            )
    threading.Thread(target=_watch_children, args=(children,), daemon=True).start()
    return replace(options, coordinator=address, process_id=0), children


def _watch_children(children: list[subprocess.Popen[bytes]]) -> None:
    """End this process as soon as a child fails: its peers would wait for it forever."""
    running = dict(enumerate(children, start=1))
    while running:
        for index, child in list(running.items()):
            code = child.poll()
            if code is None:
                continue
            del running[index]
            if code != 0:
                print(
                    f"error: training process {index} exited with code {code} (see "
                    f"train.{index}.log); ending all processes",
                    file=sys.stderr,
                    flush=True,
                )
                os._exit(1)
        time.sleep(0.2)


def shutdown() -> None:
    """Leave the process group (``jax.distributed.shutdown``: a barrier, so every process
    calls it); nothing to do for one process."""
    if _STARTED is not None and _STARTED.processes > 1:
        import jax

        jax.distributed.shutdown()


@contextlib.contextmanager
def reaped(children: list[subprocess.Popen[bytes]], timeout: float = 60.0) -> Iterator[None]:
    """Wait for ``children`` on the way out (after :func:`shutdown`, whose barrier they wait
    at as they exit); kill those still running after ``timeout``."""
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            shutdown()
        for child in children:
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
