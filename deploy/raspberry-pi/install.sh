#!/usr/bin/env bash
# Raspberry Pi 4 / 5, Raspberry Pi OS 64-bit (Bookworm, Python 3.11): edgekd's runtime part, no torch.
# LiteRT (ai-edge-litert, XNNPACK on by default) and onnxruntime both ship aarch64 wheels.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv ~/edgekd-venv
~/edgekd-venv/bin/pip install --upgrade pip
~/edgekd-venv/bin/pip install -e ".[runtime]"
# Old images without an ai-edge-litert wheel: pip install tflite-runtime (numpy<2); edgekd bench
# then uses it and says so in its report.
~/edgekd-venv/bin/edgekd --version
python3 -c "print(open('/proc/device-tree/model').read())" 2>/dev/null || true
