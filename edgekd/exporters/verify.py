"""The parity gate: an exported artifact, run in its real runtime, against the PyTorch wrapper.

What is measured (on the checkpoint's own data set, test split, preprocessed as in
training; the PyTorch side is the same :class:`~edgekd.exporters.head.ExportHead` the
artifact was traced from, in float32):

- on ``samples`` images (default 64, a fixed random subset): the max abs difference of
  the logits and of the attention map (and its mean abs difference);
- on the full test split: top-1 agreement with PyTorch and the test accuracy of both.

Tolerances (a failure removes the artifact unless ``--no-verify``):

==========  ==================  ==================  ===============  ===============
mode        logits max |diff|   attention max|diff| top-1 agreement  accuracy drop
==========  ==================  ==================  ===============  ===============
none        1e-4                1e-4                100 % *          -
fp16        1e-2 x max(1, |z|)  5e-2                100 % *          -
int8 *      reported            reported            >= 99 %          <= 1 point
dynamic     reported            reported            >= 99 %          <= 1 point
==========  ==================  ==================  ===============  ===============

int8 \\*: every int8 scheme (``int8``, ``int8-all``... :mod:`edgekd.int8_schemes`).
``|z|`` is the largest PyTorch logit magnitude on the samples: float16 carries ~3
significant digits, so its error scales with the logits. \\* Near-ties are exempt: an
image whose two best PyTorch logits differ by less than the logits tolerance may flip
within tolerance; such images are counted (``ties``) and left out of the 100 %. The
agreement and accuracy use the whole test split (99 % of 64 images would allow no
flip at all). int8 maps are reported, not gated: a static int8 map is quantized to
1/255 steps and a CAM follows the int8 prediction.

Every report also counts **near ties**: test images whose PyTorch softmax top-2
probabilities differ by less than ``NEAR_TIE`` (0.05), and how many of the flipped
images are near ties, so a refusal says whether quantization changed confident
decisions or only coin flips.

``accept_drop`` (``--accept-accuracy-drop POINTS``) is the user's stated trade: the
top-1 agreement minimum and the accuracy limit are replaced by "test accuracy drops by
at most POINTS points"; the numeric tolerances of fp32 / fp16 still apply. A refused
gate keeps its report: the exporter writes it as ``<file>.refused.parity.json`` (marked
``refused``; an artifact already at ``<file>`` keeps its own ``<file>.parity.json``) and names
the ways forward (:func:`verdict_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekd.errors import EdgekdError
from edgekd.int8_schemes import precision


@dataclass(frozen=True)
class Tolerance:
    logits: float | None  # max abs logits difference (None: reported only)
    attention: float | None  # max abs map difference (None: reported only)
    agreement: float  # minimum top-1 agreement (fraction)
    accuracy_drop: float | None  # maximum accuracy loss (fraction), None: not gated
    relative: bool = False  # logits tolerance scales with max(1, max |z|)


TOLERANCES = {
    "none": Tolerance(1e-4, 1e-4, 1.0, None),
    "fp16": Tolerance(1e-2, 5e-2, 1.0, None, relative=True),
    "int8": Tolerance(None, None, 0.99, 0.01),
    "dynamic": Tolerance(None, None, 0.99, 0.01),
}
NEAR_TIE = 0.05  # softmax top-2 probability margin below which a decision is a near tie


def softmax_margin(z: np.ndarray) -> np.ndarray:
    """PyTorch's top-1 minus top-2 softmax probability per image (1 for a single-logit model)."""
    if z.shape[1] < 2:
        return np.ones(len(z))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    top2 = np.sort(p, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def torch_outputs(wrapper: Any, x: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """The PyTorch wrapper's outputs on NCHW ``x`` (transposed for an NHWC wrapper)."""
    import torch

    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch]))
            out = wrapper(xb.permute(0, 2, 3, 1) if wrapper.nhwc else xb)
            out = out if isinstance(out, tuple) else (out,)
            for name, t in zip(wrapper.output_names, out):
                parts.setdefault(name, []).append(t.float().numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _max(a: np.ndarray) -> float:
    return float(np.max(a)) if a.size else 0.0


def compare(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], idx: np.ndarray, labels: np.ndarray,
            quantize: str, accept_drop: float | None = None) -> dict[str, Any]:
    """Parity figures and the verdict; ``ref`` / ``got`` on the full split, ``idx`` the samples.

    ``accept_drop``: accepted test-accuracy loss (a fraction, 0.005 = half a point)
    instead of the agreement and accuracy limits of the table.
    """
    tol = TOLERANCES[precision(quantize)]
    if accept_drop is not None:
        if not 0 <= accept_drop <= 1:
            raise EdgekdError(f"--accept-accuracy-drop must be 0..100 points, got {accept_drop * 100:g}")
        tol = Tolerance(tol.logits, tol.attention, 0.0, accept_drop, tol.relative)
    z, zq = ref["logits"], got["logits"]
    if zq.shape != z.shape:
        raise EdgekdError(f"the artifact's logits have shape {zq.shape[1:]}, PyTorch's {z.shape[1:]}: re-export")
    logits_tol = None
    if tol.logits is not None:
        logits_tol = tol.logits * (max(1.0, float(np.abs(z[idx]).max())) if tol.relative else 1.0)
    top2 = np.sort(z, axis=1)[:, -2:] if z.shape[1] > 1 else np.concatenate([z, z], 1)
    margin = top2[:, 1] - top2[:, 0]
    ties = margin < (logits_tol or 0.0)
    agree = z.argmax(1) == zq.argmax(1)
    counted = ~ties if logits_tol is not None else np.ones_like(agree)
    rep: dict[str, Any] = {
        "quantize": quantize, "samples": int(len(idx)), "test_samples": int(len(z)),
        "max_abs_logits": _max(np.abs(zq[idx] - z[idx])), "logits_tolerance": logits_tol,
        "top1_agreement": float(agree[counted].mean()) if counted.any() else 1.0,
        "top1_agreement_samples": float(agree[idx].mean()), "ties": int((ties & ~agree).sum()),
        "agreement_min": tol.agreement,
        # the largest PyTorch top-1 / top-2 logit margin among images whose prediction flipped:
        # small values mean only near-ties flipped
        "max_flip_margin": float(margin[~agree].max()) if (~agree).any() else 0.0,
        "accuracy_torch": float((z.argmax(1) == labels).mean()),
        "accuracy_artifact": float((zq.argmax(1) == labels).mean()),
        "accuracy_drop_max": tol.accuracy_drop, "attention_tolerance": tol.attention,
        "near_tie_margin": NEAR_TIE, "near_ties": int((softmax_margin(z) < NEAR_TIE).sum()),
        "flips": int((~agree).sum()), "flips_near_tie": int(((softmax_margin(z) < NEAR_TIE) & ~agree).sum()),
        "accepted_accuracy_drop": accept_drop,
    }
    rep["accuracy_drop"] = rep["accuracy_torch"] - rep["accuracy_artifact"]
    fails = []
    if logits_tol is not None and not rep["max_abs_logits"] <= logits_tol:
        fails.append(f"logits differ by {rep['max_abs_logits']:.3g} > {logits_tol:.3g}")
    if "attention" in ref:
        a, aq = ref["attention"][idx], got.get("attention")
        if aq is None or aq[idx].shape != a.shape:
            raise EdgekdError("the artifact has no attention output of the PyTorch map's shape: re-export")
        diff = np.abs(aq[idx] - a)
        rep["max_abs_attention"] = float(np.nan_to_num(diff, nan=np.inf).max())
        rep["mean_abs_attention"] = float(np.nan_to_num(diff, nan=np.inf).mean())
        if tol.attention is not None and not rep["max_abs_attention"] <= tol.attention:
            fails.append(f"attention maps differ by {rep['max_abs_attention']:.3g} > {tol.attention:.3g}")
    if tol.agreement and rep["top1_agreement"] < tol.agreement:
        fails.append(f"top-1 agreement {rep['top1_agreement']:.2%} < {tol.agreement:.0%}")
    if tol.accuracy_drop is not None and rep["accuracy_drop"] > tol.accuracy_drop + 1e-12:
        fails.append(f"test accuracy {rep['accuracy_artifact']:.2%} vs {rep['accuracy_torch']:.2%} in PyTorch "
                     f"(drop > {tol.accuracy_drop * 100:g} point)")
    rep["passed"], rep["failures"] = not fails, fails
    return rep


