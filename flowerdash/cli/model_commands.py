"""Commands around a model: ``lr-find`` (learning-rate range test) and ``export``.

``lr-find`` takes the same data, training and augmentation options as ``train`` (generated
from the declared settings), so it tests the run a user is about to start. Keras is imported
by the handlers only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flowerdash.augment import AUGMENT_PARAMS
from flowerdash.settings import TRAIN_PARAMS
from flowerdash.train.options import add_spec_options, given_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lr-find`` and ``export`` parsers."""
    from flowerdash import lr_finder
    from flowerdash.export import FORMATS

    find = subparsers.add_parser(
        "lr-find",
        help="suggest a learning rate with a short range test (nothing is saved)",
        description=(
            "Train a throw-away copy of the model for a few steps while the learning rate "
            "grows exponentially from --start to --end; stop when the loss explodes. Prints "
            "the suggested rate (steepest fall of the smoothed loss) and can save the curve."
        ),
    )
    data = find.add_argument_group("data")
    data.add_argument("--train", type=Path, required=True, help="training CSV file")
    data.add_argument(
        "--shape", help="image shape HxWxC when it cannot be inferred from the pixel count"
    )
    test = find.add_argument_group("range test")
    test.add_argument(
        "--start",
        type=float,
        default=lr_finder.DEFAULT_START,
        help=f"first rate (default {lr_finder.DEFAULT_START:g})",
    )
    test.add_argument(
        "--end",
        type=float,
        default=lr_finder.DEFAULT_END,
        help=f"last rate (default {lr_finder.DEFAULT_END:g})",
    )
    test.add_argument(
        "--steps",
        type=int,
        default=lr_finder.DEFAULT_STEPS,
        help=f"training steps, 3 to {lr_finder.MAX_STEPS} (default {lr_finder.DEFAULT_STEPS})",
    )
    test.add_argument(
        "--max-seconds",
        type=float,
        default=lr_finder.DEFAULT_MAX_SECONDS,
        help=f"stop after this long (default {lr_finder.DEFAULT_MAX_SECONDS:g})",
    )
    test.add_argument("--json", action="store_true", help="print the whole result as JSON")
    test.add_argument("--plot", type=Path, metavar="HTML", help="save the loss curve here")
    add_spec_options(find.add_argument_group("training"), TRAIN_PARAMS)
    add_spec_options(find.add_argument_group("augmentation"), AUGMENT_PARAMS)
    find.set_defaults(handler=_lr_find)

    export = subparsers.add_parser(
        "export",
        help="export a run's model as SavedModel, ONNX and/or TFLite, each checked",
        description=(
            "Write the run's model into RUN_DIR/exports/, reload each export with its own "
            "runtime, predict the test set and compare with model.keras. The agreement goes "
            "to exports/agreement.json, the input contract to RUN_DIR/MODEL_CARD.md."
        ),
    )
    export.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    export.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=tuple(FORMATS),
        help="format to write; repeat for several (default: all three)",
    )
    export.add_argument(
        "--test", type=Path, help="test CSV to check on (default: the run's own test file)"
    )
    export.add_argument("--json", action="store_true", help="print the records as one JSON line")
    export.set_defaults(handler=_export)


def _lr_find(args: argparse.Namespace) -> int:
    from flowerdash.augment import AugmentSettings
    from flowerdash.data import parse_shape
    from flowerdash.lr_finder import describe, find_learning_rate
    from flowerdash.settings import TrainSettings

    result = find_learning_rate(
        args.train,
        TrainSettings.from_dict(given_settings(args, TRAIN_PARAMS)),
        AugmentSettings.from_dict(given_settings(args, AUGMENT_PARAMS)),
        shape=parse_shape(args.shape),
        start=args.start,
        end=args.end,
        steps=args.steps,
        max_seconds=args.max_seconds,
    )
    if args.plot is not None:
        from flowerdash.charts.saliency import lr_finder_figure

        figure = lr_finder_figure(
            result.rates, result.losses, result.suggestion, smoothed=result.smoothed
        )
        figure.write_html(args.plot, include_plotlyjs="cdn")
    print(json.dumps(result.to_dict()) if args.json else describe(result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from flowerdash.export import FORMATS, export_run, format_agreement

    records = export_run(args.run_dir, args.formats or tuple(FORMATS), test_path=args.test)
    if args.json:
        print(json.dumps(records))
        return 0
    for name, record in records.items():
        print(f"{FORMATS[name].title}: {args.run_dir / record['file']}: {format_agreement(record)}")
    return 0
