#!/usr/bin/env bash
# Default commands except --teacher-cache (K = 8 augmented views per image, the cache distill builds
# by default when given a folder): 2 teacher draws x 5 student seeds, PneumoniaMNIST and BreastMNIST.
set -u
cd /work/runs/decisions
E=/work/frozen/.venv/bin/edgekd
export EDGEKD_DATA=/work/shared/data
while pgrep -f "edgekd train --model resnet20 --dataset pneumoniamnist --seed 1" >/dev/null; do sleep 20; done
for ds in pneumoniamnist breastmnist; do for t in 0 1; do
  d=$ds/teacher$t
  [ -f $d/test.json ] || $E train --model resnet20 --dataset $ds --seed $t --threads 1 --quiet --out $d --force > $d.log 2>&1
done; done
for t in 0 1; do for ds in breastmnist pneumoniamnist; do for s in 0 1 2 3 4; do
  d=$ds/teacher$t-student$s
  [ -f $d/test.json ] || $E distill --teacher $ds/teacher$t/model.pt --seed $s --threads 1 --quiet --teacher-cache cache/$ds-teacher$t-s$s --out $d --force > $d.log 2>&1
done; done; done
echo ALLDONE
