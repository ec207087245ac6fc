#!/usr/bin/env bash
# Benchmark exported students on a Raspberry Pi with the recommended settings.
#   bash deploy/raspberry-pi/bench.sh student.tflite student.onnx [student_int8.onnx ...]
# Settings: 4 threads (one per Cortex-A core), 20 warm-up runs, 5 s of timed runs per model,
# batch 1 (what a screening device does), accuracy on the test split when the data is present
# (copy pneumoniamnist.npz to ~/edgekd-data/medmnist/ first).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 MODEL [MODEL ...]" >&2; exit 2; }
export EDGEKD_DATA="${EDGEKD_DATA:-$HOME/edgekd-data}"
edgekd=~/edgekd-venv/bin/edgekd
# a fixed CPU clock makes runs comparable (needs root; harmless where not allowed)
echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor >/dev/null 2>&1 || true
data_args=()
if [ -f "$EDGEKD_DATA/medmnist/pneumoniamnist.npz" ]; then data_args=(--dataset pneumoniamnist); fi
for threads in 1 4; do
  "$edgekd" bench "$@" --threads "$threads" --batch 1 --warmup 20 --min-time 5 "${data_args[@]}" \
    --json "bench_pi_t${threads}.json" --md "bench_pi_t${threads}.md" --plot "bench_pi_t${threads}.png"
done
