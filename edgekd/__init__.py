"""edgekd: small, fast, explainable image classifiers for edge devices.

A trained teacher CNN teaches a small student CNN through knowledge distillation
guided by attention maps; the student is exported to ONNX / TFLite / TensorRT and
benchmarked on the device it will run on.
"""

__version__ = "0.1.0"

#: the Python API (edgekd.api), loaded on first use so that ``import edgekd`` stays light
_API = ("train", "distill", "evaluate", "TrainSpec", "DistillSpec", "EvalSpec", "RunResult", "EvalResult")


def __getattr__(name: str):
    if name in _API:
        from edgekd import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgekd' has no attribute {name!r}")
