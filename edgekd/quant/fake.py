"""Fake quantisation of a (BatchNorm-folded) model, placed where an int8 scheme quantizes.

:class:`FakeQuant` mirrors what the exporters do to the model, scheme by scheme
(:mod:`edgekd.int8_schemes`), so that training sees the rounding the int8 file will apply:

- **weights**: signed symmetric, per output channel (or per tensor), ``scale = max|w| / qmax``
  with ``qmax`` 64 for onnxruntime's 7-bit weights (its ``reduce_range`` grid is -64..64) or
  127 for 8 bits; every Conv2d except the first when the scheme keeps it float, the Linear
  classifier only when the scheme quantizes it. A ``torch.nn.utils.parametrize``
  parametrization, so the optimizer updates the float weights through the straight-through
  estimator;
- **activations**: 256 levels (asymmetric, or symmetric for ``int8-sym``) at the tensors an
  int8 graph stores in int8: the output of every ReLU, of every BatchNorm not followed by a
  ReLU (a residual branch before its Add), of the global pooling, the model input when the
  first convolution is int8 and the logits when the classifier is. Forward hooks, so the
  model's code is untouched.

Activation ranges are the exporters' own: the min / max over the calibration images (the
same fixed subset of the train split, :func:`edgekd.exporters.data.calibration_images`) through
the *float* model, as onnxruntime's and ai-edge-quantizer's calibrators compute them;
:meth:`FakeQuant.calibrate` recomputes them (the weights move while training).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from edgekd.int8_schemes import Int8Scheme


class WeightQuant(nn.Module):
    """Parametrization: the weight rounded to its signed symmetric int8 grid (per channel or tensor)."""

    def __init__(self, qmax: int, per_channel: bool) -> None:
        super().__init__()
        self.qmax, self.per_channel, self.enabled = int(qmax), per_channel, True

    def forward(self, w: Tensor) -> Tensor:
        if not self.enabled:
            return w
        if self.per_channel:
            scale = (w.detach().abs().flatten(1).amax(1).clamp_min(1e-12) / self.qmax).float()
            zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
            return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -self.qmax, self.qmax)
        scale = float(w.detach().abs().max().clamp_min(1e-12)) / self.qmax
        return torch.fake_quantize_per_tensor_affine(w, scale, 0, -self.qmax, self.qmax)


class ActivationQuant:
    """A forward hook that rounds a tensor to 256 levels over its calibrated range [lo, hi]."""

    def __init__(self, symmetric: bool) -> None:
        self.symmetric = symmetric
        self.lo, self.hi = float("inf"), float("-inf")
        self.observing, self.enabled = False, True

    def observe(self, x: Tensor) -> None:
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))

    def qparams(self) -> tuple[float, int, int, int]:
        """(scale, zero point, qmin, qmax) of the range, which always holds 0 (as the exporters')."""
        lo, hi = min(self.lo, 0.0), max(self.hi, 0.0)
        if self.symmetric:
            bound = max(-lo, hi, 1e-12)
            return bound / 127.5, 0, -128, 127
        scale = max(hi - lo, 1e-12) / 255.0
        return scale, int(round(-lo / scale)), 0, 255

    def __call__(self, x: Tensor) -> Tensor:
        if self.observing:
            self.observe(x.detach())
            return x
        if not self.enabled or self.lo > self.hi:
            return x
        scale, zero, qmin, qmax = self.qparams()
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, qmin, qmax)


def forward_order(model: nn.Module, input_shape: tuple[int, ...], kinds: tuple[type, ...]) -> list[nn.Module]:
    """The modules of ``kinds`` in the order a forward pass calls them (each once)."""
    order: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda mod, i, o: order.append(mod) if mod not in order else None)
               for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return order


def activation_points(model: nn.Module) -> list[nn.Module]:
    """Modules whose outputs an int8 graph stores in int8 (the module doc)."""
    points: list[nn.Module] = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.AdaptiveAvgPool2d))]
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            for a, b in zip(children, children[1:] + [None]):
                if isinstance(a, nn.BatchNorm2d) and not isinstance(b, nn.ReLU):
                    points.append(a)
    return points


class FakeQuant:
    """Fake quantisation of ``model`` for ``scheme`` (see the module doc); :meth:`remove` undoes it."""

    def __init__(self, model: nn.Module, scheme: Int8Scheme, input_shape: tuple[int, ...], weight_bits: int = 7):
        self.model, self.scheme = model, scheme
        qmax = 64 if weight_bits == 7 else 127
        convs = forward_order(model, input_shape, (nn.Conv2d,))
        linears = forward_order(model, input_shape, (nn.Linear,))
        self.weighted = convs[1:] if scheme.float_first else convs
        if not scheme.float_last:
            self.weighted += linears
        self.weight_quants = []
        for module in self.weighted:
            quant = WeightQuant(qmax, scheme.per_channel)
            parametrize.register_parametrization(module, "weight", quant)
            self.weight_quants.append(quant)
        symmetric = scheme.activations == "s8-symmetric"
        self.acts: list[ActivationQuant] = []
        self.handles = []
        for module in activation_points(model) + ([] if scheme.float_last else linears[-1:]):
            quant = ActivationQuant(symmetric)
            self.handles.append(module.register_forward_hook(lambda mod, i, out, q=quant: q(out)))
            self.acts.append(quant)
        if not scheme.float_first and convs:
            quant = ActivationQuant(symmetric)
            self.handles.append(convs[0].register_forward_pre_hook(lambda mod, args, q=quant: (q(args[0]),)))
            self.acts.append(quant)

    @contextmanager
    def float_model(self) -> Iterator[None]:
        """Weights and activations unquantized for the block (the model the exporters calibrate)."""
        for q in self.weight_quants:
            q.enabled = False
        for a in self.acts:
            a.enabled = False
        try:
            yield
        finally:
            for q in self.weight_quants:
                q.enabled = True
            for a in self.acts:
                a.enabled = True

    @contextmanager
    def float_activations(self) -> Iterator[None]:
        """Activations unquantized, weights still on their grid: what the float checkpoint written
        after training computes (the parity gate's reference)."""
        for a in self.acts:
            a.enabled = False
        try:
            yield
        finally:
            for a in self.acts:
                a.enabled = True

    @torch.no_grad()
    def calibrate(self, images: Tensor, batch: int = 256) -> None:
        """Activation ranges: min / max over ``images`` through the float model (eval mode)."""
        was = self.model.training
        self.model.eval()
        with self.float_model():
            for a in self.acts:
                a.lo, a.hi, a.observing = float("inf"), float("-inf"), True
            try:
                for i in range(0, len(images), batch):
                    self.model(images[i:i + batch])
            finally:
                for a in self.acts:
                    a.observing = False
        self.model.train(was)

    def remove(self, snap: bool = True) -> None:
        """Take the fake quantisation out; ``snap``: keep the weights on their int8 grid (the
        float model then computes with exactly the weights the int8 file will hold)."""
        for h in self.handles:
            h.remove()
        for module in self.weighted:
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=snap)
        self.handles, self.weighted, self.weight_quants = [], [], []
