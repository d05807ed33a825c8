#!/usr/bin/env bash
# One seed of the HAM10000 evidence and pool study (issues #12 and #13), in priority order: every command adds arms
# to the same run directory <run-root>/ham50_seed<seed> (the finished real arm, judge and generators are reused), so
# an interrupted seed keeps every finished arm and a rerun continues where it stopped.
#   usage: experiments/benchmarks/wave_ham10000.sh SEED [RUN_ROOT]
# Three seeds in parallel on two cores: run each with OMP_NUM_THREADS=1 MKL_NUM_THREADS=1.
set -euo pipefail
seed=${1:?usage: wave_ham10000.sh SEED [RUN_ROOT]}
root=${2:-runs/bench-wave}
study=(python experiments/benchmarks/study_ham10000.py --data-dir ../shared/data/ham10000 --seeds "$seed"
       --shots 50 --image-size 64 --epochs 30 --val-fraction 0.1 --run-root "$root" --baselines real
       --gen-epochs 50 --unlabeled-pool 1 --oversample-factor 2 --ssl-epochs 5 --pretrain-epochs 2 --only-arms none)
step() { echo "== seed $seed: $* ($(date -u +%H:%M:%S))"; "${study[@]}" "$@"; }
# 1. the GAN: synthetic weight 0.25 / 0.5 / 1 and the post-selection ablation (#12)
step --generators gan --synthetic-weight 0.25,0.5,1 --filters confidence:0.5,ood:0.95,dedupe:0.95
# 2. the pool (#13): the SimCLR backbone (ssl), the pool-pretrained GAN, and the two combined. (The baselines run
#    before the generator in one study; a step without a generator cannot take --oversample-factor.)
step --baselines real,ssl --generators gan-pool
# 3. the positive control (#12), the CVAE's arm, the energy filter and the two-stage schedule
step --generators oracle
step --generators cvae
step --generators gan --filters energy:0.95
step --generators gan --two-stage 0.3
echo "== seed $seed: done ($(date -u +%H:%M:%S))"
