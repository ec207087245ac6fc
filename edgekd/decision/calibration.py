"""Calibration fitted on validation logits: temperature scaling and bias-corrected temperature scaling.

- :func:`fit_temperature`: one scalar T, probabilities ``softmax(z / T)`` (Guo et al., ICML 2017).
  The NLL is convex in ``1 / T`` (its second derivative is the variance of the logits under the
  model's own probabilities), so the minimum is found by bisection on the sign of the
  derivative over ``log T``, then clamped to [:data:`T_MIN`, :data:`T_MAX`]: deterministic, no
  starting point, no step size.
- :func:`fit_bcts`: T plus one bias per class, ``softmax(z / T + b)`` (bias-corrected temperature
  scaling, Alexandari et al., ICML 2020), by damped Newton steps on the joint NLL, which is
  convex in ``(1 / T, b)``. The bias lets the calibrated probabilities match the class
  frequencies of the validation set, which EM-based prior estimation relies on. A small ridge
  (:data:`BIAS_RIDGE`) on ``b`` keeps the optimum finite when a class is missing from
  validation; ``b`` is returned centred (softmax ignores a common shift).

Arguments are labels first, then logits, as in :mod:`edgekd.metrics`.
"""

from __future__ import annotations

import numpy as np

from edgekd.decision.numerics import as_labels, as_logits, log_softmax
from edgekd.errors import EdgekdError

#: range of temperatures the fit may return (separable or anti-informative logits hit a bound)
T_MIN, T_MAX = 1e-4, 1e6
#: ridge on the per-class bias of :func:`fit_bcts`: numerical only, far below any real signal
BIAS_RIDGE = 1e-4
_BISECTIONS = 200


def calibrated_logits(logits, temperature: float = 1.0, bias=None) -> np.ndarray:
    """``z / T + b``: logits whose softmax is the calibrated probability (``b`` optional)."""
    z = as_logits(logits) / float(temperature)
    return z if bias is None else z + np.asarray(bias, dtype=np.float64)


def _nll_slope(z: np.ndarray, y: np.ndarray, beta: float) -> float:
    """d NLL / d beta of ``softmax(beta * z)``: mean over samples of E_p[z] - z_y."""
    p = np.exp(log_softmax(beta * z))
    return float(np.mean((p * z).sum(axis=1) - z[np.arange(len(y)), y]))


def fit_temperature(labels, logits) -> float:
    """The temperature T minimising the validation NLL of ``softmax(logits / T)``.

    Solves d NLL / d(1/T) = 0 by bisection on log(1/T) (the slope rises monotonically);
    returns :data:`T_MIN` when the logits separate the classes perfectly (NLL keeps
    falling as T shrinks) and :data:`T_MAX` when they are no better than chance.
    """
    z = as_logits(logits)
    y = as_labels(labels, z.shape[0], z.shape[1])
    if len(y) == 0:
        raise EdgekdError("cannot fit a temperature on an empty validation set")
    lo, hi = np.log(1.0 / T_MAX), np.log(1.0 / T_MIN)  # log(beta) bracket, beta = 1 / T
    if _nll_slope(z, y, np.exp(lo)) >= 0.0:
        return T_MAX
    if _nll_slope(z, y, np.exp(hi)) <= 0.0:
        return T_MIN
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if _nll_slope(z, y, np.exp(mid)) < 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return float(1.0 / np.exp(0.5 * (lo + hi)))


def _bcts_objective(z, y, onehot, theta, ridge):
    """NLL of softmax(a z + b) + ridge/2 |b|^2, its gradient and Hessian in theta = (a, b)."""
    a, b = theta[0], theta[1:]
    lp = log_softmax(a * z + b)
    p = np.exp(lp)
    n = len(y)
    loss = -float(np.mean(lp[np.arange(n), y])) + 0.5 * ridge * float(b @ b)
    ez = (p * z).sum(axis=1)                                  # E_p[z] per sample
    grad = np.empty_like(theta)
    grad[0] = np.mean(ez - z[np.arange(n), y])
    grad[1:] = (p - onehot).mean(axis=0) + ridge * b
    k = z.shape[1]
    hess = np.empty((k + 1, k + 1))
    hess[0, 0] = np.mean((p * z * z).sum(axis=1) - ez ** 2)
    hess[0, 1:] = hess[1:, 0] = (p * z - ez[:, None] * p).mean(axis=0)
    hess[1:, 1:] = np.diag(p.mean(axis=0)) - (p.T @ p) / n + ridge * np.eye(k)
    return loss, grad, hess


def fit_bcts(labels, logits, max_iter: int = 100, tol: float = 1e-10) -> tuple[float, np.ndarray]:
    """Temperature and per-class bias ``(T, b)`` minimising the validation NLL of ``softmax(z / T + b)``.

    Newton steps with a backtracking line search, started from :func:`fit_temperature`'s T and
    zero bias; stops when the gradient norm falls below ``tol``. The scale ``1 / T`` is kept
    positive (a step that would flip the ranking of classes is halved until it does not).
    """
    z = as_logits(logits)
    y = as_labels(labels, z.shape[0], z.shape[1])
    if len(y) == 0:
        raise EdgekdError("cannot fit a calibration on an empty validation set")
    k = z.shape[1]
    onehot = np.eye(k)[y]
    theta = np.zeros(k + 1)
    theta[0] = 1.0 / fit_temperature(y, z)
    loss, grad, hess = _bcts_objective(z, y, onehot, theta, BIAS_RIDGE)
    for _ in range(max_iter):
        if np.linalg.norm(grad) < tol:
            break
        step = np.linalg.solve(hess + 1e-12 * np.eye(k + 1), -grad)
        t = 1.0
        while t > 1e-12:
            cand = theta + t * step
            if cand[0] > 1.0 / T_MAX:
                c_loss, c_grad, c_hess = _bcts_objective(z, y, onehot, cand, BIAS_RIDGE)
                if c_loss <= loss + 1e-4 * t * float(grad @ step):
                    break
            t *= 0.5
        else:
            break  # no decrease possible at machine precision: converged
        theta, loss, grad, hess = cand, c_loss, c_grad, c_hess
    temperature = float(np.clip(1.0 / theta[0], T_MIN, T_MAX))
    bias = theta[1:] - theta[1:].mean()
    return temperature, bias
