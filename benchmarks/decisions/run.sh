#!/usr/bin/env bash
# The runs behind decisions.md: 2 teacher draws x 5 student seeds on PneumoniaMNIST and BreastMNIST,
# with the default commands (distill adds only --teacher-cache: K = 8 cached augmented views), 1 thread each.
#   bash benchmarks/decisions/run.sh [RUNS]   (default benchmarks/_work/decisions; EDGEKD=path/to/edgekd)
# then: python benchmarks/decisions/decisions.py --collect RUNS
set -u
E=${EDGEKD:-edgekd}
mkdir -p "${1:-benchmarks/_work/decisions}" && cd "${1:-benchmarks/_work/decisions}" || exit 2
mkdir -p pneumoniamnist breastmnist cache
for ds in pneumoniamnist breastmnist; do for t in 0 1; do
  d=$ds/teacher$t
  [ -f $d/test.json ] || $E train --model resnet20 --dataset $ds --seed $t --threads 1 --quiet --out $d --force > $d.log 2>&1
done; done
for t in 0 1; do for ds in breastmnist pneumoniamnist; do for s in 0 1 2 3 4; do
  d=$ds/teacher$t-student$s
  [ -f $d/test.json ] || $E distill --teacher $ds/teacher$t/model.pt --seed $s --threads 1 --quiet \
    --teacher-cache cache/$ds-teacher$t-s$s --out $d --force > $d.log 2>&1
done; done; done
