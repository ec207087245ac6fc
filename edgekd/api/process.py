"""What a process running edgekd sets before it imports torch."""

from edgekd.training.threads import calm_openmp_waits

__all__ = ["calm_openmp_waits"]
