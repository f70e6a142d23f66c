#!/usr/bin/env bash
# Every CUDA path of lorakit in one run (train LoRA + QLoRA, eval free + constrained, serve x32, export --check,
# DDP with 2+ GPUs), one table. Needs a CUDA build of torch: `make setup TORCH_SPEC=torch` (see the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch ' + torch.__version__)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$PY" benchmarks/gpu_check.py --device "${DEVICE:-cuda}" "$@"
