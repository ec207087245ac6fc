"""The decision rule a model ships with, as plain data that travels (checkpoint, metrics.json,
ONNX ``metadata_props`` as a JSON string, a sidecar file).

A :class:`DecisionRule` holds everything the device needs to turn raw logits into one
answer per image (:mod:`edgekd.decision.apply`): the calibration (temperature and an
optional per-class bias), the class prior the model was trained under, the deployment prior
when the rule was adapted to a site, and, for two classes, the threshold on the calibrated
probability of the positive class with the name of the rule that chose it.
:class:`ValidationFigures` records what the rule achieved on the validation split it was
fitted on.

Threshold and prior, composed (binary): ``threshold`` is a probability under the training
prior. Every rule falls in one of two kinds, stored in ``threshold_follows_prior``:

- True (``0.5``, ``accuracy``, ``accuracy-guarded``): the threshold stands for a cost ratio
  (0.5 = errors cost the same), so it applies to the *adapted* probability. In log-odds,
  deciding ``logit p' >= logit t`` with ``p'`` adapted equals deciding on the unadapted
  probability with the threshold moved by the prior log-odds shift
  ``log(pi'_1 / pi'_0) - log(pi_1 / pi_0)``: a site with fewer positives needs more evidence.
- False (``youden``, ``sensitivity=X``, ``specificity=X``, ``balanced``, ``youden-shrunk``): the
  rule is about class-conditional rates, which a prior shift does not change; the threshold
  stays on the unadapted probability so the validated sensitivity and specificity still
  hold at the new site. The reported probabilities are still the adapted ones.

Multi-class rules have no threshold: the decision is the arg-max of the calibrated (and,
with a deployment prior, adapted) probabilities, which is the accuracy-optimal choice.

:meth:`DecisionRule.to_dict` / :meth:`DecisionRule.from_dict` round-trip exactly; ``from_dict``
refuses unknown or missing keys and a newer schema with one-line errors.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields

import numpy as np

from edgekd.decision.numerics import as_prior
from edgekd.errors import EdgekdError

#: version of the dict layout; from_dict refuses a record from a newer edgekd
SCHEMA_VERSION = 1


def _float_or_none(v) -> float | None:
    """A float for JSON: None for None and NaN (JSON has no NaN)."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _tuple(v, cast, what: str) -> tuple | None:
    if v is None:
        return None
    try:
        return tuple(cast(x) for x in v)
    except (TypeError, ValueError):
        raise EdgekdError(f"decision rule: {what} must be a list, got {v!r}") from None


def _check_keys(d, cls, what: str) -> None:
    if not isinstance(d, dict):
        raise EdgekdError(f"{what} must be a JSON object, got {type(d).__name__}")
    expected = [f.name for f in fields(cls)]
    unknown = sorted(set(d) - set(expected))
    missing = [k for k in expected if k not in d]
    if unknown or missing:
        parts = ([f"unknown key(s) {', '.join(unknown)}"] if unknown else []) + \
                ([f"missing key(s) {', '.join(missing)}"] if missing else [])
        raise EdgekdError(f"{what} has {'; '.join(parts)}: write it with this edgekd's DecisionRule.to_dict")


