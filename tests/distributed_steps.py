"""Train a few steps with flowerdash's distribution and print the loss after each step (JSON).

Run as a script by tests/test_distribute.py (the backend and devices are chosen per process):

    python tests/distributed_steps.py MODE MODEL OUT.json [SHARDS]

MODE is ``none`` (one device; with SHARDS, each step's batch is the union of the SHARDS
shards' batches, as that many processes would feed it), ``devices`` (2 logical CPU devices,
MirroredStrategy) or ``processes`` (coordinator, count and index from the environment).
MODEL is ``dense`` (no dropout, no batch norm) or ``minivggnet``. Process 0 writes OUT.json:
``{"losses": [...], "rows": [[...], ...]}`` (the loss after each step, and the training rows
each process read).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train_fixtures import write_image_csv

from flowerdash.train import distribute

CLASSES = ["cat", "dog", "fox"]
ROWS, BATCH, SEED = 27, 6, 7  # 27 rows: the two shards differ in length (14 and 13)


def main() -> None:
    mode, model_name, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    shards = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rows = int(os.environ.get("STEPS_ROWS", ROWS))
    options = distribute.resolve_options(mode, cpu_devices=2 if mode == "devices" else None)
    distribute.select_backend(options)
    import keras

    from flowerdash.data import load_dataset
    from flowerdash.data.batches import ImageBatches
    from flowerdash.models import build_model

    csv = write_image_csv(out.parent / f"steps-{os.getpid()}.csv", (CLASSES * rows)[:rows])
    data = load_dataset(csv, use_cache=False)
    labels = data.label_indices()
    keras.utils.set_random_seed(SEED)
    cluster = distribute.start(options)
    with cluster.scope():
        if model_name == "dense":
            inputs = keras.Input(data.shape)
            x = keras.layers.Rescaling(1 / 255)(inputs)
            x = keras.layers.Conv2D(4, 3, activation="relu")(x)
            x = keras.layers.Flatten()(x)
            model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
        else:
            model = build_model(model_name, data.shape, 3)
        model.compile(
            optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            loss="sparse_categorical_crossentropy",
        )
        if shards > 1:  # one process, fed the batches `shards` processes would feed together
            parts, own = [], cluster.options
            for index in range(shards):
                cluster.options = distribute.DistributeOptions(
                    "processes", num_processes=shards, process_id=index, coordinator="x:1"
                )
                images, part_labels = cluster.train_shard(data.images, labels)
                parts.append(ImageBatches(images, part_labels, BATCH // shards, shuffle=True))
            cluster.options = own
            batches = UnionBatches(parts)
        else:
            images, part_labels = cluster.train_shard(data.images, labels)
            batches = ImageBatches(
                images, part_labels, cluster.local_batch_size(BATCH), shuffle=True
            )
        losses: list[float] = []
        step_loss = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"]))
        )
        model.fit(batches, epochs=2, shuffle=False, verbose=0, callbacks=[step_loss])
    read = getattr(images, "rows", np.arange(len(labels)))
    gathered = [read.tolist()]
    if cluster.processes > 1:
        from jax.experimental import multihost_utils

        gathered = multihost_utils.process_allgather(read).tolist()
    if cluster.chief:
        out.write_text(json.dumps({"losses": losses, "rows": gathered}))
    distribute.shutdown()


class UnionBatches:
    """Batch ``b`` is the concatenation of batch ``b`` of each part (a keras PyDataset)."""

    def __new__(cls, parts):  # built lazily: keras is imported by main() first
        import keras

        class _Union(keras.utils.PyDataset):
            def __init__(self) -> None:
                super().__init__()
                self.parts = parts

            def __len__(self) -> int:
                return len(parts[0])

            def __getitem__(self, index: int):
                pieces = [part[index] for part in parts]
                return tuple(np.concatenate(column) for column in zip(*pieces, strict=True))

            def on_epoch_end(self) -> None:
                for part in parts:
                    part.on_epoch_end()

        return _Union()


if __name__ == "__main__":
    main()
