"""Training commands: train, evaluate, predict.

The ``train`` options are generated from the declared settings (``flowerdash.settings``'s
``TRAIN_PARAMS`` and ``flowerdash.augment``'s ``AUGMENT_PARAMS``), so the command line, the
dashboard and the defaults cannot drift apart. Keras is imported by the handlers only.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowerdash.augment import AUGMENT_PARAMS, AUGMENT_PRESETS
from flowerdash.cli import path_checks
from flowerdash.errors import ConfigError, FlowerdashError
from flowerdash.recipes import AUTO, DEFAULT_RECIPE, RECIPES, recipe_names
from flowerdash.settings import TRAIN_PARAMS, ParamSpec

_TYPES = {"float": float, "int": int}


def _describe(spec: ParamSpec) -> str:
    parts = [spec.help]
    if spec.kind in _TYPES and spec.minimum is not None:
        unit = f" {spec.unit}" if spec.unit else ""
        low, high = (
            (int(spec.minimum), int(spec.maximum))
            if spec.kind == "int"
            else (f"{spec.minimum:g}", f"{spec.maximum:g}")
        )
        parts.append(f"Range {low} to {high}{unit}.")
    parts.append(f"Default: {spec.default}.")
    return " ".join(parts).replace("%", "%%")


def add_spec_options(group: argparse._ArgumentGroup, specs: Sequence[ParamSpec]) -> None:
    """Add one option per spec; unset options stay None (so a resume can tell them apart)."""
    for spec in specs:
        if spec.kind == "bool":
            group.add_argument(
                spec.cli_flag,
                dest=spec.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=_describe(spec),
            )
        elif spec.kind == "choice":
            group.add_argument(
                spec.cli_flag,
                dest=spec.name,
                choices=spec.choices,
                default=None,
                help=_describe(spec),
            )
        else:
            group.add_argument(
                spec.cli_flag,
                dest=spec.name,
                type=_TYPES[spec.kind],
                default=None,
                metavar=(spec.unit or spec.kind).split()[0].upper(),
                help=_describe(spec),
            )


def _given(args: argparse.Namespace, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    return {
        spec.name: getattr(args, spec.name)
        for spec in specs
        if getattr(args, spec.name) is not None
    }


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the training commands' parsers."""
    train = subparsers.add_parser(
        "train",
        help="train a model on a train/test CSV pair into a run directory",
        description=(
            "Train an image classifier (the tutorial's MiniVGGNet by default) on a training CSV, "
            "validating on the test CSV each epoch. Writes a run directory (config, status, "
            "history.csv, model.keras, report.json, plot.png, train.log) and prints its path "
            "as the last line. Stop with Ctrl-C, SIGTERM or a STOP file in the run directory: "
            "training ends after the current batch, then evaluates and saves."
        ),
    )
    data = train.add_argument_group("data")
    data.add_argument(
        "--train",
        type=Path,
        help="training CSV file, or a quoted glob of shard files ('train-*.csv.gz') read as "
        "one dataset, of which each process of --distribute processes reads its own files "
        "(required unless --resume)",
    )
    data.add_argument("--test", type=Path, help="test CSV file, also used for validation")
    data.add_argument(
        "--shape", help="image shape HxWxC when it cannot be inferred from the pixel count"
    )
    recipe = train.add_argument_group("recipe")
    recipe.add_argument(
        "--recipe",
        choices=recipe_names(),
        default=None,
        help="set model, optimizer, schedule, regularisation, augmentation and epochs together; "
        "any training or augmentation option given as well wins over the recipe's value. "
        + " ".join(f"{r.name}: {r.summary}." for r in RECIPES.values())
        + f" {AUTO}: picks a recipe and its values from the data and says why. "
        f"Default: {DEFAULT_RECIPE}.",
    )
    recipe.add_argument(
        "--augment-preset",
        choices=tuple(AUGMENT_PRESETS),
        default=None,
        help="starting augmentation values (the augmentation options below change single "
        "ones): photos is the tutorial's flip + affine, glyphs suits digits and letters (no "
        "flip or shear; small rotation, shift and zoom), none leaves images as they are. "
        "Default: the recipe's choice.",
    )
    add_spec_options(train.add_argument_group("training"), TRAIN_PARAMS)
    add_spec_options(
        train.add_argument_group("augmentation (applied to training batches only)"),
        AUGMENT_PARAMS,
    )
    add_distribute_options(train)
    where = train.add_argument_group("run directory")
    where.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="folder of run directories (default: $FLOWERDASH_RUNS_DIR, else ./runs)",
    )
    where.add_argument("--run-id", help="name of the new run directory (default: a timestamp)")
    where.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue a stopped or interrupted run from its last finished epoch, with its "
        "own settings and data (--epochs may set a new total)",
    )
    train.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2, 3),
        default=None,
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch "
        "(default: 1 on a terminal, else 2); 3 is 2 plus TensorFlow's own start-up logging, "
        "silenced otherwise",
    )
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="evaluate a run's model on a test CSV",
        description="Predict every row of a test CSV once with a run's model; print the "
        "classification report.",
    )
    evaluate.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    evaluate.add_argument("--test", type=Path, required=True, help="test CSV file")
    evaluate.add_argument("--json", type=Path, metavar="PATH", help="also save the report here")
    evaluate.add_argument(
        "--flip-tta",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also score with each image's prediction averaged with its mirror image's, "
        "reported next to the plain score (default: as the run was trained)",
    )
    evaluate.set_defaults(handler=_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help="predict the class of images or CSV rows with a run's model",
        description="PNG/JPEG images are resized to the model's input; CSV files give one "
        "prediction per row. Prints the top-k classes with their probabilities.",
    )
    predict.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    predict.add_argument("files", type=Path, nargs="+", metavar="FILE")
    predict.add_argument("--top-k", type=int, default=3, help="classes to show (default: 3)")
    predict.add_argument("--json", action="store_true", help="print one JSON object per input")
    predict.set_defaults(handler=_predict)


