"""How a benchmark feeds a data set to a model, edgekd's own or any other (torch-free).

An edgekd artifact says in its metadata how it was trained (input size, channels,
normalisation, class names), and the data set must match it. A model from elsewhere (an
Ultralytics classifier, a model zoo ONNX) says nothing, so the user does, with
:class:`~edgekd.benchmarking.options.FeedOptions` (``edgekd bench --input-size --channels
--mean/--std/--norm --layout --class-map``). :func:`plan_feed` decides, per model, one of three modes:

``metadata``  an edgekd model: its own metadata, the data set must match it;
``options``   a model without edgekd metadata fed the data set as the options say;
              resizing (PIL bilinear) and channel conversion happen only when asked;
``random``    latency and memory only, with seeded random input of the model's own
              shape: no data set was given, or one was given but nothing says how to
              feed it to this model (the note says which option would).

Once any feed option is given, a model it cannot feed is an error, not a silent
latency-only row. Every choice made for the user (normalisation, class order, an
inferred layout) becomes a note in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgekd.benchmarking.options import NORM_PRESETS, FeedOptions
from edgekd.data.spec import preprocess
from edgekd.errors import EdgekdError

#: ITU-R 601-2 luma weights (PIL's "L" conversion) for RGB -> grey
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Feed:
    """The decision for one model: mode, the input it gets, and the notes a report shows."""

    mode: str  # "metadata" | "options" | "random"
    chw: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    resize: bool = False
    convert_channels: bool = False
    columns: tuple[int, ...] | None = None  # model output column of each data-set class
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- the decision ---------------------------------------------------------------------

def is_edgekd(meta: dict[str, Any]) -> bool:
    """Whether ``meta`` is edgekd metadata (it says the input size and the normalisation)."""
    return bool(meta.get("input_size")) and "mean" in meta and "std" in meta


def _fmt(chw: Sequence[int | None]) -> str:
    return "x".join("?" if d is None else str(d) for d in chw)


def _columns(class_map: dict[int, str] | None, outputs: int | None, class_names: Sequence[str],
             given: bool) -> tuple[tuple[int, ...] | None, str | None]:
    """(output column per data-set class, or None for identity; a reason when it cannot be fed)."""
    n = len(class_names)
    if class_map is None:
        if outputs is None or outputs == n:
            return None, None
        why = f"it has {outputs} outputs but the data set has {n} classes: pass --class-map"
        if given:
            raise EdgekdError(f"{why} (e.g. --class-map 0={class_names[0]},1={class_names[1] if n > 1 else '...'})")
        return None, why
    index = {name: i for i, name in enumerate(class_names)}
    columns: dict[int, int] = {}
    for out, cls in class_map.items():
        c = index.get(cls, int(cls) if cls.isdigit() and int(cls) < n else None)
        if c is None:
            raise EdgekdError(f"--class-map names class {cls!r}, which the data set does not have: "
                              f"use one of {', '.join(class_names)} or 0..{n - 1}")
        if outputs is not None and not 0 <= out < outputs:
            raise EdgekdError(f"--class-map uses output {out} but the model has outputs 0..{outputs - 1}")
        if c in columns:
            raise EdgekdError(f"--class-map maps outputs {columns[c]} and {out} to the same class {class_names[c]!r}")
        columns[c] = out
    missing = [class_names[c] for c in range(n) if c not in columns]
    if missing:
        raise EdgekdError(f"--class-map leaves data-set classes {', '.join(missing)} without a model output: map each")
    return tuple(columns[c] for c in range(n)), None


def plan_feed(meta: dict[str, Any], model_chw: Sequence[int | None], data_chw: Sequence[int] | None,
              outputs: int | None, class_names: Sequence[str], data_norm: Sequence[Sequence[float]] | None,
              opts: FeedOptions, name: str) -> Feed:
    """Decide how model ``name`` is fed (see the module doc); raises EdgekdError on a contradiction.

    ``model_chw``: its input (C, H, W), None for a dynamic dimension; ``data_chw``: the
    data set's uint8 images, None without a data set; ``outputs``: its number of class
    outputs (None if dynamic); ``data_norm``: the data set's own (mean, std) or None.
    """
    if is_edgekd(meta):
        chw = tuple(int(d) for d in meta["input_size"])
        return Feed("metadata", chw, tuple(meta["mean"]), tuple(meta["std"]))  # type: ignore[arg-type]
    if data_chw is None:
        return _random(model_chw, opts, "no data set (--dataset) to score it on", name)
    c, h, w = (opts.channels or data_chw[0]), *(opts.input_size or data_chw[1:])
    unfit = []
    if model_chw[0] is not None and model_chw[0] != c:
        unfit.append(f"it takes {model_chw[0]} channels, the data set gives {c}: pass --channels {model_chw[0]}")
    if None not in model_chw[1:] and tuple(model_chw[1:]) != (h, w):
        unfit.append(f"it takes {_fmt(model_chw[1:])} images, the data set gives {h}x{w}: pass --input-size "
                     f"{_fmt(model_chw[1:])} to resize them")
    if unfit and opts.given:
        raise EdgekdError(f"{name}: {unfit[0]} (the feed options apply to every model without edgekd metadata)")
    columns, why = _columns(opts.class_map, outputs, class_names, opts.given)
    if why:
        unfit.append(why)
    if unfit:
        return _random(model_chw, opts, unfit[0], name)
    mean, std, norm_said = _normalisation(opts, c, data_norm)
    resize, convert = (h, w) != tuple(data_chw[1:]), c != data_chw[0]
    said = []
    if resize:
        said.append(f"resized {data_chw[1]}x{data_chw[2]} -> {h}x{w} (bilinear)")
    if convert:
        said.append("grey repeated to 3 channels" if c == 3 else "RGB to grey (ITU-R 601 luma)")
    said.append(norm_said)
    if columns is None:
        order = ", ".join(f"{i}={n}" for i, n in enumerate(class_names[:4])) + (", ..." if len(class_names) > 4 else "")
        said.append(f"outputs in the data set's class order ({order}; --class-map if not)")
    else:
        said.append("outputs mapped " + ", ".join(f"{o}={class_names[i]}" for i, o in enumerate(columns)))
    note = "no edgekd metadata; data set fed as asked: " + "; ".join(said)
    return Feed("options", (c, h, w), mean, std, resize, convert, columns, (note,))


def _random(model_chw: Sequence[int | None], opts: FeedOptions, why: str, name: str) -> Feed:
    c = model_chw[0] or opts.channels
    hw = tuple(model_chw[1:]) if None not in model_chw[1:] else opts.input_size
    if c is None or hw is None:
        raise EdgekdError(f"{name} has a dynamic input ({_fmt(model_chw)}): pass --input-size and --channels "
                          "to say what to time it on")
    note = f"no edgekd metadata; latency and memory only, random input 1x{c}x{hw[0]}x{hw[1]}: {why}"
    return Feed("random", (int(c), int(hw[0]), int(hw[1])), (0.0,), (1.0,), notes=(note,))


def _normalisation(opts: FeedOptions, channels: int, data_norm: Sequence[Sequence[float]] | None
                   ) -> tuple[tuple[float, ...], tuple[float, ...], str]:
    if opts.mean is not None or opts.std is not None:
        if opts.norm is not None:
            raise EdgekdError("give --norm or --mean/--std, not both")
        mean, std = opts.mean or (0.0,), opts.std or (1.0,)
        said = f"mean {list(mean)}, std {list(std)}"
    else:
        norm = opts.norm or "unit"
        if norm not in NORM_PRESETS:
            raise EdgekdError(f"unknown --norm {norm!r}: choose one of {', '.join(NORM_PRESETS)}")
        preset = NORM_PRESETS[norm]
        if preset is None:
            if data_norm is None:
                raise EdgekdError("--norm dataset needs a named data set (an .npz file has no mean/std): "
                                  "pass --mean and --std")
            preset = (tuple(data_norm[0]), tuple(data_norm[1]))
        mean, std = preset
        said = f"--norm {norm}" + ("" if opts.norm else " ([0, 1], the default; --norm/--mean/--std if not)")
    for values, option in ((mean, "--mean"), (std, "--std")):
        if len(values) not in (1, channels):
            raise EdgekdError(f"{option} has {len(values)} values for {channels}-channel input: give 1 or {channels}")
    return tuple(mean), tuple(std), said


# --- applying it ----------------------------------------------------------------------

def feed_images(images: np.ndarray, feed: Feed) -> np.ndarray:
    """uint8 N x C x H x W data-set images -> the float32 NCHW batch ``feed`` says."""
    x = np.asarray(images)
    if feed.convert_channels:
        x = to_channels(x, feed.chw[0])
    if feed.resize:
        x = resize_bilinear(x, feed.chw[1:])
    return preprocess(x, feed.mean, feed.std)


def to_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 NCHW grey -> RGB (repeated) or RGB -> grey (ITU-R 601 luma, rounded)."""
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return np.repeat(images, 3, axis=1)
    if c == 3 and channels == 1:
        grey = np.tensordot(np.asarray(LUMA, dtype=np.float32), images.astype(np.float32), axes=([0], [1]))
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, None]
    raise EdgekdError(f"cannot convert {c}-channel images to {channels} channels: use --channels 1 or 3")


def resize_bilinear(images: np.ndarray, hw: Sequence[int]) -> np.ndarray:
    """uint8 NCHW resized to ``hw`` per image and channel with PIL's bilinear filter (as
    edgekd's folder data sets and ``classify.py`` resize; antialiased when shrinking)."""
    from PIL import Image

    h, w = int(hw[0]), int(hw[1])
    n, c = images.shape[:2]
    out = np.empty((n, c, h, w), dtype=np.uint8)
    for i in range(n):
        for k in range(c):
            out[i, k] = np.asarray(Image.fromarray(np.ascontiguousarray(images[i, k])).resize((w, h), Image.BILINEAR))
    return out
