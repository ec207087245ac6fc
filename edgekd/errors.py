"""The one exception type that the CLI turns into a one-line message and exit code 2."""


class EdgekdError(Exception):
    """A user-facing error: bad input, a missing file, an unsupported option.

    The message must be one line that names the problem and what to do about it.
    The CLI prints it as ``error: <message>`` and exits with code 2, no traceback.
    """


class MissingDependency(EdgekdError):
    """An optional dependency is not installed; the message names the extra to install, or
    the distribution itself where no edgekd extra installs it (``extra=""``)."""

    def __init__(self, module: str, extra: str):
        what = f'"edgekd[{extra}]"' if extra else module
        super().__init__(f"{module} is not installed: pip install {what}")
        self.module = module
        self.extra = extra


#: the pip extra that installs each optional top-level module (distribution name, extra)
OPTIONAL_MODULES = {
    "torch": ("torch", "train"), "torchvision": ("torchvision", "train"), "sklearn": ("scikit-learn", "train"),
    "matplotlib": ("matplotlib", "plots"), "onnx": ("onnx", "onnx"), "onnxscript": ("onnxscript", "onnx"),
    "onnxruntime": ("onnxruntime", "runtime"), "ai_edge_litert": ("ai-edge-litert", "runtime"),
    "PIL": ("Pillow", "runtime"), "litert_torch": ("litert-torch", "tflite"),
    "ai_edge_quantizer": ("ai-edge-quantizer", "tflite"), "cuda": ("cuda-python", "jetson"),
}


def missing_dependency(exc: ImportError) -> EdgekdError | None:
    """The one-line error for an optional module that is not installed, None for anything else.

    The safety net behind every command: code paths raise :class:`MissingDependency`
    themselves, and an import that slips through still never shows a traceback.
    """
    root = (getattr(exc, "name", None) or "").split(".")[0]
    if root == "tensorrt":
        return EdgekdError("tensorrt is not installed here: TensorRT comes with JetPack on the device "
                           "(see deploy/jetson/install.sh)")
    if root not in OPTIONAL_MODULES:
        return None
    return MissingDependency(*OPTIONAL_MODULES[root])
