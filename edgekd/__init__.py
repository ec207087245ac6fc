"""edgekd: small, fast, explainable image classifiers for edge devices.

A trained teacher CNN teaches a small student CNN through knowledge distillation
guided by attention maps; the student is exported to ONNX / TFLite / TensorRT and
benchmarked on the device it will run on.
"""

import importlib

__version__ = "0.1.0"



def __getattr__(name: str):
    """The Python API (``edgekd.train``, ``edgekd.DistillSpec``...: :mod:`edgekd.api`), loaded on
    first use so that ``import edgekd`` stays light; imported by name so that the modules that
    read ``__version__`` do not depend on the API."""
    api = importlib.import_module("edgekd.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'edgekd' has no attribute {name!r}")
