"""edgekd: small, fast, explainable image classifiers for edge devices.

A trained teacher CNN teaches a small student CNN through knowledge distillation
guided by attention maps; the student is exported to ONNX / TFLite / TensorRT and
benchmarked on the device it will run on.
"""

__version__ = "0.1.0"
