#!/usr/bin/env bash
# GPU benchmarks (issue 10): under 5 minutes on one modern GPU. Run from the repository root:
#     bash benchmarks/gpu.sh            # writes benchmarks/RESULTS-gpu.md
# 1. fit and RBM throughput on cuda (ae.fit vs bare vs DataLoader, fraction of the matmul ceiling,
#    ae.RBM vs scikit-learn on the CPU), 2. the paper-scale Hinton & Salakhutdinov pipeline on
#    60,000 images with 50 pretraining epochs per layer, via scripts/paper_scale.py when present.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=benchmarks/RESULTS-gpu.md
LOG=benchmarks/gpu-paper-scale.log
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "no CUDA GPU visible to torch ($("$PY" -c 'import torch; print(torch.__version__)')); nothing measured." >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# 1. throughput sections on the GPU (about 1-2 minutes); the notebook and denormal sections are CPU matters
timeout 240 "$PY" benchmarks/run.py --only matmul,fit,flops,rbm,pca --device cuda --out "$OUT"
status=$?

# 2. the paper-scale pipeline (its own script, written with the deep-autoencoder chapter)
{
    echo
    echo "## Paper-scale pipeline (Hinton & Salakhutdinov 2006, 60,000 images, 50 pretraining epochs per layer)"
    echo
    if [ -f scripts/paper_scale.py ]; then
        start=$(date +%s)
        if AECOURSE_DEVICE=cuda timeout 180 "$PY" scripts/paper_scale.py > "$LOG" 2>&1; then rc=0; else rc=$?; fi
        end=$(date +%s)
        echo "- command: \`AECOURSE_DEVICE=cuda python scripts/paper_scale.py\` (exit status $rc; 124 = stopped at 180 s)"
        echo "- wall time: $((end - start)) s"
        echo "- last lines of its output (wall time and test error as the script reports them):"
        echo
        echo '```'
        tail -n 20 "$LOG"
        echo '```'
    else
        echo "- not run: scripts/paper_scale.py does not exist yet."
    fi
} >> "$OUT"
echo "written to $OUT"
exit $status
