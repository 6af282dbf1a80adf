"""The ``train`` command line and a :class:`TrainJob`, mapped both ways in one place.

The options are generated from the declared settings (``flowerdash.settings.TRAIN_PARAMS`` and
``flowerdash.augment.AUGMENT_PARAMS``): :func:`add_job_options` adds them to a parser,
:func:`job_from_options` reads a job back, and :func:`job_arguments` writes a job as options
(what the launcher starts, and the "start again" hint of a damaged run). The CLI and the
launcher both use these, so the command line, the dashboard and the defaults cannot drift apart.
No Keras here.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowerdash.augment import AUGMENT_PARAMS, AUGMENT_PRESETS
from flowerdash.errors import ConfigError
from flowerdash.settings import TRAIN_PARAMS, ParamSpec
from flowerdash.train.distribute import DistributeOptions
from flowerdash.train.engine import TrainJob

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


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that describe a job: the data files, every declared setting, and how it
    spreads over devices and processes."""
    data = parser.add_argument_group("data")
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
    from flowerdash.recipes import AUTO, DEFAULT_RECIPE, RECIPES, recipe_names

    recipe = parser.add_argument_group("recipe")
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
    add_spec_options(parser.add_argument_group("training"), TRAIN_PARAMS)
    add_spec_options(
        parser.add_argument_group("augmentation (applied to training batches only)"),
        AUGMENT_PARAMS,
    )
    add_distribute_options(parser)


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


def given_settings(args: argparse.Namespace, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """The values of ``specs`` set on the command line (the others are left out)."""
    return {
        spec.name: getattr(args, spec.name)
        for spec in specs
        if getattr(args, spec.name, None) is not None
    }


def given_job_options(args: argparse.Namespace) -> list[str]:
    """The data and settings options set on the command line, as flags (``--train``,
    ``--epochs``...)."""
    data = [
        name
        for name, value in (
            ("--train", args.train),
            ("--test", args.test),
            ("--shape", args.shape),
            ("--recipe", getattr(args, "recipe", None)),
            ("--augment-preset", getattr(args, "augment_preset", None)),
        )
        if value is not None
    ]
    return data + [
        spec.cli_flag
        for spec in (*TRAIN_PARAMS, *AUGMENT_PARAMS)
        if getattr(args, spec.name, None) is not None
    ]


def job_from_options(
    args: argparse.Namespace, *, distribute: DistributeOptions | None = None
) -> TrainJob:
    """The job the options describe: the recipe (``--recipe``, default ``DEFAULT_RECIPE``)
    resolved on the training data, the settings given winning over it. ``distribute``: the
    options as resolved for this process (default: from ``args`` and the environment).

    Raises ConfigError without ``--train`` and ``--test``, or for a value out of range,
    DatasetError when the training data cannot be read.
    """
    from flowerdash.data import parse_shape
    from flowerdash.data.shards import load_files
    from flowerdash.recipes import DEFAULT_RECIPE, DataProfile, resolve_recipe
    from flowerdash.train import distribute as spread

    if distribute is None:
        distribute = spread.resolve_options(
            getattr(args, "distribute", None),
            cpu_devices=getattr(args, "cpu_devices", None),
            coordinator=getattr(args, "coordinator", None),
            num_processes=getattr(args, "num_processes", None),
            process_id=getattr(args, "process_id", None),
        )

    if args.train is None or args.test is None:
        raise ConfigError("train needs --train PATH and --test PATH (or --resume RUN_DIR)")
    shape = parse_shape(args.shape)
    resolved = resolve_recipe(
        getattr(args, "recipe", None) or DEFAULT_RECIPE,
        DataProfile.of(load_files(args.train, shape)),  # all shards: one profile
        train=given_settings(args, TRAIN_PARAMS),
        augment=given_settings(args, AUGMENT_PARAMS),
        preset=getattr(args, "augment_preset", None),
    )
    return TrainJob(
        train_path=args.train,
        test_path=args.test,
        settings=resolved.settings,
        augment=resolved.augment,
        shape=shape,
        recipe=resolved.to_dict(),
        distribute=distribute,
    )


def spec_arguments(specs: Sequence[ParamSpec], values: Mapping[str, Any]) -> list[str]:
    """Return the options for ``values`` of the declared ``specs``.

    A bool setting becomes ``--name`` or ``--no-name``; any other ``--name VALUE``. Names
    missing from ``values`` are left to the command's defaults.
    """
    arguments: list[str] = []
    for spec in specs:
        if spec.name not in values:
            continue
        value = values[spec.name]
        if spec.kind == "bool":
            arguments.append(spec.cli_flag if value else "--no-" + spec.cli_flag[2:])
        else:
            arguments += [spec.cli_flag, str(value)]
    return arguments


def job_arguments(job: TrainJob) -> list[str]:
    """The ``train`` options that describe ``job`` (``job_from_options`` reads it back): with
    a recipe, ``--recipe`` and only the values the user set over it (so the run records what
    the user changed; the recipe resolves to the same values on the same data); else every
    value."""
    from flowerdash.data import format_shape

    arguments = ["--train", str(job.train_path), "--test", str(job.test_path)]
    if job.shape is not None:
        arguments += ["--shape", format_shape(job.shape)]
    train, augment = job.settings.to_dict(), job.augment.to_dict()
    if job.recipe:
        arguments += ["--recipe", str(job.recipe["requested"])]
        chosen = set(job.recipe.get("overridden") or ())
        if "augment_preset" in chosen:
            arguments += ["--augment-preset", str(job.recipe["augment_preset"])]
        train = {name: value for name, value in train.items() if name in chosen}
        augment = {name: value for name, value in augment.items() if name in chosen}
    arguments += spec_arguments(TRAIN_PARAMS, train)
    arguments += spec_arguments(AUGMENT_PARAMS, augment)
    spread = job.distribute
    if spread.mode != "none":  # the job's; a process's coordinator and index are its own
        arguments += ["--distribute", spread.mode]
        if spread.cpu_devices:
            arguments += ["--cpu-devices", str(spread.cpu_devices)]
        if spread.mode == "processes":
            arguments += ["--num-processes", str(spread.num_processes)]
    return arguments


def job_from_arguments(arguments: Sequence[str]) -> TrainJob:
    """The job a list of ``train`` options describes (``job_arguments``'s inverse).

    Raises ConfigError for options that do not parse.
    """
    parser = argparse.ArgumentParser(prog="flowerdash train", add_help=False, exit_on_error=False)
    add_job_options(parser)
    try:
        args = parser.parse_args(list(arguments))
    except (argparse.ArgumentError, SystemExit) as error:
        raise ConfigError(f"train options {' '.join(arguments)!r} do not parse: {error}") from None
    return job_from_options(args)
