#!/usr/bin/env bash
# Issue 6 on a GPU machine, in one go and without network or nox:
#   1. the whole test suite on CUDA          (LUCID_TEST_DEVICES=cuda pytest tests)
#   2. the GPU benchmarks against PyTorch    (bench/test_gpu.py, pytest-benchmark JSON)
#   3. the ratio table                       (printed, and saved next to the JSON as .md)
# Results go to bench/results/{tests,gpu}-<gpu-name>.*; commit them with the table in bench/README.md.
#
# Usage: bash bench/gpu.sh
#   PYTHON=python3.12        the interpreter to use (default: python)
#   WHEELS=/path/to/wheels   install missing pure-Python packages from that folder, offline
#   TESTS="tests/backend tests/nn"   what pytest runs on CUDA (default: tests)
#   JOBS=8                   pytest-xdist workers sharing the GPU (default: 8 where xdist is installed, else 1):
#                            the suite's ops are small, so one process leaves the GPU mostly idle
#   TEST_TIMEOUT=300         stop the test run after so many seconds (default: none), so the benchmarks still run
#   OUT=/some/folder         also copy the results there (a lent device machine returns only that folder)
# Exit status: non-zero when a requirement is missing, a test failed or a benchmark failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

# ---- 1. requirements ----------------------------------------------------------------------
# import name -> pip name (cupy must be preinstalled: cupy-cuda13x or cupy-cuda12x)
declare -A PIP=([numpy]=numpy [cupy]=cupy-cuda13x [array_api_compat]=array-api-compat [safetensors]=safetensors
                [tqdm]=tqdm [torch]=torch [pytest]=pytest [pytest_benchmark]="pytest-benchmark py-cpuinfo")
missing() {
    "$PY" - "${!PIP[@]}" <<'EOF'
import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))
EOF
}
absent=$(missing)
if [ -n "$absent" ] && [ -n "${WHEELS:-}" ]; then
    pkgs=$(for m in $absent; do [ "$m" != cupy ] && [ "$m" != torch ] && echo "${PIP[$m]}"; done)
    echo "installing from $WHEELS: $pkgs"
    # shellcheck disable=SC2086
    "$PY" -m pip install --no-index --find-links "$WHEELS" $pkgs
    absent=$(missing)
fi
if [ -n "$absent" ]; then
    echo "missing Python packages: $absent"
    echo "On a machine with network:  pip download --no-deps -d wheels array-api-compat safetensors tqdm pytest-benchmark py-cpuinfo"
    echo "(safetensors has compiled wheels: add --python-version / --platform of the GPU machine), copy wheels/ here, then:"
    echo "  WHEELS=wheels bash bench/gpu.sh"
    exit 2
fi
if ! "$PY" -c "import lucid, sys; sys.exit(0 if lucid.cuda.is_available() else 1)"; then
    echo "lucid sees no usable CUDA GPU:"
    "$PY" -c "from lucid._backend.registry import backend_for; backend_for('cuda')" 2>&1 | tail -1
    exit 2
fi
"$PY" - <<'EOF'
import cupy, torch, lucid
print(f"GPU: {lucid.cuda.get_device_name()} x{lucid.cuda.device_count()}, CuPy {cupy.__version__} "
      f"(CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}), PyTorch {torch.__version__} "
      f"(CUDA {torch.version.cuda}, available: {torch.cuda.is_available()})")
EOF
name=$("$PY" -c "import lucid, re; print(re.sub(r'[^A-Za-z0-9]+', '-', lucid.cuda.get_device_name()).strip('-'))")
mkdir -p bench/results

# ---- 2. the test suite on CUDA ----------------------------------------------------------------
jobs=${JOBS:-$("$PY" -c "import importlib.util as u; print(8 if u.find_spec('xdist') else 1)")}
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-n "$jobs")
limit=()
[ -n "${TEST_TIMEOUT:-}" ] && limit=(timeout "$TEST_TIMEOUT")
# shellcheck disable=SC2086
LUCID_TEST_DEVICES=cuda "${limit[@]}" "$PY" -m pytest -q -rfEs -p no:cacheprovider "${parallel[@]}" ${TESTS:-tests} 2>&1 \
    | tee "bench/results/tests-$name.txt"
tests_rc=${PIPESTATUS[0]}

# ---- 3. benchmarks and the ratio table -----------------------------------------------------------
json="bench/results/gpu-$name.json"
"$PY" -m pytest bench/test_gpu.py --benchmark-only --benchmark-json "$json" -q -rs
bench_rc=$?
PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" "$PY" bench/test_gpu.py "$json" | tee "bench/results/gpu-$name.md"

[ -n "${OUT:-}" ] && cp "bench/results/tests-$name.txt" "$json" "bench/results/gpu-$name.md" "$OUT"/
echo "tests: exit $tests_rc, benchmarks: exit $bench_rc; results in bench/results/*-$name.*"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