def add_distribute_options(parser: argparse.ArgumentParser) -> None:
    """The ``train`` options choosing devices and processes (``flowerdash.train.distribute``)."""
    from flowerdash.train import distribute

    group = parser.add_argument_group(
        "distribution (data-parallel; --batch-size is the global batch, split between replicas)"
    )
    group.add_argument(
        "--distribute", choices=distribute.MODES, default=None, help=distribute.MODE_HELP
    )
    group.add_argument(
        "--cpu-devices",
        type=int,
        metavar="N",
        help="with --distribute devices on a machine without GPUs: split the CPU into N "
        f"logical devices, for tests and benchmarks (default: ${distribute.CPU_DEVICES_ENV}, "
        "else 1)",
    )
    group.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help=f"address of process 0, reachable by every process (default: "
        f"${distribute.COORDINATOR_ENV}); without it, this machine runs all the processes",
    )
    group.add_argument(
        "--num-processes",
        type=int,
        metavar="N",
        help=f"processes in the training (default: ${distribute.NUM_PROCESSES_ENV}, else "
        f"${distribute.SLURM_NTASKS_ENV})",
    )
    group.add_argument(
        "--process-id",
        type=int,
        metavar="I",
        help=f"this process's index, 0 to N-1; 0 writes the run directory (default: "
        f"${distribute.PROCESS_ID_ENV}, else ${distribute.SLURM_PROCID_ENV})",
    )


def _distribute_options(args: argparse.Namespace) -> Any:
    from flowerdash import runs
    from flowerdash.train import distribute

    if args.resume is not None and args.distribute is None:
        try:
            config = runs.read_config(args.resume)
        except (FlowerdashError, OSError):  # not a run (a CSV?): the resume path says so,
            # after the option checks
            config = {}
        return distribute.resume_options(config)
    return distribute.resolve_options(
        args.distribute,
        cpu_devices=args.cpu_devices,
        coordinator=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
    )


def _train(args: argparse.Namespace) -> int:
    from flowerdash import runs
    from flowerdash.train import distribute

    options = _distribute_options(args)
    distribute.select_backend(options)  # before anything imports Keras
    if not options.launches_locally:
        return _train_process(args, options)
    # All processes on this machine: this one is process 0 and starts the others.
    argv = [part for part in args.argv if part != "--"]
    if args.resume is not None:
        run_dir = Path(args.resume)
    else:
        from flowerdash.launcher import new_run_id

        args.runs_dir = (args.runs_dir or runs.default_runs_dir()).resolve()
        args.run_id = args.run_id or new_run_id()
        run_dir = args.runs_dir / args.run_id
        argv += ["--runs-dir", str(args.runs_dir), "--run-id", args.run_id]
    options, children = distribute.spawn_local_workers(options, argv, run_dir)
    with distribute.reaped(children):
        return _train_process(args, options)


