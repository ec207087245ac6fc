"""MedMNIST v2/v3 2D subsets at 28 px: official npz files, official splits, md5 verified.

The table below is the official one (download address pattern and md5, as published
with the ``medmnist`` package). Files are looked for as ``<data_dir>/medmnist/<name>.npz``
and ``<data_dir>/<name>.npz``; ``--download`` fetches the official release.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekd.data.download import download, verify_md5
from edgekd.data.spec import DatasetInfo, Split
from edgekd.errors import EdgekdError

URL = "https://zenodo.org/records/10519652/files/{name}.npz?download=1"

# name: (md5, channels, class names, (train, val, test))
MEDMNIST: dict[str, tuple[str, int, tuple[str, ...], tuple[int, int, int]]] = {
    "pathmnist": ("a8b06965200029087d5bd730944a56c1", 3, (
        "adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
        "normal colon mucosa", "cancer-associated stroma", "colorectal adenocarcinoma epithelium",
    ), (89996, 10004, 7180)),
    "dermamnist": ("0744692d530f8e62ec473284d019b0c7", 3, (
        "actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
        "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions",
    ), (7007, 1003, 2005)),
    "octmnist": ("c68d92d5b585d8d81f7112f81e2d0842", 1, (
        "choroidal neovascularization", "diabetic macular edema", "drusen", "normal",
    ), (97477, 10832, 1000)),
    "pneumoniamnist": ("28209eda62fecd6e6a2d98b1501bb15f", 1, ("normal", "pneumonia"), (4708, 524, 624)),
    "retinamnist": ("bd4c0672f1bba3e3a89f0e4e876791e4", 3, ("0", "1", "2", "3", "4"), (1080, 120, 400)),
    "breastmnist": ("750601b1f35ba3300ea97c75c52ff8f6", 1, ("malignant", "normal, benign"), (546, 78, 156)),
    "bloodmnist": ("7053d0359d879ad8a5505303e11de1dc", 3, (
        "basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte",
        "monocyte", "neutrophil", "platelet",
    ), (11959, 1712, 3421)),
    "tissuemnist": ("ebe78ee8b05294063de985d821c1c34b", 1, (
        "collecting duct, connecting tubule", "distal convoluted tubule", "glomerular endothelial cells",
        "interstitial endothelial cells", "leukocytes", "podocytes", "proximal tubule segments",
        "thick ascending limb",
    ), (165466, 23640, 47280)),
    "organamnist": ("68e3f8846a6bd62f0c9bf841c0d9eacc", 1, (
        "bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
        "liver", "lung-left", "lung-right", "pancreas", "spleen",
    ), (34581, 6491, 17778)),
}

#: the class a screening decision looks for, where it is not class 1 (its recall is the
#: sensitivity an operating point such as sensitivity=0.95 holds)
POSITIVE_CLASS = {"breastmnist": "malignant"}


class MedMNISTSource:
    """One MedMNIST subset: finds, verifies and reads its npz file."""

    def __init__(self, name: str):
        md5, channels, classes, (n_train, n_val, n_test) = MEDMNIST[name]
        self.name = name
        self.md5 = md5
        half = (0.5,) * channels
        self.info = DatasetInfo(
            name=name, num_classes=len(classes), channels=channels, size=28, class_names=classes,
            mean=half, std=half, splits={"train": n_train, "val": n_val, "test": n_test},
            source="MedMNIST v2 (CC BY 4.0 or as stated by MedMNIST), official splits",
        )

    def candidates(self, root: Path) -> list[Path]:
        return [root / "medmnist" / f"{self.name}.npz", root / f"{self.name}.npz"]

    def present(self, root: Path) -> bool:
        return any(p.is_file() for p in self.candidates(root))

    def _file(self, root: Path, download_ok: bool) -> Path:
        for path in self.candidates(root):
            if path.is_file():
                return path
        target = self.candidates(root)[0]
        if download_ok:
            return download(URL.format(name=self.name), target, self.md5)
        raise EdgekdError(
            f"{self.name}.npz not found in {root}/medmnist or {root}; run with --download, "
            f"or set --data-dir / EDGEKD_DATA to the folder that holds it"
        )

    def load(self, split: str, root: Path, download_ok: bool = False) -> Split:
        path = self._file(root, download_ok)
        verify_md5(path, (self.md5,), f"rerun with --download or copy the official {self.name}.npz")
        try:
            with np.load(path, allow_pickle=False) as npz:
                images = np.asarray(npz[f"{split}_images"])
                labels = np.asarray(npz[f"{split}_labels"]).reshape(-1).astype(np.int64)
        except Exception as exc:
            raise EdgekdError(f"{path} could not be read as a MedMNIST npz ({type(exc).__name__}); "
                              f"delete it and download it again") from None
        images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
        return Split(np.ascontiguousarray(images, dtype=np.uint8), labels)
