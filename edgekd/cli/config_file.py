"""Runs described by a file: ``--config FILE`` for ``train`` and ``distill``, and the
``config.toml`` every run folder saves.

The file is flat TOML, one key per option of the command, named as the option with ``_``
for ``-`` (``batch_size = 64`` for ``--batch-size 64``; ``batch-size`` is read too). The
``--config`` option is eager: click reads it before every other option and its values
become the command's defaults (``ctx.default_map``), so an option given on the command line
wins over the file, and the file wins over the built-in defaults. Unknown keys (with the
closest option's name) and values of the wrong type are one-line errors before anything runs.

After a run, :func:`save_run_config` writes ``<out>/config.toml``: every option's final
value, defaults included (and ``--threads auto``, the distill data set and its alpha / beta
resolved), so ``edgekd <command> --config <out>/config.toml --out NEW`` replays the run.
"""

from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Annotated

import typer

from edgekd import __version__
from edgekd.cli.common import fail
from edgekd.errors import EdgekdError
from edgekd.fileio import atomic_write_text
from edgekd.suggest import close_match
from edgekd.tomlflat import dumps, read, value_text

__all__ = ["ConfigOption", "check_values", "save_run_config"]

#: options that say how a run was invoked, not what it ran: not written to config.toml
#: (a replay picks its own --out), still accepted in a file a user writes
INVOCATION = ("config", "out", "resume", "force", "quiet", "ctx")
#: text options that also take a whole number in a file (``threads = 2`` as well as "auto")
NUMBER_OR_TEXT = ("threads", "epochs")


def _option_types(command) -> dict[str, object]:
    """Option name -> the annotation of the command function's parameter (Optional and
    Annotated stripped), read from the function itself rather than from typer's internals."""
    hints = typing.get_type_hints(command.callback)
    names = {p.name for p in command.params if p.name and p.name not in ("config", "ctx")}
    out = {}
    for name in names:
        hint = hints.get(name, str)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next((a for a in typing.get_args(hint) if a is not type(None)), str)
        out[name] = hint
    return out


def _kind(name: str, hint: object) -> tuple[tuple[type, ...], str, bool]:
    """The Python types a file value for an option may have, how to say it, and whether the
    option is repeatable (a list)."""
    repeatable = typing.get_origin(hint) is list
    if repeatable:
        hint = (typing.get_args(hint) or (str,))[0]
    if name in NUMBER_OR_TEXT and hint is str:  # "auto" or a number (train's --epochs stays a number)
        return (int, str), "a whole number or a string", repeatable
    if hint is bool:
        return (bool,), "true or false", repeatable
    if hint is int:
        return (int,), "a whole number", repeatable
    if hint is float:
        return (int, float), "a number", repeatable
    return (str,), "a string", repeatable


def _check(key: str, value: object, name: str, hint: object, source: str) -> object:
    types_, wanted, repeatable = _kind(name, hint)

    def fits(v: object) -> bool:
        return isinstance(v, types_) and not (isinstance(v, bool) and bool not in types_)

    if repeatable:
        items = value if isinstance(value, list) else [value]
        if not all(fits(v) for v in items):
            raise EdgekdError(f"{source}: {key} must be {wanted} or a list of them (got {_shown(value)})")
        return [float(v) if float in types_ else v for v in items]
    if not fits(value):
        raise EdgekdError(f"{source}: {key} must be {wanted} (got {_shown(value)})")
    return float(value) if float in types_ else value


def _shown(value: object) -> str:
    try:
        return value_text(value)
    except TypeError:
        return repr(value)


def check_values(values: dict, command, source: str) -> dict:
    """The file's ``values`` checked against ``command``'s options: a dict of option name ->
    value for ``ctx.default_map``; a one-line error for an unknown key or a wrong type."""
    params = _option_types(command)
    checked = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if isinstance(value, dict):
            raise EdgekdError(f"{source}: [{key}] is a table; a run file is flat, one 'name = value' line per option")
        if name not in params:
            close = close_match(name, params)
            hint = f" (did you mean {close}?)" if close else ""
            raise EdgekdError(f"{source}: unknown option {key!r}{hint}; the keys are edgekd {command.name}'s "
                              f"options with _ for -, e.g. batch_size")
        if name in checked:
            raise EdgekdError(f"{source}: {name} is given twice (as {key!r} too); keep one")
        checked[name] = _check(key, value, name, params[name], source)
    return checked


def _load(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Eager callback of ``--config``: read and check the file, make it the defaults."""
    if value is None or ctx.resilient_parsing:
        return value
    try:
        values = check_values(read(value), ctx.command, str(value))
    except EdgekdError as exc:  # raised inside click's parsing: the command's handler is not around yet
        fail(str(exc))
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", is_eager=True, callback=_load, dir_okay=False,
    help="Read options from a TOML file (keys: option names with _ for -, e.g. batch_size = 64); options on the "
         "command line override it. Every run saves its resolved options as <out>/config.toml: "
         "--config <run>/config.toml --out NEW replays it.")]


def _plain(value: object) -> object:
    if isinstance(value, Path):
        return os.path.abspath(value)  # a replay from another folder still finds the file
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)  # an Enum's value


def save_run_config(ctx: typer.Context, out: Path, resolved: dict | None = None) -> Path:
    """Write ``<out>/config.toml`` atomically: the command's option values (``ctx.params``),
    with ``resolved`` (the values the run settled on for defaults such as ``--threads auto``)
    replacing theirs. Returns its path."""
    order = [p.name for p in ctx.command.params if p.name in ctx.params]  # the command's own order
    values = {name: ctx.params[name] for name in order}
    values.update(resolved or {})
    written = {k: _plain(v) for k, v in values.items() if k not in INVOCATION and v is not None}
    unset = [k for k, v in values.items() if k not in INVOCATION and v is None]
    invoked = ", ".join(f"{k} = {_shown(_plain(values[k]))}" for k in INVOCATION[1:] if values.get(k) is not None)
    comments = [f"edgekd {__version__} {ctx.command.name}: this run's options, defaults included.",
                f"Replay: edgekd {ctx.command.name} --config config.toml --out NEW_FOLDER "
                "(options on the command line override this file).",
                f"Not saved (how it was invoked): {invoked}"]
    if unset:
        comments.append(f"Unset (the command's default applies): {', '.join(unset)}")
    path = Path(out) / "config.toml"
    atomic_write_text(path, dumps(written, comments))
    return path
