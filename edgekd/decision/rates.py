"""What decisions achieve against labels: confusion matrix, accuracy, balanced accuracy, sensitivity, specificity.

Labels first, then the decided classes (N), as in :mod:`edgekd.metrics`. Balanced accuracy is
the mean recall over the classes present in the labels (scikit-learn's
``balanced_accuracy_score``); for two classes it is (sensitivity + specificity) / 2.
"""

from __future__ import annotations

import numpy as np

from edgekd.errors import EdgekdError


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """K x K counts, rows the true class and columns the decided class."""
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    d = np.asarray(predictions).reshape(-1).astype(np.int64)
    if y.shape != d.shape:
        raise EdgekdError(f"{y.size} labels but {d.size} decisions: pass one decision per sample")
    return np.bincount(y * num_classes + d, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def decision_metrics(labels, predictions, num_classes: int, positive_class: int | None = None) -> dict:
    """``accuracy``, ``balanced_accuracy``, ``confusion`` (list of lists) and, given ``positive_class``
    (two classes), ``sensitivity`` (recall of the positive class) and ``specificity`` (of the other);
    a rate whose class has no samples is nan."""
    cm = confusion_matrix(labels, predictions, num_classes)
    n = cm.sum()
    support = cm.sum(axis=1)
    recall = np.divide(np.diag(cm), support, out=np.full(num_classes, np.nan), where=support > 0)
    out = {"accuracy": float(np.trace(cm) / n) if n else float("nan"),
           "balanced_accuracy": float(np.nanmean(recall)) if np.any(support > 0) else float("nan"),
           "confusion": cm.tolist()}
    if positive_class is not None:
        out["sensitivity"] = float(recall[positive_class])
        out["specificity"] = float(recall[1 - positive_class])
    return out
