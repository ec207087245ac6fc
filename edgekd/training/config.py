"""The training recipe ``train`` and ``distill`` share: one dataclass whose fields are the
commands' training options (help, defaults, choices: :mod:`edgekd.spec`), checked here.

:class:`TrainConfig` is what the training loop reads; the command specs
(:class:`~edgekd.training.spec.TrainSpec`, :class:`~edgekd.distillation.spec.DistillSpec`)
extend it with what each command adds, so an option is written once. Torch-free, so the
command line is built without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekd.decision.fit import CALIBRATIONS, DEFAULT_RULE
from edgekd.errors import EdgekdError
from edgekd.spec import Spec, option

__all__ = ["TrainConfig"]

AUTO_EPOCHS_HELP = ("Training epochs, or auto: by the training set's size, 300 up to 1,000 images, 100 up to 10,000 "
                    "and 30 above (edgekd/training/schedule.py; the lengths benchmarks/schedules/schedules.md picked on "
                    "validation). The number used is saved in config.toml.")


@dataclass(kw_only=True)
class TrainConfig(Spec):
    """How a model is trained: schedule, optimiser, augmentation, seed, device, selection."""

    config_file = True

    epochs: int | str = option(30, "Training epochs.")
    batch_size: int = option(128, "Batch size (global).")
    lr: float = option(0.05, "Peak learning rate.")
    optimizer: str = option("sgd", "sgd (momentum 0.9, Nesterov) or adamw.", choices=("sgd", "adamw"))
    schedule: str = option("cosine", "cosine or step (x0.1 at 50% and 75%).", choices=("cosine", "step"))
    weight_decay: float = option(5e-4, "Weight decay.")
    label_smoothing: float = option(0.0, "Cross-entropy label smoothing on the hard labels (0 <= x < 1; 0: off). "
                                         "benchmarks/teachers/teachers.md measures it on teachers and their students.")
    augment: bool = option(True, "Random shifts of up to 2 px (each image's shift a pure function of seed, image "
                                 "and view).")
    flip: bool = option(False, "Also mirror left-right with probability 1/2; only data sets whose classes survive "
                               "a mirror (not digits, MNIST, chest X-rays, organ CT).", negatable=False)
    rotate: float = option(0.0, "Also rotate by up to this many degrees either way (0..30; 0: off).")
    cache_views: int | None = None  # K augmented views per image (a K-view teacher cache); None: a fresh view each epoch
    seed: int = option(0, "Seed for initialisation, order and augmentation.")
    device: str = option("auto", "auto, cpu or cuda (AMP on cuda).")
    select: str = option("auto", "Validation metric that picks the best epoch: auc for two classes (auto), else "
                                 "accuracy.", choices=("auto", "accuracy", "auc"))
    operating_point: str = option(DEFAULT_RULE, "How a two-class model decides, chosen on the validation split after "
                                                "training: 0.5 (the calibrated arg-max), accuracy, youden, balanced, "
                                                "sensitivity=X, specificity=X (X in (0, 1); the disease class's recall "
                                                "or the other's), youden-shrunk, accuracy-guarded (docs/decisions.md). "
                                                "Stored in the model and its exports; edgekd calibrate changes it later.")
    calibration: str = option("temperature", "Calibration fitted on the validation split: temperature, bcts "
                                             "(temperature + per-class bias) or none.", choices=CALIBRATIONS)
    label_fraction: float = option(1.0, "Train on this stratified fraction of the labels.")
    compile: bool = option(False, "torch.compile the trained model (GPU runs).", negatable=False)
    deterministic: bool = option(True, "torch's deterministic algorithms: the same seed gives bitwise-identical "
                                       "weights and metrics (on the same machine, threads and versions) at a few per "
                                       "cent per CPU epoch (benchmarks/determinism/determinism.md); --no-deterministic gives "
                                       "that up for speed.")
    threads: int | str | None = option(None, "CPU threads for torch: a positive number, or auto (OMP_NUM_THREADS "
                                             "when set, else the physical cores; edgekd/training/threads.py). The "
                                             "count used is saved in the run's config.toml.")

    def check(self) -> None:
        from edgekd.training.schedule import parse_epochs

        super().check()
        parse_epochs(self.epochs)
        if self.batch_size < 1 or self.lr <= 0:
            raise EdgekdError("epochs, batch size and lr must be positive")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise EdgekdError(f"--label-smoothing must be in [0, 1) (got {self.label_smoothing}); 0.1 is usual")
        if self.threads is not None:
            from edgekd.training.threads import parse_threads

            parse_threads(self.threads)
        if not self.augment and (self.flip or self.rotate):
            raise EdgekdError("--flip and --rotate add to the augmentation, which --no-augment turns off; drop one")
        self.make_views()  # checks the rotation range and K
        from edgekd.decision.operating_point import canonical_name

        canonical_name(self.operating_point)

    def with_data(self, n_train: int) -> TrainConfig:
        """This config with ``epochs`` settled for ``n_train`` training images (auto -> the table)."""
        from edgekd.training.schedule import auto_epochs, parse_epochs

        epochs = parse_epochs(self.epochs)
        return self.replace(epochs=epochs if epochs is not None else auto_epochs(n_train))

    def with_threads(self) -> TrainConfig:
        """This config with ``threads`` settled to a count (auto -> edgekd/training/threads.py);
        None (leave the process's setting alone) stays None."""
        from edgekd.training.threads import parse_threads

        return self if self.threads is None else self.replace(threads=parse_threads(self.threads))

    def make_views(self):
        """The augmentation of this run: policy (None with --no-augment), seed and K views
        (:class:`edgekd.training.augment.Views`)."""
        from edgekd.training.augment import AugmentPolicy, Views

        policy = AugmentPolicy(flip=self.flip, rotate=float(self.rotate)) if self.augment else None
        return Views(policy, self.seed, self.cache_views)

    def check_data(self, dataset: str) -> None:
        """Refuse a flip on a data set whose classes a mirror image would change."""
        from edgekd.data.registry import flip_allowed

        if self.augment and self.flip and not flip_allowed(dataset):
            raise EdgekdError(f"--flip is not allowed on {dataset}: a mirrored image is not an image of the same "
                              "class there (digits and letters, chest X-rays, left/right organs); drop --flip")

    def selection_metric(self, num_classes: int) -> str:
        """The validation metric that picks the best epoch: ``auto`` is AUC for two classes
        (a threshold-free score; the operating point is chosen afterwards on validation),
        accuracy otherwise."""
        if self.select != "auto":
            return self.select
        return "auc" if num_classes == 2 else "accuracy"

    def recipe(self) -> dict:
        """The training options alone (what checkpoints and metrics.json call ``config``)."""
        return {o.name: getattr(self, o.name) for o in TrainConfig.options()} | {"cache_views": self.cache_views}
