"""Torch-free entry points for data: load a split as arrays and preprocess it like training did."""

from edgekd.data.registry import dataset_info, load_split
from edgekd.data.spec import DatasetInfo, Split, preprocess

__all__ = ["DatasetInfo", "Split", "dataset_info", "load_split", "preprocess"]
