"""Data commands: ``inspect``, ``convert`` and ``cache``. None of them imports TensorFlow."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the data commands' parsers."""
    inspect = subparsers.add_parser(
        "inspect",
        help="validate an image CSV and summarise it",
        description="Validate every row and value of an image CSV (or .csv.gz) and print its "
        "rows, image shape, header, label column, classes with counts and cache status.",
    )
    inspect.add_argument(
        "path",
        help="CSV file, optionally gzip-compressed, or a quoted glob of shard files such as "
        "'train-*.csv.gz' read as one dataset",
    )
    inspect.add_argument(
        "--shape", help="image shape HxWxC (default: inferred from the number of pixel values)"
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument(
        "--no-cache", action="store_true", help="parse without reading or writing the cache"
    )
    inspect.add_argument(
        "--max-gzip-ratio",
        metavar="RATIO",
        help="refuse gzip data expanding more than RATIO times (default 100, or "
        "$FLOWERDASH_MAX_GZIP_RATIO; pixel CSVs expand 3 to 10 times)",
    )
    inspect.add_argument(
        "--max-gzip-size",
        metavar="SIZE",
        help="refuse gzip data expanding past SIZE, e.g. 64G (default 16G, or "
        "$FLOWERDASH_MAX_GZIP_SIZE)",
    )
    inspect.set_defaults(handler=run_inspect)

    convert = subparsers.add_parser(
        "convert",
        help="turn a folder of class subfolders of images into train and test CSVs",
        description="IMAGE_DIR/<class>/<image> becomes OUT_PREFIX_train.csv and "
        "OUT_PREFIX_test.csv: one line per image, label first, no header, RGB pixel values. "
        "Images are centre-cropped to a square and resized; the split is stratified, shuffled "
        "and deterministic for a seed. Unreadable images are listed and skipped.",
    )
    convert.add_argument("image_dir", metavar="IMAGE_DIR")
    convert.add_argument("out_prefix", metavar="OUT_PREFIX")
    convert.add_argument("--size", type=int, default=64, help="image side in pixels (64)")
    convert.add_argument(
        "--test-fraction", type=float, default=0.25, help="share of each class for test (0.25)"
    )
    convert.add_argument("--seed", type=int, default=42, help="shuffle and split seed (42)")
    convert.set_defaults(handler=run_convert)

    cache = subparsers.add_parser(
        "cache",
        help="show or clear the parsed-dataset cache",
        description="The first parse of a CSV writes a binary cache so later opens skip "
        "parsing. Location: $FLOWERDASH_CACHE_DIR, else $XDG_CACHE_HOME/flowerdash, else "
        "~/.cache/flowerdash.",
    )
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--json", action="store_true", help="print one JSON object")
    cache.set_defaults(handler=run_cache)


def run_inspect(args: argparse.Namespace) -> int:
    """Validate the file and print its summary."""
    from dataclasses import replace

    from flowerdash.data import colour_name, format_label_column, format_shape
    from flowerdash.data.limits import ReadLimits, parse_size
    from flowerdash.data.shards import load_files  # one file, or a glob of shard files

    limits = ReadLimits.from_env()
    if args.max_gzip_ratio is not None:
        limits = limits.with_gzip_ratio(args.max_gzip_ratio, "--max-gzip-ratio")
    if args.max_gzip_size is not None:
        limits = replace(limits, gzip_size=parse_size(args.max_gzip_size, "--max-gzip-size"))
    dataset = load_files(args.path, args.shape, use_cache=not args.no_cache, limits=limits)
    summary = dataset.summary()
    if args.no_cache:
        summary["cache"] = "disabled"
    else:
        summary["cache"] = "hit" if dataset.from_cache else "written"
    if args.json:
        print(json.dumps(summary))
        return 0
    column_text = format_label_column(dataset.label_column)
    cache_text = {
        "hit": "opened from cache (no parse)",
        "written": "parsed and validated; cache written",
        "disabled": "parsed and validated; cache not used",
    }[summary["cache"]]
    lines = [
        f"file:          {dataset.path}",
        f"rows:          {len(dataset)}",
        f"image shape:   {format_shape(dataset.shape)} ({colour_name(dataset.shape[2])})",
        f"header:        {'yes' if dataset.header else 'no'}",
        f"label column:  {column_text}",
        f"classes:       {len(dataset.classes)}",
    ]
    counts = dataset.class_counts()
    width_name = max(len(name) for name in counts)
    for name, count in counts.items():
        lines.append(f"  {name:<{width_name}}  {count}")
    lines += [f"cache:         {cache_text}", f"fingerprint:   {dataset.fingerprint}"]
    print("\n".join(lines))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Convert an image folder to train and test CSVs."""
    from flowerdash.data.convert import convert_image_folder

    result = convert_image_folder(
        args.image_dir,
        args.out_prefix,
        size=args.size,
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    for path, reason in result.skipped:
        print(f"skipped unreadable image {path}: {reason}", file=sys.stderr)
    print(
        f"wrote {result.train_path} ({result.train_rows} rows) and {result.test_path} "
        f"({result.test_rows} rows): {len(result.classes)} classes, "
        f"{args.size}x{args.size}x3, {len(result.skipped)} skipped"
    )
    return 0


def run_cache(args: argparse.Namespace) -> int:
    """Print cache information or clear it."""
    from flowerdash.data import cache_info, clear_cache, format_shape

    if args.action == "clear":
        info = cache_info()
        freed = clear_cache()
        if args.json:
            print(json.dumps({"cache_dir": info["cache_dir"], "freed_bytes": freed}))
        else:
            print(f"cleared {info['cache_dir']} ({freed / 1e6:.1f} MB freed)")
        return 0
    info = cache_info()
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"cache folder: {info['cache_dir']}")
    print(f"entries:      {len(info['entries'])} ({info['bytes'] / 1e6:.1f} MB)")
    for entry in info["entries"]:
        shape = format_shape(entry["shape"]) if entry["shape"] else ""
        print(f"  {entry['fingerprint'][:12]}  {entry['rows']} rows  {shape}  {entry['source']}")
    return 0
