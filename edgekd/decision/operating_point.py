"""Binary operating points: which threshold on the calibrated positive probability a rule picks on validation.

Rules (names as ``--operating-point`` takes them):

- ``0.5``: the Bayes decision for equal error costs on calibrated probabilities; no fitting.
- ``accuracy``: the threshold with the highest validation accuracy.
- ``youden``: the highest sensitivity + specificity - 1 on validation.
- ``sensitivity=X`` / ``specificity=X``: the most specific (most sensitive) threshold whose
  validation sensitivity (specificity) is at least X.
- ``balanced``: the Bayes decision under equal class priors, ``p >= pi_train(positive)``; it
  maximises balanced accuracy when the probabilities are calibrated, and needs no fitting,
  so a small validation set cannot make it noisy.
- ``youden-shrunk``: Youden's threshold pulled toward ``balanced`` (its population value for a
  calibrated model) by its own bootstrap spread: with ``d`` the distance in log-odds and ``s^2``
  the variance of Youden's threshold over resamples of validation, the result lies at
  ``d * max(0, 1 - s^2 / d^2)`` (the empirical-Bayes posterior mean under a normal prior on
  ``d``). A threshold that the validation set cannot place firmly falls back to ``balanced``.
- ``accuracy-guarded``: ``accuracy``'s threshold only where validation shows it beats 0.5:
  on each bootstrap resample the threshold is chosen again and both are scored on the
  samples left out; it is kept when it gains on average and loses in at most 5 % of
  resamples, else 0.5 stays.

Ties (a plateau of equally good thresholds) go to the threshold closest in log-odds to the
rule's anchor (0.5, or ``balanced`` for ``youden``). Thresholds sit halfway, in log-odds,
between neighbouring validation scores, so a rule's contract holds on validation exactly.
Whether a rule's threshold follows a deployment prior is :func:`follows_prior` (see
:mod:`edgekd.decision.record`).
"""

from __future__ import annotations

import numpy as np

from edgekd.decision.bootstrap import resample_indices
from edgekd.decision.numerics import PROB_FLOOR, logit, sigmoid
from edgekd.errors import EdgekdError
from edgekd.suggest import unknown

NAMED_RULES = ("0.5", "accuracy", "youden", "balanced", "youden-shrunk", "accuracy-guarded")
RATE_RULES = ("sensitivity", "specificity")
#: rules whose threshold is a cost ratio and so applies to the adapted probability
_COST_RULES = ("0.5", "accuracy", "accuracy-guarded")
#: bootstrap resamples of validation for the shrunk and guarded rules (fixed: the rule must be deterministic)
N_BOOT = 200
GUARD_MAX_LOSS = 0.05


def parse_rule(name: str) -> tuple[str, float | None]:
    """``(kind, X)`` of a rule name: ``("youden", None)``, ``("sensitivity", 0.95)``; one-line error otherwise."""
    text = str(name).strip().lower()
    if text in NAMED_RULES:
        return text, None
    kind, sep, value = text.partition("=")
    if sep and kind in RATE_RULES:
        try:
            x = float(value)
        except ValueError:
            x = float("nan")
        if not 0.0 < x <= 1.0:
            raise EdgekdError(f"operating point '{name}': {kind} must be a number in (0, 1], e.g. {kind}=0.95")
        return kind, x
    raise unknown("operating point", name, NAMED_RULES + tuple(f"{r}=X" for r in RATE_RULES))


def canonical_name(name: str) -> str:
    kind, x = parse_rule(name)
    return kind if x is None else f"{kind}={x:g}"


def follows_prior(name: str) -> bool:
    """True when the rule's threshold is a cost ratio (applies to adapted probabilities), False for rate rules."""
    return parse_rule(name)[0] in _COST_RULES


def _cuts(scores: np.ndarray, positive: np.ndarray):
    """Every distinct way to cut ``scores``: thresholds (log-odds, descending) and TP / FP counts at each."""
    order = np.argsort(-scores, kind="mergesort")
    s, pos = scores[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]                  # last index of each run of equal scores
    tp = np.r_[0, np.cumsum(pos)[last]]
    fp = np.r_[0, np.cumsum(~pos)[last]]
    u = s[last]                                           # distinct scores, descending
    thresholds = np.r_[u[0] + 1.0, 0.5 * (u[:-1] + u[1:]), u[-1] - 1.0]
    return thresholds, tp, fp


