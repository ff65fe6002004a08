#!/usr/bin/env bash
# lipbench on a GPU box (no internet; numpy, scipy, cupy, hypothesis,
# pytest-benchmark, pandas, matplotlib, markdown-it-py installed there; without
# markdown-it-py the report step fails, the runs are still kept).  Total under ~7 minutes:
#
#   1. facts about the box (GPU, driver, CUDA, versions)            <= 20 s
#   2. GPU-required checks: pytest properties tests -m gpu           <= 90 s
#      (backends numpy, cupy, and torch where torch sees the GPU)
#   3. benchmarks, cupy backend, quick profile (short budget)       <= 260 s
#   4. benchmarks, cupy backend, auto/lanczos/eigsh at 8192^2, 16384^2 <= 40 s
#   5. the floor: A @ x timed as a stream with CUDA events, each method's
#      time per product against it, torch rows on CUDA: torch's rivals, the
#      spectral-norm parametrization's power iteration, and auto on the CUDA
#      tensor with its speed-up over the fastest verified rival (gpu_floor.py) <= 100 s
#   6. copy this run's JSONs to $OUT (before the report, so a cut-off run keeps them)
#   7. lipbench report over results/ (CPU baseline + this GPU)      <= 30 s
#
# Results: results/gpu-<gpu name>/<pytest-benchmark machine id>/NNNN_gpu-*.json
# (override the folder name with LIPBENCH_MACHINE) and
# results/logs/gpu_floor-<gpu name>.json/.log; if $OUT is set, all of them and
# the report are copied there.  Every step prints its wall time.
#
# Python packages the box may lack (array-api-compat, which lipbench imports,
# and array-api-strict for the tests) travel as wheels in .whl/ at the
# repository root (git-ignored); when that folder holds wheels they are
# installed into a temporary folder first.  To fetch them (where pip works):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux2014_x86_64 -d .whl array-api-compat array-api-strict
#
# Committing a run (results/README.md): new JSON under results/ is git-ignored,
# so a run is added on purpose.  The copies in $OUT are named
# <machine>__<machine id>__<file>; put them back in place and add them:
#   for f in FROM/*__*__*.json; do b=${f##*/}; m=${b%%__*}; r=${b#*__}; id=${r%%__*}
#     mkdir -p results/$m/$id && cp "$f" results/$m/$id/${r#*__}; done
#   cp FROM/gpu_floor-* results/logs/
#   git add -f results/gpu-*/*/NNNN_gpu-quick.json results/gpu-*/*/NNNN_gpu-full.json \
#              results/logs/gpu_floor-*
# then remove the runs they supersede and run `lipbench report --update-committed`.
#
# Usage (repository root or anywhere):
#   bash benchmarks/studies/run_gpu.sh
#   LIPBENCH_DRY_RUN=1 bash benchmarks/studies/run_gpu.sh   # CPU-only rehearsal: numpy backend,
#                                                            # tiny profile, results in a temp folder
# Environment: PYTHON (default python3), LIPBENCH_GPU_BUDGET (seconds of timed
# rounds per case, default 0.2), LIPBENCH_MACHINE, OUT, and LIPBENCH_COMMIT when
# the tree was copied without git (`git rev-parse HEAD` of the source checkout,
# with `-dirty` appended if it had changes): the runs record it as their commit.
# What its runs found: docs/studies/run_gpu.md.
set -uo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-python3}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
DRY=${LIPBENCH_DRY_RUN:-0}
BUDGET=${LIPBENCH_GPU_BUDGET:-0.2}
T0=$(date +%s.%N)
FAILED=()
if compgen -G "$ROOT/.whl/*.whl" >/dev/null; then
  SITE=$(mktemp -d /tmp/lipbench-site.XXXXXX)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$ROOT"/.whl/*.whl && export PYTHONPATH="$PYTHONPATH:$SITE" && echo "== installed carried wheels into $SITE"
fi
STAMP=$(mktemp)  # files newer than this were written by this run

if [[ "$DRY" == "1" ]]; then
  BACKENDS=numpy
  BENCH_BACKENDS=numpy
  SIZE=tiny
  RESULTS=$(mktemp -d /tmp/lipbench-dry-results.XXXXXX)
  KQUICK="numpy"
  KFULL="numpy and 256x256 and lanczos"
  FULLSIZE=tiny
  echo "== DRY RUN: numpy backend, tiny profile, results in $RESULTS"
