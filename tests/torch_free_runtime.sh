#!/usr/bin/env bash
# The device side without torch: a separate virtual environment with only
# `pip install -e ".[runtime]"` benchmarks (and explains) real exported files, accuracy
# on PneumoniaMNIST included. Run by `just test` after pytest. Needs .venv (for export).
set -euo pipefail
cd "$(dirname "$0")/.."
export EDGEKD_DATA="${EDGEKD_DATA:-$(cd .. && pwd)/shared/data}"
if [ ! -f "$EDGEKD_DATA/medmnist/pneumoniamnist.npz" ]; then
  echo "torch-free runtime check skipped: $EDGEKD_DATA/medmnist/pneumoniamnist.npz is absent"; exit 0
fi
rt=.venv-runtime
if [ ! -f "$rt/.installed" ] || [ pyproject.toml -nt "$rt/.installed" ]; then
  rm -rf "$rt" && python3 -m venv "$rt"
  "$rt/bin/python" -m pip install -q --upgrade pip
  "$rt/bin/python" -m pip install -q -e ".[runtime]"
  touch "$rt/.installed"
fi
if "$rt/bin/python" -c "import torch" 2>/dev/null; then echo "FAIL: torch is importable in $rt"; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# build the artifacts on the host side (torch)
.venv/bin/edgekd train --model cnn-tiny --dataset pneumoniamnist --epochs 2 --out "$work/run" --quiet
.venv/bin/edgekd export "$work/run/model.pt" --format onnx --attention-head fma --out "$work/student.onnx"
.venv/bin/edgekd export "$work/run/model.pt" --format tflite --attention-head fma --out "$work/student.tflite"
# the device side: no torch
"$rt/bin/edgekd" bench "$work/student.onnx" "$work/student.tflite" --dataset pneumoniamnist --iters 50 \
  --json "$work/bench.json" --md "$work/bench.md"
"$rt/bin/python" - "$work/bench.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for rec in report["records"]:
    assert 0.5 <= rec["accuracy"] <= 1.0 and rec["latency"]["p50_ms"] > 0, rec
    assert rec["eval_samples"] == 624, rec["eval_samples"]
print(f"torch-free bench: {len(report['records'])} models, accuracies "
      + ", ".join(f"{r['accuracy']:.3f}" for r in report["records"]))
PY
"$rt/bin/edgekd" explain "$work/student.onnx" pneumoniamnist --map head --out "$work/explain"
ls "$work/explain"/*.png > /dev/null
echo "torch-free runtime check passed"
