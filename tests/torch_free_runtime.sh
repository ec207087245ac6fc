#!/usr/bin/env bash
# The device side without torch: a separate virtual environment with only
# `pip install -e ".[runtime]"` benchmarks and explains real exported files (accuracy on
# PneumoniaMNIST included), runs deploy/examples/classify.py, and checks that every command
# needing a host-only package fails with one error line naming the extra. Run by
# tests/test_torch_free_venv.py. Needs .venv (for the exports).
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
# explain draws its overlays with Pillow: no matplotlib, no torch
for model in student.onnx student.tflite; do
  "$rt/bin/edgekd" explain "$work/$model" pneumoniamnist --n 4 --out "$work/explain-$model" > /dev/null
  n=$(ls "$work/explain-$model"/*.png | wc -l)
  [ "$n" -eq 4 ] || { echo "FAIL: explain $model wrote $n overlays, expected 4"; exit 1; }
done
"$rt/bin/python" -c "import numpy as np; from PIL import Image; Image.fromarray(np.load('$EDGEKD_DATA/medmnist/pneumoniamnist.npz')['test_images'][0]).save('$work/xray.png')"
"$rt/bin/python" deploy/examples/classify.py "$work/student.tflite" "$work/xray.png" --out "$work/overlay.png"
[ -s "$work/overlay.png" ] || { echo "FAIL: classify.py wrote no overlay"; exit 1; }
echo "torch-free explain and classify: overlays written"
# every command that needs a host-only package says so in one line: error: ... pip install "edgekd[...]"
one_line_error() {  # $1: what must appear in the line; the rest: the edgekd command
  local want=$1; shift
  set +e; out=$("$rt/bin/edgekd" "$@" 2>&1); code=$?; set -e
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [ "$code" -ne 2 ] || [ "$lines" -ne 1 ] || [[ "$out" != "error: "*"$want"* ]]; then
    echo "FAIL: edgekd $* -> exit $code, $lines lines: $out"; exit 1
  fi
}
one_line_error 'edgekd[train]' train --model cnn-tiny --dataset pneumoniamnist --out "$work/t"
one_line_error 'edgekd[train]' distill --teacher "$work/run/model.pt" --dataset pneumoniamnist --out "$work/d"
one_line_error 'edgekd[train]' eval "$work/run/model.pt"
one_line_error 'edgekd[train]' export "$work/run/model.pt" --format onnx --out "$work/x.onnx"
one_line_error 'edgekd[train]' bench "$work/run/model.pt" --iters 5
one_line_error 'edgekd[train]' explain "$work/run/model.pt" pneumoniamnist --out "$work/e"
one_line_error 'deploy/jetson' export "$work/student.onnx" --format tensorrt --out "$work/x.engine"
[ ! -e "$work/t" ] && [ ! -e "$work/d" ] && [ ! -e "$work/x.onnx" ] && [ ! -e "$work/x.engine" ]
echo "torch-free missing packages: one error line each"
echo "torch-free install size: $(du -sm "$rt" | cut -f1) MB ($rt, pip install -e \".[runtime]\")"
echo "torch-free runtime check passed"
