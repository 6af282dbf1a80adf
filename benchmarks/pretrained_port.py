"""Port check of the pretrained EfficientNet-Lite0: ImageNet predictions on the bundled daisies.

With its ImageNet classifier, a faithful port calls most of the 100 bundled daisy photos
ImageNet class 985 ("daisy"); a wrong kernel layout, padding or input scaling drops the rate far
down. Prints, per input resolution (the 64x64 photos upsampled) and per input normalisation
(TF-Lite's ``(x - 127) / 128``, which flowerdash uses, and ImageNet's mean/std), the share of
daisies with class 985 first and in the top 5, and the prediction time.

Usage: ``python benchmarks/pretrained_port.py [--resolutions 224 160 128]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from flowerdash.pretrained.efficientnet_lite import imagenet_classifier

DAISIES = Path(__file__).resolve().parents[1] / "data/flower_photos_64/images/daisy"
IMAGENET_DAISY = 985
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406]) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225]) * 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[224, 160, 128])
    args = parser.parse_args()
    import keras

    files = sorted(DAISIES.glob("*.png"))
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files]).astype("f4")
    print(
        f"{len(files)} bundled daisy photos (64x64), upsampled bilinearly; load {os.getloadavg()}"
    )
    print(f"{'resolution':>10} {'normalisation':>16} {'top-1':>6} {'top-5':>6} {'predict s':>9}")
    for resolution in args.resolutions:
        model = imagenet_classifier(resolution)
        # The same network after its input scaling, to feed ImageNet-normalised pixels instead.
        scaled = keras.Model(model.get_layer("scale").output, model.output)
        pixels = keras.ops.convert_to_numpy(
            keras.ops.image.resize(images, (resolution, resolution))
        )
        for name, net, inputs in (
            ("(x-127)/128", model, pixels),
            ("ImageNet mean/std", scaled, (pixels - IMAGENET_MEAN) / IMAGENET_STD),
        ):
            start = time.perf_counter()
            logits = net.predict(inputs, batch_size=50, verbose=0)
            seconds = time.perf_counter() - start
            ranked = np.argsort(-logits, axis=1)
            top1 = np.mean(ranked[:, 0] == IMAGENET_DAISY)
            top5 = np.mean((ranked[:, :5] == IMAGENET_DAISY).any(axis=1))
            print(f"{resolution:>10} {name:>16} {top1:>6.2f} {top5:>6.2f} {seconds:>9.1f}")


if __name__ == "__main__":
    main()