else
  BACKENDS=numpy,cupy
  # torch's own CUDA route in the GPU-required checks too, where torch sees the GPU
  "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null && BACKENDS=$BACKENDS,torch
  BENCH_BACKENDS=cupy
  SIZE=quick
  RESULTS=$ROOT/results
  KQUICK="cupy"
  # A few full-profile cases: 8192^2 for every method, 16384^2 for the Krylov methods.
  KFULL="cupy and float64 and gaussian and 1e-06 and (8192x8192 or 16384x16384) and (auto or lanczos or cupy-eigsh or numpy.linalg.norm)"
  FULLSIZE=full
fi

elapsed() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }

step() {  # step NAME TIMEOUT_S CMD...
  local name=$1 limit=$2; shift 2
  local t=$(date +%s.%N)
  echo
  echo "== [$name] (limit ${limit}s): $*"
  timeout --signal=INT --kill-after=10 "$limit" "$@"
  local rc=$?
  echo "== [$name] rc=$rc in $(elapsed "$t") s (total $(elapsed "$T0") s)"
  if [[ $rc -ne 0 ]]; then FAILED+=("$name(rc=$rc)"); fi
  return 0
}

step facts 20 bash -c '
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi: not found"
  '"$PY"' - <<EOF
import numpy, scipy, lipbench
from lipbench import backends as b
print("numpy", numpy.__version__, "scipy", scipy.__version__, "lipbench", lipbench.__version__)
for name in ("numpy", "cupy", "torch"):
    print(name, b.availability(name))
try:
    import cupy as cp
    print("cupy", cp.__version__, "CUDA runtime", cp.cuda.runtime.runtimeGetVersion(),
          "driver", cp.cuda.runtime.driverGetVersion())
except Exception as exc:
    print("cupy not usable:", exc)
EOF'

if [[ "$DRY" == "1" ]]; then
  step gpu-checks 100 env LIPBENCH_BACKENDS=$BACKENDS "$PY" -m pytest properties tests -m gpu -q \
    -p no:cacheprovider --collect-only
else
  step gpu-checks 90 env LIPBENCH_BACKENDS=$BACKENDS "$PY" -m pytest properties tests -m gpu -q \
    -p no:cacheprovider
fi

step bench-quick 220 env LIPBENCH_BACKENDS=$BENCH_BACKENDS "$PY" -m pytest benchmarks -q -p no:cacheprovider \
  -k "$KQUICK" --lipbench-size=$SIZE --lipbench-budget=$BUDGET --lipbench-results="$RESULTS" \
  --lipbench-no-report --benchmark-save=gpu-quick --benchmark-columns=median,iqr,rounds --benchmark-sort=name

step bench-full 40 env LIPBENCH_BACKENDS=$BENCH_BACKENDS "$PY" -m pytest benchmarks/test_spectral_norm.py -q \
  -p no:cacheprovider -k "$KFULL" --lipbench-size=$FULLSIZE --lipbench-budget=$BUDGET \
  --lipbench-results="$RESULTS" --lipbench-no-report --benchmark-save=gpu-full \
  --benchmark-columns=median,iqr,rounds


CARD=$("$PY" -c "from lipbench import backends as b; a = b.availability('cupy'); print((a.device or 'cpu') if a else 'cpu')" 2>/dev/null \
  | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
mkdir -p "$RESULTS/logs"
FLOOR="$RESULTS/logs/gpu_floor-${CARD:-unknown}"
if [[ "$DRY" == "1" ]]; then
  step floor 100 env LIPBENCH_DRY_RUN=1 "$PY" benchmarks/studies/gpu_floor.py --sizes 256 --out "$FLOOR.json"
else
  step floor 100 bash -c "set -o pipefail; '$PY' benchmarks/studies/gpu_floor.py --out '$FLOOR.json' 2>&1 | tee '$FLOOR.log'"
fi

if [[ -n "${OUT:-}" ]]; then
  # Flat copies in $OUT (one folder, so that whatever collects it needs no tree):
  # <machine folder>__<pytest-benchmark machine id>__<NNNN_name>.json, plus the report.
  mkdir -p "$OUT"
  (cd "$RESULTS" && find . -newer "$STAMP" -name '*.json' -path './*/*/*' | while read -r f; do
     IFS=/ read -r _ machine mid file <<<"$f"; cp "$f" "$OUT/${machine}__${mid}__${file}"; done)
  cp "$FLOOR".* "$OUT/" 2>/dev/null
  echo "== copied this run's JSON files (and the floor study) to $OUT"
fi


step report 30 "$PY" -m lipbench.report "$RESULTS"
[[ -n "${OUT:-}" ]] && cp "$RESULTS/local/REPORT.md" "$OUT/" 2>/dev/null

echo
echo "== total $(elapsed "$T0") s; failed steps: ${FAILED[*]:-none}"
[[ ${#FAILED[@]} -eq 0 ]]