def check_parity(artifact: Path, wrapper: Any, quantize: str, x: np.ndarray, labels: np.ndarray,
                 samples: int = 64, runtime: str = "auto", accept_drop: float | None = None) -> dict[str, Any]:
    """Run ``artifact`` in its runtime on the test images ``x`` against the PyTorch ``wrapper``;
    the parity report (not raised)."""
    return check_parity_against(artifact, lambda: torch_outputs(wrapper, x), quantize, x, labels, samples, runtime,
                                accept_drop)


def check_parity_against(artifact: Path, reference: Callable[[], dict[str, np.ndarray]], quantize: str,
                         x: np.ndarray, labels: np.ndarray, samples: int = 64, runtime: str = "auto",
                         accept_drop: float | None = None) -> dict[str, Any]:
    """Run ``artifact`` on ``x`` against ``reference()`` (the outputs it must match: PyTorch's for
    a checkpoint export, onnxruntime's on the source ONNX for an engine built from an .onnx)."""
    from edgekd.exporters.data import subset
    from edgekd.runtime.registry import create_runner

    if samples < 1:
        raise EdgekdError(f"--parity-samples must be >= 1, got {samples}")
    idx = subset(len(x), samples)
    runner = create_runner(artifact, runtime)
    try:
        got = runner.run(x)
        rep = {"runtime": runner.name, "runtime_version": runner.version, "notes": list(runner.notes)}
        metadata = runner.metadata
    finally:
        runner.close()
    rep.update(compare(drawn(reference(), metadata), drawn(got, metadata), idx, labels, quantize, accept_drop))
    rep["tolerances"] = {k: asdict(v) for k, v in TOLERANCES.items() if k == precision(quantize)}
    return rep


