"""How a ``folder:PATH`` set is read: ``--image-size``, ``--resize``, ``--skip-bad``, the options
every command that reads a user's images shares (a spec mixin, :mod:`edgekd.spec`). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekd.images import RESIZE_POLICIES, check_image_size
from edgekd.spec import Spec, option, option_of

__all__ = ["DatasetsSpec", "ReadOptions"]


@dataclass(kw_only=True)
class ReadOptions(Spec):
    """How a folder set's images are read (None: the default, or for distill and eval the checkpoint's own)."""

    image_size: int | None = option(None, "folder:PATH sets: read every image at N x N pixels (default: the median "
                                          "shorter side of the images). Stored with the model and applied by the "
                                          "device side.")
    resize: str | None = option(None, "folder:PATH sets: how an image becomes N x N: shorter-crop (the shorter side "
                                      "to N, then the centre crop; the default, as torchvision's Resize + CenterCrop), "
                                      "letterbox (the whole image, padded with black) or stretch (the whole image, "
                                      "distorted).", choices=RESIZE_POLICIES)
    skip_bad: bool = option(False, "folder:PATH sets: go on without the unreadable and off-policy images (all listed "
                                   "in <PATH>-bad-files.txt) instead of refusing the set.", negatable=False)

    def check(self) -> None:
        super().check()
        if self.image_size is not None:
            check_image_size(self.image_size)

    def settled(self, preprocess: dict | None):
        """These options with the image size and policy a folder set was read at (for the run record)."""
        if not preprocess:
            return self
        return self.replace(image_size=preprocess["image_size"], resize=preprocess["resize"])


@dataclass(kw_only=True)
class DatasetsSpec(Spec):
    """List data sets, check one (edgekd datasets folder:PATH), or audit a folder of images."""

    command = "datasets"

    name: str | None = option(None, "A data set to check (folder:PATH or a name): layout, classes, images per class "
                                    "and split, shape, skipped files.", argument=True, metavar="[NAME]")
    data_dir: Path | None = option(None, "Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")
    audit: str | None = option(None, "Audit an image folder or CSV (PATH or folder:PATH): decode every file; counts, "
                                     "sizes, aspect ratios, modes, duplicates across splits, every unreadable or "
                                     "off-policy image. Exit code 1 when it finds unreadable or off-policy images.",
                               metavar="PATH", flag="--check")
    report: Path | None = option(None, "With --check: write the full list here (default: <PATH>-audit.txt beside "
                                       "the folder).", record=False)
    image_size: int | None = option_of(ReadOptions, "image_size")
    resize: str | None = option_of(ReadOptions, "resize")
