"""How many CPU threads training uses: the ``--threads`` option of ``train`` and ``distill``.

``auto`` resolves through :func:`default_threads` and nowhere else, so the policy (how many
threads a run takes on a quiet or a busy machine, benchmarks/contention/contention.md) can change in one place.
:func:`parse_threads` turns the option's text into a count (a one-line error for anything
but ``auto`` or a positive integer) and :func:`apply_threads` hands it to torch. Torch is
imported only when the count is applied, so the CLI can parse the option without it.
"""

from __future__ import annotations

import os

from edgekd.errors import EdgekdError

__all__ = ["SPINCOUNT", "apply_threads", "calm_openmp_waits", "default_threads", "parse_threads"]

#: how long (busy-wait iterations) an idle OpenMP worker spins before it sleeps; libgomp's
#: own default is 300000, see :func:`calm_openmp_waits`
SPINCOUNT = "1000"


def _positive_int(text: str) -> int | None:
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if value >= 1 else None


def default_threads() -> int:
    """The thread count ``--threads auto`` means: an explicit ``OMP_NUM_THREADS`` in the
    environment when it is a positive integer (the user, or a scheduler, already chose),
    else the number of physical cores (``psutil.cpu_count(logical=False)``), else
    ``os.cpu_count()``, else 1.

    Physical rather than logical cores: hyper-threads share one core's arithmetic units, and
    torch's intra-op OpenMP workers that outnumber the cores spin and wait on one another.
    This is the one place the policy lives: a change from measurement (e.g. one thread
    fewer when the machine is busy) goes here and nowhere else.
    """
    explicit = _positive_int(os.environ.get("OMP_NUM_THREADS", ""))
    if explicit is not None:
        return explicit
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # psutil missing or unable to read the topology (some containers)
        physical = None
    return physical or os.cpu_count() or 1


def parse_threads(value: str | int | None) -> int:
    """``auto`` (or None) -> :func:`default_threads`; a positive integer -> itself; anything
    else is a one-line error."""
    if value is None or str(value).strip().lower() == "auto":
        return default_threads()
    if isinstance(value, bool) or (count := _positive_int(value)) is None:
        raise EdgekdError(f"--threads must be a positive whole number or auto (got {str(value)!r}), e.g. --threads 2")
    return count


def apply_threads(count: int) -> None:
    """Set torch's intra-op threads to ``count``, and its inter-op threads where torch still
    allows it (only before any inter-op work has started in this process; later the
    current setting stays and only the intra-op count changes)."""
    import torch

    torch.set_num_threads(count)
    if torch.get_num_interop_threads() != count:
        try:
            torch.set_num_interop_threads(count)
        except RuntimeError:  # already started (a second run in the same process): keep it
            pass


def calm_openmp_waits(environ: dict | None = None) -> None:
    """Shorten OpenMP's busy wait (``GOMP_SPINCOUNT`` = :data:`SPINCOUNT`) unless the user set
    ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``. Must run before torch is imported: libgomp
    (torch's OpenMP on Linux, x86_64 and aarch64) reads it once, when it loads.

    Why (``benchmarks/contention/contention.md``): with libgomp's default spin, two training threads
    beside two busy processes on two cores wait for each other in spin loops that the busy
    processes preempt, and an epoch took 15x its quiet time; with a short spin it takes about
    2x (a fair share of the cores) while the quiet epoch stays within a few percent.
    ``OMP_WAIT_POLICY=PASSIVE`` (no spin) helps as much under load but costs more when quiet.
    """
    env = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" not in env and "GOMP_SPINCOUNT" not in env:
        env["GOMP_SPINCOUNT"] = SPINCOUNT
