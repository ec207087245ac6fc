"""The data set registry: a name -> a source that knows its facts and how to load a split.

``load_split`` and ``dataset_info`` are torch-free (numpy only, plus scikit-learn for
digits and torchvision for CIFAR), so the device-side bench can measure accuracy.
"""

from __future__ import annotations

from pathlib import Path

from edgekd.data.cifar import CifarSource
from edgekd.data.digits import DigitsSource
from edgekd.data.folder import FolderSource
from edgekd.data.idx import IdxSource
from edgekd.data.medmnist import MEDMNIST, MedMNISTSource
from edgekd.data.spec import SPLITS, DatasetInfo, Split, default_data_dir
from edgekd.errors import EdgekdError
from edgekd.images import DEFAULT_RESIZE
from edgekd.suggest import unknown

DEFAULT_DATASET = "digits"


def _builders() -> dict:
    table = {"digits": DigitsSource, "mnist": lambda: IdxSource("mnist"),
             "fashion-mnist": lambda: IdxSource("fashion-mnist"),
             "cifar10": lambda: CifarSource("cifar10"), "cifar100": lambda: CifarSource("cifar100")}
    for name in MEDMNIST:
        table[name] = (lambda n=name: MedMNISTSource(n))
    return table


BUILDERS = _builders()

#: built-in sets whose classes survive a left-right mirror (natural images, clothing, cells,
#: tissue, skin, breast ultrasound, fundus photographs), so ``--flip`` may augment them. Not
#: digits / MNIST (a mirrored 3 is no digit), chest X-rays (pneumoniamnist: the heart is on
#: the left), OCT and organ CT (organamnist has left / right classes).
FLIP_SAFE = frozenset({"cifar10", "cifar100", "fashion-mnist", "pathmnist", "dermamnist", "bloodmnist",
                       "tissuemnist", "breastmnist", "retinamnist"})


def flip_allowed(name: str) -> bool:
    """Whether ``--flip`` may augment data set ``name``: the allow-list above, and any
    ``folder:PATH`` set (its owner knows whether a mirror keeps the class and asked for it)."""
    return name in FLIP_SAFE or name.startswith("folder:")


def dataset_names() -> list[str]:
    return list(BUILDERS)


def get_source(name: str, image_size: int | None = None, resize: str | None = None, skip_bad: bool = False,
               quiet: bool = False):
    """A data set source by name; ``folder:PATH`` for a user's image folder (or CSV file), read at
    ``image_size`` with the ``resize`` policy (:mod:`edgekd.images`). The built-in sets
    are stored at one size: another ``image_size`` or any ``resize`` is refused for them."""
    if name.startswith("folder:"):
        return FolderSource(name[len("folder:"):], image_size, resize or DEFAULT_RESIZE, skip_bad, quiet)
    if name not in BUILDERS:
        raise unknown("data set", name, BUILDERS, also=", or folder:PATH")
    source = BUILDERS[name]()
    if (image_size is not None and image_size != source.info.size) or resize is not None:
        what = f"--image-size {image_size}" if image_size is not None and image_size != source.info.size else "--resize"
        raise EdgekdError(f"{what} applies to folder:PATH image sets; {name} is stored as {source.info.size}x"
                          f"{source.info.size} arrays and is read as it is: drop {what.split()[0]}")
    return source


def source_for_record(name: str, record: dict | None):
    """The source of ``name`` read the way a checkpoint's data record (or a model's metadata)
    says: a folder set at its stored ``preprocess``, a built-in set as it is."""
    pre = (record or {}).get("preprocess") if name.startswith("folder:") else None
    if pre:
        return get_source(name, pre["image_size"], pre.get("resize"))
    return get_source(name)


def dataset_info(name: str, image_size: int | None = None, resize: str | None = None) -> DatasetInfo:
    return get_source(name, image_size, resize).info


def load_split(name: str, split: str, data_dir: str | Path | None = None, download: bool = False,
               source=None) -> Split:
    """Load one split as uint8 N x C x H x W images and int64 labels, validated."""
    if split not in SPLITS:
        raise EdgekdError(f"unknown split '{split}'; use one of {', '.join(SPLITS)}")
    source = source or get_source(name)
    data = source.load(split, default_data_dir(data_dir), download)
    info = source.info
    if len(data) == 0:
        raise EdgekdError(f"the {split} split of {name} is empty; check the data files")
    if data.images.shape[1:] != info.input_shape:
        raise EdgekdError(f"{name} {split} images have shape {data.images.shape[1:]}, expected {info.input_shape}")
    lo, hi = int(data.labels.min()), int(data.labels.max())
    if lo < 0 or hi >= info.num_classes:
        raise EdgekdError(f"{name} {split} has label {hi if hi >= info.num_classes else lo} outside "
                          f"0..{info.num_classes - 1}; fix the labels or the class list")
    return data


def describe(data_dir: str | Path | None = None) -> list[dict]:
    """One row per registered data set for ``edgekd datasets``."""
    root = default_data_dir(data_dir)
    rows = []
    for name in BUILDERS:
        src = get_source(name)
        info = src.info
        rows.append({"name": name, "classes": info.num_classes, "channels": info.channels,
                     "size": info.size, "splits": "/".join(str(info.splits.get(s, "?")) for s in SPLITS),
                     "present": src.present(root)})
    return rows


__all__ = ["DEFAULT_DATASET", "DatasetInfo", "Split", "dataset_info", "dataset_names", "describe",
           "get_source", "load_split", "positive_class", "source_for_record"]


def positive_class(name: str, class_names: list[str] | tuple[str, ...]) -> int:
    """The index of the class a binary screening decision looks for (its recall is the
    sensitivity): the disease class of a medical set, else class 1."""
    from edgekd.data.medmnist import POSITIVE_CLASS

    wanted = POSITIVE_CLASS.get(name)
    return list(class_names).index(wanted) if wanted in class_names else 1
