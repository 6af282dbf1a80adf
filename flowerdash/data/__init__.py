"""Image datasets serialized as CSV: format detection, validating parser, binary cache.

Importing this package is light (NumPy only); nothing here imports TensorFlow, Keras or pandas.
``flowerdash.data.batches`` (the Keras ``PyDataset``) is imported on its own by training code.
"""

from flowerdash.data.cache import (
    CacheStatus,
    cache_info,
    cache_status,
    clear_cache,
    default_cache_dir,
)
from flowerdash.data.csv_format import (
    colour_name,
    format_label_column,
    format_shape,
    infer_shape,
    parse_shape,
)
from flowerdash.data.dataset import ImageDataset, load_dataset
from flowerdash.data.labels import class_order, encode_labels

__all__ = [
    "CacheStatus",
    "ImageDataset",
    "cache_info",
    "cache_status",
    "class_order",
    "clear_cache",
    "colour_name",
    "default_cache_dir",
    "encode_labels",
    "format_label_column",
    "format_shape",
    "infer_shape",
    "load_dataset",
    "parse_shape",
]
