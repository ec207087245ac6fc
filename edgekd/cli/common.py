"""What every command shares: the one-line error handler and common option types."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgekd.errors import EdgekdError, missing_dependency

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data root (default: $EDGEKD_DATA or ~/.cache/edgekd/data).")]
Dataset = Annotated[str, typer.Option("--dataset", "-d", help="Data set name (edgekd datasets) or folder:PATH.")]
Download = Annotated[bool, typer.Option("--download", help="Fetch the official files when missing (needs a network).")]


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