def _train_process(args: argparse.Namespace, options: Any) -> int:
    from flowerdash.data import parse_shape
    from flowerdash.data.shards import load_files
    from flowerdash.recipes import DataProfile, resolve_recipe
    from flowerdash.train import TrainJob, resume_training, train_new

    train_values, augment_values = _given(args, TRAIN_PARAMS), _given(args, AUGMENT_PARAMS)
    path_checks.runs_folder(args.runs_dir)
    if args.resume is not None:
        extra = [
            name
            for name, value in (
                ("--train", args.train),
                ("--test", args.test),
                ("--shape", args.shape),
                ("--run-id", args.run_id),
                ("--recipe", args.recipe),
                ("--augment-preset", args.augment_preset),
            )
            if value is not None
        ] + [
            spec.cli_flag
            for spec in (*TRAIN_PARAMS, *AUGMENT_PARAMS)
            if getattr(args, spec.name) is not None and spec.name != "epochs"
        ]
        if extra:
            raise ConfigError(
                "--resume continues with the run's own settings and data (only --epochs may "
                f"change); drop {', '.join(extra)}"
            )
        path_checks.run_folder(args.resume)
        run_dir = resume_training(
            args.resume,
            epochs=args.epochs,
            verbose=_keras_verbose(args),
            distribute_options=options,
        )
    else:
        if args.train is None or args.test is None:
            raise ConfigError("train needs --train PATH and --test PATH (or --resume RUN_DIR)")
        shape = parse_shape(args.shape) if args.shape else None
        resolved = resolve_recipe(
            args.recipe or DEFAULT_RECIPE,
            DataProfile.of(load_files(args.train, shape)),  # all shards: one profile
            train=train_values,
            augment=augment_values,
            preset=args.augment_preset,
        )
        print(resolved.explanation, flush=True)
        job = TrainJob(
            train_path=args.train,
            test_path=args.test,
            settings=resolved.settings,
            augment=resolved.augment,
            shape=shape,
            recipe=resolved.to_dict(),
            distribute=options,
        )
        if options.mode == "processes" and args.run_id is None:
            raise ConfigError(
                "--distribute processes across machines needs the same --run-id in every "
                "process (e.g. the scheduler's job id)"
            )
        run_dir = train_new(job, args.runs_dir, args.run_id, verbose=_keras_verbose(args))
    print(run_dir)
    return 0


def _keras_verbose(args: argparse.Namespace) -> int | None:
    """Keras' verbose level (``--verbose 3`` is 2 for Keras; the CLI lets TF log for it)."""
    return 2 if args.verbose == 3 else args.verbose


def _evaluate(args: argparse.Namespace) -> int:
    from flowerdash import runs
    from flowerdash.data import load_dataset
    from flowerdash.evaluate import evaluate_model, format_report
    from flowerdash.predict import load_run_model

    path_checks.run_folder(args.run_dir)
    path_checks.output_file(args.json, "--json")
    path_checks.input_file(args.test)
    config = runs.read_config(args.run_dir)
    shape = tuple(config["shape"])
    model = load_run_model(args.run_dir)
    test = load_dataset(args.test, shape)
    if tuple(test.images.shape[1:]) != shape:
        raise ConfigError(
            f"{args.test}: images are {'x'.join(map(str, test.images.shape[1:]))}, "
            f"the model expects {'x'.join(map(str, shape))}"
        )
    flip_tta = args.flip_tta
    if flip_tta is None:
        flip_tta = bool(config.get("settings", {}).get("flip_tta", False))
    report = evaluate_model(
        model,
        test.images,
        test.label_indices(config["classes"]),
        config["classes"],
        flip_tta=flip_tta,
    )
    print(format_report(report))
    if args.json is not None:
        from flowerdash.runs import write_json_atomic

        write_json_atomic(args.json, report)
        print(os.fspath(args.json))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from flowerdash.predict import predict_files

    if args.top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {args.top_k}")
    path_checks.run_folder(args.run_dir)
    for path in args.files:
        path_checks.input_file(path)
    for result in predict_files(args.run_dir, args.files, args.top_k):
        if args.json:
            print(json.dumps(result))
            continue
        label = f" (label {result['label']})" if result["label"] is not None else ""
        best = "  ".join(f"{name} {probability:.3f}" for name, probability in result["top"])
        print(f"{result['name']}{label}: {best}")
    return 0