def _best(values: np.ndarray, thresholds: np.ndarray, anchor: float) -> float:
    """The threshold of the highest value, ties to the one closest to ``anchor`` (log-odds)."""
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return float(thresholds[best[np.argmin(np.abs(thresholds[best] - anchor))]])


def _select(scores: np.ndarray, positive: np.ndarray, kind: str, x: float | None, balanced: float) -> float:
    """Log-odds threshold of a basic rule (accuracy, youden, sensitivity, specificity) on these samples."""
    t, tp, fp = _cuts(scores, positive)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if kind == "accuracy":
        return _best(tp - fp, t, 0.0)                     # accuracy = (tp + n_neg - fp) / n
    if n_pos == 0 or n_neg == 0:
        raise EdgekdError(f"operating point '{kind}' needs both classes in the validation split; "
                          "use 0.5 or balanced, or a larger validation split")
    sens, spec = tp / n_pos, 1.0 - fp / n_neg
    if kind == "youden":
        return _best(sens + spec, t, balanced)
    if kind == "sensitivity":
        return float(t[np.flatnonzero(sens >= x - 1e-12)[0]])
    return float(t[np.flatnonzero(spec >= x - 1e-12)[-1]])  # specificity


def _youden_shrunk(scores, positive, balanced: float, seed: int) -> float:
    d = _select(scores, positive, "youden", None, balanced) - balanced
    boots = []
    for idx in resample_indices(len(scores), N_BOOT, seed):
        if 0 < positive[idx].sum() < len(idx):
            boots.append(_select(scores[idx], positive[idx], "youden", None, balanced))
    s2 = float(np.var(boots)) if len(boots) > 1 else float("inf")
    return balanced + (d * max(0.0, 1.0 - s2 / (d * d)) if d != 0.0 else 0.0)


def _accuracy_gain_out_of_bag(scores, positive, seed: int) -> np.ndarray:
    """Per resample: accuracy of the threshold re-chosen in-bag minus that of 0.5, on the left-out samples."""
    gains = []
    n = len(scores)
    for idx in resample_indices(n, N_BOOT, seed):
        oob = np.ones(n, dtype=bool)
        oob[idx] = False
        if not oob.any():
            continue
        t = _select(scores[idx], positive[idx], "accuracy", None, 0.0)
        s, pos = scores[oob], positive[oob]
        gains.append(np.mean((s >= t) == pos) - np.mean((s >= 0.0) == pos))
    return np.asarray(gains)


def select_threshold(labels, log_odds, rule: str, positive_class: int = 1, train_prior_positive: float = 0.5,
                     seed: int = 0) -> float:
    """The probability threshold ``rule`` picks from validation ``labels`` and calibrated positive
    ``log_odds`` (unadapted, training prior), kept inside [PROB_FLOOR, 1 - PROB_FLOOR]."""
    kind, x = parse_rule(rule)
    scores = np.asarray(log_odds, dtype=np.float64).reshape(-1)
    positive = np.asarray(labels).reshape(-1) == positive_class
    if scores.shape != positive.shape or scores.size == 0:
        raise EdgekdError(f"{positive.size} labels and {scores.size} scores: need one score per validation sample")
    balanced = float(logit(train_prior_positive))
    if kind == "0.5":
        t = 0.0
    elif kind == "balanced":
        t = balanced
    elif kind == "youden-shrunk":
        t = _youden_shrunk(scores, positive, balanced, seed)
    elif kind == "accuracy-guarded":
        t = _select(scores, positive, "accuracy", None, 0.0)
        gains = _accuracy_gain_out_of_bag(scores, positive, seed)
        if not (gains.size and gains.mean() > 0 and np.mean(gains < 0) <= GUARD_MAX_LOSS):
            t = 0.0
    else:
        t = _select(scores, positive, kind, x, balanced)
    return float(np.clip(sigmoid(t), PROB_FLOOR, 1.0 - PROB_FLOOR))
