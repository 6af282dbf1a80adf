"""Training commands: train, evaluate, predict.

The ``train`` options come from ``flowerdash.train.options`` (generated from the declared
settings, and shared with the launcher), so the command line, the dashboard and the defaults
cannot drift apart. Keras is imported by the handlers only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from flowerdash.cli import path_checks
from flowerdash.errors import ConfigError, FlowerdashError


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
    from flowerdash.train.options import add_job_options

    add_job_options(train)
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
    where.add_argument(
        "--previous-backup",
        action="store_true",
        help="with --resume: continue from the backup of the epoch before the last (Keras "
        "keeps two), when the last one is damaged",
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


def _distribute_options(args: argparse.Namespace) -> Any:
    from flowerdash import runs
    from flowerdash.train import distribute

    if args.resume is not None and args.distribute is None:
        try:
            record = runs.read_config(args.resume).distribute
        except FlowerdashError:  # not a run: the resume path says so, after the option checks
            record = {}
        return distribute.resume_options(record)
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
        from flowerdash import run_records

        args.runs_dir = (args.runs_dir or runs.default_runs_dir()).resolve()
        path_checks.runs_folder(args.runs_dir)
        # Made (atomically) before the other processes write their logs into it; this process
        # claims it with the token.
        run_dir = run_records.reserve_run_dir(args.runs_dir, args.run_id)
        os.environ[run_records.RESERVED_ENV] = run_records.run_token(run_dir)
        args.run_id = run_dir.name
        argv += ["--runs-dir", str(args.runs_dir), "--run-id", args.run_id]
    options, children = distribute.spawn_local_workers(options, argv, run_dir)
    with distribute.reaped(children):
        return _train_process(args, options)


def _note_unused_settings(args: argparse.Namespace, settings: Any) -> None:
    """Say on stderr which settings given on the command line change nothing in this run:
    another kind of model's shape or phase options, or one whose switch is off (the mixing
    alpha with ``--mix none``). They are recorded in config.json all the same."""
    from flowerdash.models import setting_applies
    from flowerdash.settings import TRAIN_PARAMS, param
    from flowerdash.train.options import given_settings

    given = given_settings(args, TRAIN_PARAMS)
    values = settings.to_dict()
    notes = []
    for spec in TRAIN_PARAMS:
        if spec.name not in given:
            continue
        if not setting_applies(spec.name, settings.model):
            notes.append(f"{spec.cli_flag} (another kind of model's setting)")
        elif spec.used_when is not None and not spec.in_effect(values):
            switch, wanted = spec.used_when
            flag = param(TRAIN_PARAMS, switch).cli_flag
            notes.append(f"{spec.cli_flag} (only with {flag} {' or '.join(wanted)})")
    if notes:
        print(
            f"note: this run does not use {', '.join(notes)}; recorded, it changes nothing",
            file=sys.stderr,
            flush=True,
        )


def _train_process(args: argparse.Namespace, options: Any) -> int:
    from flowerdash.train import resume_training, train_new
    from flowerdash.train.options import given_job_options, job_from_options

    path_checks.runs_folder(args.runs_dir)
    if args.resume is not None:
        extra = [flag for flag in given_job_options(args) if flag != "--epochs"]
        extra += ["--run-id"] if args.run_id is not None else []
        if extra:
            raise ConfigError(
                "--resume continues with the run's own settings and data (only --epochs may "
                f"change); drop {', '.join(extra)}"
            )
        path_checks.run_folder(args.resume)
        run_dir = resume_training(
            args.resume,
            epochs=args.epochs,
            previous_backup=args.previous_backup,
            verbose=_keras_verbose(args),
            distribute_options=options,
        )
    else:
        if args.previous_backup:
            raise ConfigError("--previous-backup goes with --resume RUN_DIR")
        job = job_from_options(args, distribute=options)
        if job.recipe:
            print(job.recipe["explanation"], flush=True)
        _note_unused_settings(args, job.settings)
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
    from flowerdash.data_checks import check_same_shape
    from flowerdash.evaluate import evaluate_model, format_report
    from flowerdash.predict import load_run_model

    path_checks.run_folder(args.run_dir)
    path_checks.output_file(args.json, "--json")
    path_checks.input_file(args.test)
    config = runs.read_config(args.run_dir)
    model = load_run_model(args.run_dir)
    test = load_dataset(args.test, config.shape)
    check_same_shape(args.test, test.images.shape[1:], config.shape, against="the model's input")
    report = evaluate_model(model, test.images, test.label_indices(config.classes), config.classes)
    print(format_report(report))
    if args.json is not None:
        from flowerdash.run_records import write_report

        write_report(args.json, report)
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
