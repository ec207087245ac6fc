"""The fields of a command spec: a dataclass field per option, carrying what the command line,
the ``--config`` file and the saved run record need to know about it.

``option(default, help, "-m", choices=...)`` is a :func:`dataclasses.field` whose metadata is
a :class:`Cli`; :func:`spec_options` reads a spec class's fields back as :class:`Option` rows
(name, kind, default, Cli), the one description the CLI builder, the file reader and the
record writer share. Torch-free.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "REQUIRED", "Cli", "Option", "option", "option_of", "spec_options"]

#: an option without a default: the user must give it (``--teacher``, a model file)
REQUIRED = dataclasses.MISSING

#: the value kinds an option may have; ``number_or_text`` is a whole number or a word such as
#: ``auto`` (``--threads``, ``--epochs``)
KINDS = ("bool", "int", "float", "str", "path", "number_or_text")


@dataclass(frozen=True)
class Cli:
    """How an option appears on the command line and in files.

    ``flags``: short flags (``-m``); ``choices``: the allowed values, or a function that lists
    them (a registry, read only when help is shown or a value is checked); ``negatable``: a
    boolean has ``--x/--no-x`` (else a bare ``--x`` switch); ``argument``: positional;
    ``record``: saved in the run record and accepted in ``--config`` files (False for what
    says how a run was invoked: ``--out``, ``--force``, ``--quiet``); ``metavar``: the
    placeholder in help; ``flag``: the long flag when it is not the field name with ``-``
    for ``_``.
    """

    help: str
    flags: tuple[str, ...] = ()
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    negatable: bool = True
    argument: bool = False
    record: bool = True
    metavar: str | None = None
    flag: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def choice_list(self) -> list[str] | None:
        """The allowed values (calling the registry function when there is one)."""
        if self.choices is None:
            return None
        return list(self.choices() if callable(self.choices) else self.choices)


def option(default: Any, help: str, *flags: str, choices=None, negatable: bool = True, argument: bool = False,
           record: bool = True, metavar: str | None = None, flag: str | None = None, at_least: float | None = None,
           at_most: float | None = None) -> Any:
    """A spec field: ``default`` (a list default is copied per instance; :data:`REQUIRED` for
    none) and how the option shows on the command line (see :class:`Cli`)."""
    cli = Cli(help, tuple(flags), tuple(choices) if isinstance(choices, (list, tuple)) else choices, negatable,
              argument, record, metavar, flag, at_least, at_most)
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"cli": cli})
    return dataclasses.field(default=default, metadata={"cli": cli})


@dataclass(frozen=True)
class Option:
    """One option of a spec: its field name, value kind, whether it takes a list / may be None,
    its default (:data:`REQUIRED` when it has none) and its :class:`Cli`."""

    name: str
    kind: str
    repeatable: bool
    optional: bool
    default: Any
    cli: Cli

    @property
    def flag(self) -> str:
        """The long flag: ``--batch-size`` for ``batch_size``."""
        return self.cli.flag or "--" + self.name.replace("_", "-")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _kind(hint: Any) -> tuple[str, bool, bool]:
    """(kind, repeatable, optional) of a field's type hint."""
    optional = False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        optional = type(None) in args
        rest = tuple(a for a in args if a is not type(None))
        if set(rest) == {int, str}:
            return "number_or_text", False, optional
        hint = rest[0] if len(rest) == 1 else hint
    repeatable = typing.get_origin(hint) is list
    if repeatable:
        hint = (typing.get_args(hint) or (str,))[0]
    names = {bool: "bool", int: "int", float: "float", str: "str", Path: "path"}
    if hint not in names:
        raise TypeError(f"spec field type {hint!r} is not one of {KINDS}")
    return names[hint], repeatable, optional


def spec_options(cls: type) -> list[Option]:
    """The options of spec class ``cls``, in field order (fields without a :class:`Cli` are
    not options: they are filled in by the run, e.g. a resolved value)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        cli = f.metadata.get("cli")
        if cli is None:
            continue
        if callable(getattr(cls, f.name, None)):  # e.g. a field named 'check' would hide Spec.check()
            raise TypeError(f"{cls.__name__}.{f.name}: an option may not share its name with a method; "
                            "give the field another name and the flag with option(..., flag=...)")
        kind, repeatable, optional = _kind(hints[f.name])
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = REQUIRED
        out.append(Option(f.name, kind, repeatable, optional, default, cli))
    return out


def option_of(cls: type, name: str, default: Any = dataclasses.MISSING) -> Any:
    """The field ``name`` of spec class ``cls`` again, for another command that takes the same
    option (its help, flags and choices; ``default`` replaces the default when given)."""
    f = cls.__dataclass_fields__[name]
    if default is dataclasses.MISSING:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=f.metadata)
    return dataclasses.field(default=default, metadata=f.metadata)
