"""The base class of every command spec: values checked against the spec's fields, the run
record written from a spec, and a spec read back from a record or a ``--config`` file.

A spec is a dataclass of :func:`~edgekd.spec.fields.option` fields (see
:mod:`edgekd.spec.fields`). Three things are derived from it here, so that they cannot drift:

- :meth:`Spec.record`: the plain values a run saves (``config.toml``, ``metrics.json``):
  every recorded option, defaults included, paths made absolute, None left out;
- :meth:`Spec.from_record`: a spec from such values; an unknown key (with the closest
  option's name) or a value of the wrong kind is a one-line error;
- :meth:`Spec.file_values`: the checked values of a ``--config`` file, which the command
  line then overrides.

``check()`` is each spec's own validation (ranges, combinations, registry names); it is
called by the API before anything runs. Torch-free.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar, Self

from edgekd.errors import EdgekdError
from edgekd.spec.fields import Option, spec_options
from edgekd.suggest import close_match, unknown
from edgekd.tomlflat import value_text

__all__ = ["Spec"]

#: what a value of each kind may be in a file or a record, and how to say it
_WANTED = {"bool": ((bool,), "true or false"), "int": ((int,), "a whole number"),
           "float": ((int, float), "a number"), "str": ((str,), "a string"), "path": ((str, Path), "a string"),
           "number_or_text": ((int, str), "a whole number or a string")}


def _shown(value: object) -> str:
    try:
        return value_text(value)
    except TypeError:
        return repr(value)


def _checked(opt: Option, key: str, value: object, source: str) -> object:
    """``value`` as option ``opt`` holds it (paths as Path, numbers as float), or a one-line error."""
    types_, wanted = _WANTED[opt.kind]

    def fits(v: object) -> bool:
        return isinstance(v, types_) and not (isinstance(v, bool) and bool not in types_)

    def cast(v: object) -> object:
        if opt.kind == "path":
            return Path(v)
        return float(v) if opt.kind == "float" else v

    if opt.repeatable:
        items = value if isinstance(value, list) else [value]
        if not all(fits(v) for v in items):
            raise EdgekdError(f"{source}: {key} must be {wanted} or a list of them (got {_shown(value)})")
        return [cast(v) for v in items]
    if not fits(value):
        raise EdgekdError(f"{source}: {key} must be {wanted} (got {_shown(value)})")
    return cast(value)


def _plain(value: object) -> object:
    """A record value: paths absolute (a replay from another folder still finds them)."""
    if isinstance(value, Path):
        return os.path.abspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Spec:
    """Mixin of every command spec dataclass (``@dataclass(kw_only=True) class XSpec(Spec)``)."""

    #: the command this spec describes (``edgekd <command>``), named in messages and records
    command: ClassVar[str] = ""

    #: whether the command takes ``--config FILE`` (a run described by a file, replayed from config.toml)
    config_file: ClassVar[bool] = False
    #: the options a command's help lists first (its main inputs); the rest follow in field order
    lead: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        """Values as the options hold them, whoever made the spec: a path as a Path, a number
        given as text (``--threads 2``) as a number."""
        for opt in spec_options(type(self)):
            value = getattr(self, opt.name)
            if opt.kind == "path" and value is not None:
                setattr(self, opt.name, [Path(v) for v in value] if opt.repeatable else Path(value))
            elif opt.kind == "number_or_text" and isinstance(value, str) and value.strip().isdigit():
                setattr(self, opt.name, int(value))

    @classmethod
    def options(cls) -> list[Option]:
        """The command's options, in the order its help lists them."""
        options = spec_options(cls)
        first = [o for name in cls.lead for o in options if o.name == name]
        return first + [o for o in options if o.name not in cls.lead]

    def check(self) -> None:
        """Refuse values that cannot run (one-line EdgekdError): here, any value outside its
        option's choices (with a close match) or range; each spec adds its own checks after these."""
        for opt in self.options():
            value = getattr(self, opt.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if opt.cli.at_least is not None and value < opt.cli.at_least:
                    raise EdgekdError(f"{opt.flag} {value:g}: give at least {opt.cli.at_least:g}")
                if opt.cli.at_most is not None and value > opt.cli.at_most:
                    raise EdgekdError(f"{opt.flag} {value:g}: give at most {opt.cli.at_most:g}")
            if opt.cli.choices is None:
                continue
            allowed = opt.cli.choice_list() or []
            value = getattr(self, opt.name)
            for v in (value or []) if opt.repeatable else [value]:
                if v is not None and v not in allowed:
                    raise unknown(f"{opt.flag} value", v, allowed)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (resolved values, a different seed...)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def record(self) -> dict[str, Any]:
        """The recorded options' values (defaults included, None left out): what ``config.toml``
        and ``metrics.json`` save and :meth:`from_record` reads back."""
        return {o.name: _plain(getattr(self, o.name)) for o in self.options()
                if o.cli.record and getattr(self, o.name) is not None}

    @classmethod
    def file_values(cls, values: dict[str, Any], source: str) -> dict[str, Any]:
        """``values`` read from a file (``_`` or ``-`` in names), checked against this command's
        options: option name -> value. Invocation options (``out``, ``force``...) are accepted
        too; an unknown name, a table or a wrong kind is a one-line error naming ``source``."""
        options = {o.name: o for o in cls.options()}
        checked: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if isinstance(value, dict):
                raise EdgekdError(f"{source}: [{key}] is a table; a run file is flat, one 'name = value' line "
                                  "per option")
            if name not in options:
                close = close_match(name, options)
                hint = f" (did you mean {close}?)" if close else ""
                raise EdgekdError(f"{source}: unknown option {key!r}{hint}; the keys are edgekd {cls.command}'s "
                                  "options with _ for -, e.g. batch_size")
            if name in checked:
                raise EdgekdError(f"{source}: {name} is given twice (as {key!r} too); keep one")
            checked[name] = _checked(options[name], key, value, source)
        return checked

    @classmethod
    def from_record(cls, values: dict[str, Any], source: str = "the run record", **invocation: Any) -> Self:
        """The spec a record describes (missing options take their defaults; ``invocation``
        gives the options a record does not hold, such as ``out``)."""
        recorded = {o.name for o in cls.options() if o.cli.record}
        extra = sorted(k for k in values if k.replace("-", "_") not in recorded)
        if extra:
            close = close_match(extra[0], recorded)
            hint = f" (did you mean {close}?)" if close else ""
            raise EdgekdError(f"{source}: unknown option {extra[0]!r}{hint} for edgekd {cls.command}")
        return cls(**cls.file_values(values, source), **invocation)  # type: ignore[call-arg]