@dataclass(frozen=True)
class ValidationFigures:
    """What a rule achieved on the validation split it was fitted on.

    ``accuracy_at_half`` is the arg-max of the raw logits (the decision without any rule);
    ``accuracy``, ``balanced_accuracy``, ``sensitivity``, ``specificity`` (binary, else None)
    and ``confusion`` (rows: true class, columns: decided class; counts) are at the rule's
    operating point; ``auc`` is None for more than two classes or one class present;
    ``ece_*`` / ``nll_*`` are before and after calibration.
    """

    n: int
    accuracy_at_half: float
    accuracy: float
    balanced_accuracy: float
    sensitivity: float | None
    specificity: float | None
    auc: float | None
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    confusion: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise EdgekdError(f"decision rule: validation n must be a count, got {self.n!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name not in ("n", "confusion") and v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise EdgekdError(f"decision rule: validation {f.name} must be a number, got {v!r}")
        conf = tuple(tuple(int(c) for c in row) for row in self.confusion)
        if not conf or any(len(row) != len(conf) for row in conf) or any(c < 0 for row in conf for c in row):
            raise EdgekdError("decision rule: validation confusion must be a square matrix of counts")
        object.__setattr__(self, "confusion", conf)

    def to_dict(self) -> dict:
        d = {f.name: _float_or_none(getattr(self, f.name)) for f in fields(self) if f.name not in ("n", "confusion")}
        return {"n": int(self.n), **d, "confusion": [list(row) for row in self.confusion]}

    @classmethod
    def from_dict(cls, d: dict) -> ValidationFigures:
        _check_keys(d, cls, "decision rule validation figures")
        return cls(**d)


@dataclass(frozen=True)
class DecisionRule:
    """Calibration, priors and operating point of one model; see the module docstring for how they compose.

    ``estimation_temperature`` / ``estimation_bias``: a second calibration, temperature plus
    per-class bias (BCTS), that the prior estimators read when the decisions use another one:
    EM needs probabilities calibrated per class, which one temperature does not give a model
    biased toward a class; None when the rule's own calibration is already BCTS."""

    class_names: tuple[str, ...]
    train_prior: tuple[float, ...]
    temperature: float = 1.0
    bias: tuple[float, ...] | None = None
    threshold: float | None = None
    threshold_follows_prior: bool | None = None
    positive_class: int | None = None
    rule: str = "argmax"
    deploy_prior: tuple[float, ...] | None = None
    validation: ValidationFigures | None = None
    estimation_bias: tuple[float, ...] | None = None
    estimation_temperature: float | None = None
    schema: int = SCHEMA_VERSION

    def __post_init__(self):
        names = _tuple(self.class_names, str, "class_names")
        k = len(names)
        if k < 2:
            raise EdgekdError(f"decision rule: needs at least 2 class names, got {list(names)}")
        object.__setattr__(self, "class_names", names)
        object.__setattr__(self, "train_prior", tuple(as_prior(self.train_prior, k, "train_prior").tolist()))
        if self.deploy_prior is not None:
            object.__setattr__(self, "deploy_prior", tuple(as_prior(self.deploy_prior, k, "deploy_prior").tolist()))
        if not (isinstance(self.temperature, int | float) and math.isfinite(self.temperature) and self.temperature > 0):
            raise EdgekdError(f"decision rule: temperature must be a positive number, got {self.temperature!r}")
        object.__setattr__(self, "temperature", float(self.temperature))
        bias = _tuple(self.bias, float, "bias")
        if bias is not None and (len(bias) != k or not all(math.isfinite(b) for b in bias)):
            raise EdgekdError(f"decision rule: bias needs {k} finite values, got {self.bias!r}")
        object.__setattr__(self, "bias", bias)
        binary_fields = (self.threshold, self.threshold_follows_prior, self.positive_class)
        if k == 2:
            if any(v is None for v in binary_fields):
                raise EdgekdError("decision rule: a 2-class rule needs threshold, threshold_follows_prior and "
                                  "positive_class")
            if not (isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0):
                raise EdgekdError(f"decision rule: threshold must lie strictly between 0 and 1, got {self.threshold!r}")
            if self.positive_class not in (0, 1) or not isinstance(self.threshold_follows_prior, bool):
                raise EdgekdError("decision rule: positive_class must be 0 or 1 and threshold_follows_prior a bool")
            object.__setattr__(self, "threshold", float(self.threshold))
        elif any(v is not None for v in binary_fields):
            raise EdgekdError(f"decision rule: {k} classes decide by arg-max; threshold, threshold_follows_prior "
                              "and positive_class must be None")
        est = _tuple(self.estimation_bias, float, "estimation_bias")
        if (est is None) != (self.estimation_temperature is None) or (est is not None and len(est) != k):
            raise EdgekdError(f"decision rule: estimation_temperature and estimation_bias ({k} values) go together")
        if est is not None and not (math.isfinite(self.estimation_temperature) and self.estimation_temperature > 0):
            raise EdgekdError("decision rule: estimation_temperature must be a positive number")
        object.__setattr__(self, "estimation_bias", est)
        if not isinstance(self.rule, str) or not self.rule:
            raise EdgekdError(f"decision rule: rule must be a name such as youden, got {self.rule!r}")
        if self.validation is not None and not isinstance(self.validation, ValidationFigures):
            raise EdgekdError("decision rule: validation must be ValidationFigures (use DecisionRule.from_dict for dicts)")
        if self.validation is not None and len(self.validation.confusion) != k:
            raise EdgekdError(f"decision rule: validation confusion is not {k} x {k}")
        if self.schema != SCHEMA_VERSION:
            raise EdgekdError(f"decision rule has schema {self.schema}, this edgekd reads {SCHEMA_VERSION}: "
                              "use the edgekd version that wrote it")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def binary(self) -> bool:
        return self.num_classes == 2

    @property
    def prior(self) -> np.ndarray:
        """The prior decisions are made under: the deployment prior where set, else the training prior."""
        return np.asarray(self.deploy_prior if self.deploy_prior is not None else self.train_prior)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (lists, floats, None); ``from_dict(to_dict())`` gives an equal rule."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("class_names", "train_prior", "bias", "deploy_prior", "estimation_bias"):
            d[key] = None if d[key] is None else list(d[key])
        d["validation"] = None if self.validation is None else self.validation.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DecisionRule:
        _check_keys(d, cls, "decision rule")
        if not isinstance(d["schema"], int) or d["schema"] > SCHEMA_VERSION:
            raise EdgekdError(f"decision rule has schema {d['schema']!r}, this edgekd reads {SCHEMA_VERSION}: "
                              "upgrade edgekd")
        args = dict(d)
        if args["validation"] is not None:
            args["validation"] = ValidationFigures.from_dict(args["validation"])
        return cls(**args)

    def to_json(self) -> str:
        """One compact JSON string, e.g. for an ONNX ``metadata_props`` value."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DecisionRule:
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise EdgekdError(f"decision rule is not valid JSON ({exc}): re-export the model") from None
        return cls.from_dict(d)
