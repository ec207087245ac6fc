"""The activation factor of edgekd/training/cost.py, measured: peak RSS of real training steps
against the bytes of every leaf module's output (forward hooks) times the batch.

Each (model, channels, size, batch) runs in its own process, one thread: build the model and
an in-memory batch, note the peak RSS, run 3 SGD steps (forward, cross-entropy, backward,
step), note the peak again. The growth, less the optimiser's state (weights, gradients,
momentum), divided by batch x leaf-output bytes is the factor; a frozen teacher's no-grad
forward is measured the same way. Writes benchmarks/own_data/activation_memory.json.

    .venv/bin/python benchmarks/own_data/activation_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES = [("cnn-small", 1, 28, 128), ("cnn-small", 3, 64, 128), ("cnn-small", 3, 128, 64),
         ("resnet20", 1, 28, 128), ("resnet20", 3, 64, 64), ("resnet8", 3, 128, 32),
         ("mobilenetv2", 3, 64, 128)]
TEACHER_CASES = [("resnet20", 3, 64, 128), ("resnet20", 1, 28, 128), ("resnet56", 3, 64, 64)]

CHILD = r"""
import json, resource, sys, torch
torch.set_num_threads(1)
from edgekd.models.registry import create_model
from edgekd.training.cost import leaf_output_bytes
name, c, s, b, teacher = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
model = create_model(name, c, 2)
act = leaf_output_bytes(model, (c, s, s), torch.device("cpu"))
x, y = torch.randn(b, c, s, s), torch.randint(0, 2, (b,))
params = sum(p.numel() for p in model.parameters())
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
for _ in range(3):
    if teacher:
        with torch.no_grad():
            model.eval()(x)
    else:
        loss = torch.nn.functional.cross_entropy(model.train()(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
peak1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
state = 0 if teacher else params * 4 * 3
print(json.dumps({"model": name, "channels": c, "size": s, "batch": b, "teacher": teacher,
                  "leaf_bytes_per_image": act, "growth_bytes": peak1 - peak0,
                  "factor": (peak1 - peak0 - state) / (b * act)}))
"""


def run(case, teacher: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, case), "1" if teacher else "0"], capture_output=True,
                         text=True, cwd=ROOT, check=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [run(c, False) for c in CASES] + [run(c, True) for c in TEACHER_CASES]
    for r in rows:
        print(f"{'teacher' if r['teacher'] else 'train':7} {r['model']:12} {r['channels']}x{r['size']:<4} batch "
              f"{r['batch']:<4} leaf {r['leaf_bytes_per_image'] / 2**20:7.2f} MB/img  growth "
              f"{r['growth_bytes'] / 2**20:8.1f} MB  factor {r['factor']:.2f}")
    train = [r["factor"] for r in rows if not r["teacher"]]
    teach = [r["factor"] for r in rows if r["teacher"]]
    summary = {"train_factor_max": max(train), "train_factor_median": sorted(train)[len(train) // 2],
               "teacher_factor_max": max(teach), "threads": 1, "steps": 3,
               "script": "benchmarks/own_data/activation_memory.py", "rows": rows}
    (HERE / "activation_memory.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))


if __name__ == "__main__":
    main()
