"""How many epochs a distillation trains when ``--epochs`` is left at ``auto``: by the size of
its training set, from ``benchmarks/schedules/schedules.md``.

That benchmark trained students (KD and MIP + KD, one seed; 5 on BreastMNIST at 100 and 300)
with the K-view teacher cache and augmentation on cosine schedules of 10, 30, 100 and 300
epochs and picked the length with the best validation metric per data set. Longer
schedules are cheap there (the teacher is not run again), and small training sets gain
the most from them. The rows:

- up to 1,000 images: 300 (BreastMNIST, 546: validation AUC rose at every length for both
  methods; over 5 paired seeds 300 beat 100 on validation by +1.2 / +1.4 points, intervals
  above zero, while test moved -0.6 / +0.2, within noise: 78 validation, 156 test images);
- up to 10,000: 100 (PneumoniaMNIST 4,708 and MNIST's 10 % subsample 5,500: 100 beat 30 and
  10 on validation for both methods; 300 was not run on them, an epoch costs 10x more there);
- more: 30, the earlier default (not measured; an epoch costs in proportion to the set).
"""

from __future__ import annotations

from edgekd.errors import EdgekdError

__all__ = ["EPOCHS_BY_SIZE", "auto_epochs", "parse_epochs"]

#: (largest training set, epochs), smallest first; the last row applies to anything larger
EPOCHS_BY_SIZE: tuple[tuple[int | None, int], ...] = ((1_000, 300), (10_000, 100), (None, 30))


def auto_epochs(n_train: int) -> int:
    """The schedule length for a training set of ``n_train`` images."""
    for largest, epochs in EPOCHS_BY_SIZE:
        if largest is None or n_train <= largest:
            return epochs
    raise AssertionError("EPOCHS_BY_SIZE must end with a catch-all row")


def parse_epochs(value: str | int | None) -> int | None:
    """``--epochs``: a positive whole number, or ``auto`` (None: chosen by the training-set size)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    try:
        epochs = int(value)
    except (TypeError, ValueError):
        raise EdgekdError(f"--epochs must be a positive whole number or auto (got {value!r})") from None
    if isinstance(value, bool) or epochs < 1 or str(epochs) != str(value).strip():
        raise EdgekdError(f"--epochs must be a positive whole number or auto (got {value!r})")
    return epochs
