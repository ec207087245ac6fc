"""What the user says about feeding a data set to a model without edgekd metadata, parsed
from ``edgekd bench``'s options (``--input-size --channels --norm --mean --std --layout
--class-map``) into :class:`FeedOptions`, which travels to each benchmark child as JSON.
:func:`edgekd.benchmarking.feed.plan_feed` decides what to do with it per model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgekd.errors import EdgekdError

#: named normalisations: (mean, std) per channel in [0, 1] units; ``dataset`` = the data set's own
NORM_PRESETS: dict[str, tuple[tuple[float, ...], tuple[float, ...]] | None] = {
    "unit": ((0.0,), (1.0,)),  # x / 255: Ultralytics classifiers, most TF/Keras exports
    "symmetric": ((0.5,), (0.5,)),  # [-1, 1]: MobileNet-style TF models
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision models
    "dataset": None,  # the data set's own mean / std, as edgekd trains
}
LAYOUT_CHOICES = ("nchw", "nhwc")

@dataclass(frozen=True)
class FeedOptions:
    """What the user said about feeding models without edgekd metadata (None: not said)."""

    input_size: tuple[int, int] | None = None
    channels: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    norm: str | None = None
    layout: str | None = None
    class_map: dict[int, str] | None = None

    @property
    def given(self) -> bool:
        """Whether the user asked to feed the data set to foreign models at all."""
        return any(v is not None for k, v in asdict(self).items() if k != "layout")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if self.class_map is not None:
            d["class_map"] = {str(k): v for k, v in self.class_map.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> FeedOptions:
        if not d:
            return cls()
        d = dict(d)
        for key in ("input_size", "mean", "std"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        if d.get("class_map") is not None:
            d["class_map"] = {int(k): str(v) for k, v in d["class_map"].items()}
        return cls(**d)


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"32"`` -> (32, 32); ``"48x64"`` -> (48, 64) as H x W."""
    if text is None:
        return None
    parts = text.lower().replace("*", "x").split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise EdgekdError(f"--input-size {text!r} is not N or HxW (e.g. 32 or 48x64)")
    return size  # type: ignore[return-value]


def parse_floats(text: str | None, option: str) -> tuple[float, ...] | None:
    """``"0.5"`` or ``"0.485,0.456,0.406"`` -> floats (one per channel, or one for all)."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise EdgekdError(f"{option} {text!r} is not a comma-separated list of numbers (e.g. 0.5 or 0.485,0.456,0.406)"
                          ) from None
    if option == "--std" and any(v <= 0 for v in values):
        raise EdgekdError(f"--std {text!r} must be positive")
    return values


def parse_class_map(text: str | None) -> dict[int, str] | None:
    """``"0=normal,1=pneumonia"`` or a file (one class per line in output order, or JSON
    ``{"0": "normal"}`` / ``["normal", ...]``) -> {model output index: data-set class}.

    A class is a data-set class name or index (as text); it is resolved by :func:`plan_feed`.
    """
    if text is None:
        return None
    path = Path(text).expanduser()
    if "=" not in text and path.is_file():
        return _class_map_file(path)
    if "=" not in text:
        raise EdgekdError(f"--class-map {text!r} is neither OUTPUT=CLASS pairs (0=normal,1=pneumonia) nor a file")
    mapping: dict[int, str] = {}
    for pair in text.split(","):
        key, _, value = pair.partition("=")
        try:
            index = int(key.strip())
        except ValueError:
            raise EdgekdError(f"--class-map entry {pair!r}: the model output index must be an integer") from None
        if index in mapping or not value.strip():
            raise EdgekdError(f"--class-map entry {pair!r}: each output index once, with a class after '='")
        mapping[index] = value.strip()
    return mapping


def _class_map_file(path: Path) -> dict[int, str]:
    import json

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise EdgekdError(f"--class-map {path} is not valid JSON ({exc})") from None
        if isinstance(data, list):
            return {i: str(v) for i, v in enumerate(data)}
        if isinstance(data, dict):
            try:
                return {int(k): str(v) for k, v in data.items()}
            except ValueError:
                raise EdgekdError(f"--class-map {path}: keys must be model output indices") from None
        raise EdgekdError(f"--class-map {path} must hold a list of class names or an index -> class object")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise EdgekdError(f"--class-map {path} is empty: one data-set class per line, in model output order")
    return dict(enumerate(names))
