"""``--config FILE``: options read from a flat TOML file (:mod:`edgekd.spec.files`).

The option is eager: click reads it before every other option, and its values become the
command's defaults (``ctx.default_map``), so an option given on the command line wins over
the file and the file wins over the built-in defaults. Unknown keys (with the closest
option's name) and values of the wrong kind are one-line errors before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgekd.cli.common import fail
from edgekd.errors import EdgekdError
from edgekd.spec import Spec
from edgekd.spec.files import read_config

__all__ = ["config_option"]


def config_option(spec_cls: type[Spec]):
    """The ``--config`` option of ``spec_cls``'s command."""

    def load(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
        if value is None or ctx.resilient_parsing:
            return value
        try:
            values = read_config(spec_cls, value)
        except EdgekdError as exc:  # raised inside click's parsing: the command's handler is not around yet
            fail(str(exc))
        for opt in spec_cls.options():  # click parses defaults as text for these
            if opt.kind == "number_or_text" and opt.name in values:
                values[opt.name] = str(values[opt.name])
        ctx.default_map = {**(ctx.default_map or {}), **values}
        return value

    return typer.Option(None, "--config", is_eager=True, callback=load, dir_okay=False,
                        help="Read options from a TOML file (keys: option names with _ for -, e.g. batch_size = 64); "
                             "options on the command line override it. Every run saves its resolved options as "
                             "<out>/config.toml: --config <run>/config.toml --out NEW replays it.")
