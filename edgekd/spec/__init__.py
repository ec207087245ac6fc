"""One typed spec per command: the dataclass from which the command's CLI options (names,
help, defaults, choices), its ``--config`` file schema, its checks and its saved run record
(``config.toml``, ``metrics.json``) are all derived.

Plain dataclasses rather than pydantic: the device side (``bench``, ``classify``, ``adapt``
on a Pi) reads its spec with nothing installed beyond numpy; the standard library's
dataclasses carry each option's help, flags and choices as field metadata, and a command's
few checks are one ``check()`` method that raises edgekd's one-line errors. Each spec lives
beside the code that runs it (``edgekd.training.spec``, ``edgekd.distillation.spec``...);
this package holds only the machinery. Torch-free.
"""

from edgekd.spec.base import Spec
from edgekd.spec.fields import REQUIRED, Cli, Option, option, option_of, spec_options

__all__ = ["REQUIRED", "Cli", "Option", "Spec", "option", "option_of", "spec_options"]
