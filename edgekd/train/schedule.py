"""How many epochs a distillation trains when ``--epochs`` is left at ``auto``: by the size of
its training set, from ``benchmarks/schedules.md``.

That benchmark trained students with the K-view teacher cache and augmentation on cosine
schedules of 10, 30, 100 (and on the smallest set 300) epochs and picked the length with the
best validation metric per data set. Longer schedules are cheap there (the teacher is not
run again), and small training sets gain the most from them. The rows:

- up to 1,000 images (BreastMNIST, 546): see ``EPOCHS_BY_SIZE``;
- up to 10,000 (PneumoniaMNIST 4,708, MNIST's 10 % subsample 5,500): see ``EPOCHS_BY_SIZE``;
- more: 30, the earlier default (not measured here; an epoch costs in proportion to the set).
"""

from __future__ import annotations

__all__ = ["EPOCHS_BY_SIZE", "auto_epochs", "parse_epochs"]

from edgekd.errors import EdgekdError

#: (largest training set, epochs), smallest first; the last row applies to anything larger
EPOCHS_BY_SIZE: tuple[tuple[int | None, int], ...] = ((1_000, 100), (10_000, 100), (None, 30))


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
