"""A Typer command made from a command spec: one option per spec field (flags, help, defaults
and choices from the field), ``--config FILE`` for the recorded ones, and a body that builds
the spec and hands it to the command's runner. The CLI holds no option of its own.

Every command fails the same way (:func:`handle_errors`): one line ``error: ...``, exit code 2.

``--config FILE`` (:func:`config_option`) reads options from a flat TOML file
(:mod:`edgekd.spec.files`). The option is eager: click reads it before every other option,
and its values become the command's defaults (``ctx.default_map``), so an option given on
the command line wins over the file and the file wins over the built-in defaults. Unknown
keys (with the closest option's name) and values of the wrong kind are one-line errors
before anything runs.

Choices that come from a registry (methods, models...) are listed in ``--help`` only when the
help is shown (:class:`SpecCommand`), so building the command line never imports what the
registry needs (torch on the host side; nothing on a device).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from edgekd.errors import EdgekdError, MissingDependency, missing_dependency
from edgekd.spec import Option, Spec
from edgekd.spec.files import read_config

__all__ = ["SpecCommand", "config_option", "fail", "handle_errors", "register"]

_ANNOTATION = {"bool": bool, "int": int, "float": float, "str": str, "path": Path, "number_or_text": str}


def fail(message: str) -> None:
    """Print a one-line error and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def handle_errors(command):
    """Turn EdgekdError, a missing optional package and OS errors on user paths (folder, disk full)
    into one line and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgekdError as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except ImportError as exc:  # an optional package missing (torch on a device): name the extra
            known = missing_dependency(exc)
            if known is None:
                raise
            fail(str(known))
        except PermissionError as exc:
            fail(f"permission denied: {exc.filename}; choose a folder you can write to")
        except OSError as exc:  # a user path that is a folder, a full disk, a vanished file...
            where = exc.filename2 or exc.filename
            fail(f"{exc.strerror or exc}{f': {where}' if where else ''}")
        except KeyboardInterrupt:
            typer.echo("interrupted; the last complete epoch is kept (rerun with --resume)", err=True)
            sys.exit(130)

    return wrapper


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


class SpecCommand(TyperCommand):
    """A command whose help appends each option's choices, read from the spec when shown."""

    spec: type[Spec]

    def format_help(self, ctx, formatter) -> None:
        options = {o.name: o for o in self.spec.options()}
        for param in self.params:
            opt = options.get(param.name or "")
            if opt is None or opt.cli.choices is None or getattr(param, "edgekd_choices_shown", False):
                continue
            try:
                shown = ", ".join(opt.cli.choice_list() or [])
            except (ImportError, MissingDependency):  # a registry of host-side code, on a device
                shown = "(install edgekd's train extra to list them)"
            param.help = f"{param.help} Choices: {shown}."
            param.edgekd_choices_shown = True
        super().format_help(ctx, formatter)


def _parameter(opt: Option) -> inspect.Parameter:
    """The Typer parameter of one spec option (default-style ``typer.Option``)."""
    annotation: Any = _ANNOTATION[opt.kind]
    if opt.repeatable:
        annotation = list[annotation] | None
    elif opt.optional or opt.kind == "number_or_text":
        annotation = annotation | None
    if opt.required:
        default: Any = ...
    elif opt.repeatable:
        default = None  # an empty list: the spec's default
    elif opt.kind == "number_or_text" and opt.default is not None:
        default = str(opt.default)
    else:
        default = opt.default
    if opt.cli.argument:
        info = typer.Argument(default, help=opt.cli.help, metavar=opt.cli.metavar, show_default=False)
    else:
        flag = opt.flag
        if opt.kind == "bool" and opt.cli.negatable:
            flag = f"{flag}/--no-{flag[2:]}"
        info = typer.Option(default, flag, *opt.cli.flags, help=opt.cli.help, metavar=opt.cli.metavar)
    return inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def spec_from_cli(spec_cls: type[Spec], values: dict[str, Any]) -> Spec:
    """The spec for the option values click parsed (an unrepeated list option: its default)."""
    given = {}
    for opt in spec_cls.options():
        value = values.get(opt.name)
        if opt.repeatable and not value:
            continue  # the spec's own default (an empty list)
        given[opt.name] = list(value) if opt.repeatable else value
    return spec_cls(**given)


def register(app: typer.Typer, spec_cls: type[Spec], run: Callable[[Spec], None], name: str | None = None,
             help: str | None = None) -> None:
    """Add ``edgekd <spec_cls.command>`` to ``app``: parse the options into a spec, call ``run``
    (``help``: the command's help text when it is longer than the spec's docstring)."""

    def command(**values: Any) -> None:
        values.pop("config", None)
        run(spec_from_cli(spec_cls, values))

    params = [_parameter(o) for o in spec_cls.options()]
    if spec_cls.config_file:
        params.append(inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=config_option(spec_cls),
                                        annotation=Path | None))
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = help or spec_cls.__doc__
    command.__name__ = (name or spec_cls.command).replace("-", "_")
    cls = type(f"{spec_cls.__name__}Command", (SpecCommand,), {"spec": spec_cls})
    app.command(name or spec_cls.command, cls=cls)(handle_errors(command))