def drawn(outputs: dict[str, np.ndarray], metadata: dict[str, Any]) -> dict[str, np.ndarray]:
    """``outputs`` with the attention output as the B x 1 x H x W map a user sees: class maps
    (the cam head) are compared after the host draws them, so the gate's attention tolerance
    means the same for every head."""
    from edgekd.runtime.attention import CLASS_MAPS, attention_map, output_kind

    if "attention" not in outputs or output_kind(metadata) != CLASS_MAPS:
        return outputs
    return {**outputs, "attention": attention_map(outputs, metadata)[:, None]}


def ways_forward(quantize: str) -> str:
    """What a user can do about a refused gate, for the error line and the parity record."""
    if precision(quantize) in ("none", "fp16"):
        return ("report the model (a float export should match), try --quantize none, or --no-verify to keep it "
                "unchecked")
    return ("quantisation-aware fine-tuning (edgekd qat RUN), more or other calibration images (--calib-samples, "
            "--calib-dataset), another setting (another int8 scheme, e.g. --quantize int8-pt; ONNX: --calibration "
            "percentile; --quantize dynamic or fp16; the other --format), or accept the measured change with "
            "--accept-accuracy-drop POINTS (points of test accuracy)")


def verdict_error(rep: dict[str, Any], what: str, record: Path | None = None) -> EdgekdError:
    """The one-line error of a failed gate: what failed, where the record is, the ways forward."""
    kept = f"; the figures are in {record}" if record else ""
    return EdgekdError(f"parity check failed for {what}: {'; '.join(rep['failures'])}; the artifact was not "
                       f"written{kept}; ways forward: {ways_forward(rep['quantize'])}")


def print_report(rep: dict[str, Any], title: str, console: Any = None) -> None:
    """A small rich table of the parity figures."""
    from rich.console import Console
    from rich.table import Table

    def num(v: Any, fmt: str = ".2e") -> str:
        return "-" if v is None else format(v, fmt)

    table = Table(title=title, show_header=True, header_style="bold")
    for col in ("check", "value", "limit"):
        table.add_column(col)
    table.add_row("logits max |diff|", num(rep["max_abs_logits"]), num(rep["logits_tolerance"]))
    if "max_abs_attention" in rep:
        table.add_row("attention max |diff|", num(rep["max_abs_attention"]), num(rep["attention_tolerance"]))
        table.add_row("attention mean |diff|", num(rep["mean_abs_attention"]), "-")
    table.add_row("top-1 agreement", f"{rep['top1_agreement']:.2%}" + (f" ({rep['ties']} ties)" if rep["ties"] else ""),
                  f">= {rep['agreement_min']:.0%}" if rep["agreement_min"] else "- (accuracy drop accepted)")
    if rep["max_flip_margin"]:
        table.add_row("largest margin of a flipped image", num(rep["max_flip_margin"], ".3g"), "-")
    if "near_ties" in rep:
        table.add_row(f"near ties (softmax top-2 margin < {rep['near_tie_margin']:g})",
                      f"{rep['near_ties']} images; {rep['flips_near_tie']} of {rep['flips']} flips", "-")
    table.add_row("test accuracy (artifact / torch)", f"{rep['accuracy_artifact']:.2%} / {rep['accuracy_torch']:.2%}",
                  "-" if rep["accuracy_drop_max"] is None else f"drop <= {rep['accuracy_drop_max'] * 100:g} pt"
                  + (" (accepted)" if rep.get("accepted_accuracy_drop") is not None else ""))
    table.add_row("verdict", "[green]pass[/green]" if rep["passed"] else "[red]FAIL[/red]", "")
    (console or Console(stderr=True)).print(table)
