# edgekd developer recipes. `just setup` makes .venv with everything; the others use it.

venv := ".venv"
py := venv + "/bin/python"

# Create .venv and install edgekd with every extra (idempotent: skipped when up to date).
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    stamp={{venv}}/.edgekd-installed
    if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt constraints.txt ]; then exit 0; fi
    [ -x {{py}} ] || python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -c constraints.txt -e ".[all,dev]"
    touch "$stamp"

# End-to-end demo on scikit-learn's digits: teacher, students, export, bench, summary.
demo *ARGS: setup
    {{py}} -m edgekd.demo {{ARGS}}

# The test suite (what CI runs): the import layers (pyproject's import-linter contracts), then the default suite.
test *ARGS: setup
    {{venv}}/bin/lint-imports
    @command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || echo "WARNING: Chromium is not installed: the browser tests (tests/test_report_browser.py) will be SKIPPED; apt-get install -y chromium (CI requires them)" >&2
    {{py}} -m pytest -q {{ARGS}}

# Slow tests too.
test-all: setup
    {{py}} -m pytest -q -m "slow or not slow"

# Rebuild every summary that comes from committed records, without training or timing anything: the study
# (all three rounds, from benchmarks/study/records/), its --quick report, the ensemble, schedules, contention,
# decisions and teachers.
# A rebuilt file that differs from the committed one shows in `git diff`.
reports: setup
    {{py}} benchmarks/study/study.py --report
    {{py}} benchmarks/study/study.py --quick --report
    {{py}} benchmarks/ensemble/ensemble.py --report-only
    {{py}} benchmarks/schedules/schedules.py --from-json > /dev/null
    {{py}} benchmarks/contention/contention.py --report-only > /dev/null
    {{py}} benchmarks/decisions/decisions.py > /dev/null
    {{py}} benchmarks/teachers/teachers.py > /dev/null

# Timing benchmarks whose results are committed under benchmarks/<question>/ (run them on a quiet machine).
bench: setup
    {{py}} benchmarks/train_cost/train_cost.py
    {{py}} benchmarks/edge_latency/edge_latency.py

# The study's pipeline check: 1 seed x 1 epoch of every run (~7 min on 2 cores), projects the full cost.
study-quick: setup
    {{py}} benchmarks/study/study.py --quick --jobs 2

# The whole study (finished runs are skipped; ~1 h projected on 2 quiet cores), then its report.
study: setup
    {{py}} benchmarks/study/study.py --all --jobs 2
    {{py}} benchmarks/study/study.py --report --bench

# The second recipe (K-view cache, 100 epochs) in all 12 groups, the BreastMNIST ensemble, the report.
# Measured on a shared machine: 5.1 h + 0.8 h (ensemble) of single-thread run time, about half that wall
# time with --jobs 2 on 2 cores, plus the 4 groups' student-alone runs not made yet (see --v2 --list).
study-v2: setup
    {{py}} benchmarks/study/study.py --v2 --all --jobs 2
    {{py}} benchmarks/ensemble/ensemble.py --teachers --jobs 2
    {{py}} benchmarks/ensemble/ensemble.py --jobs 2
    {{py}} benchmarks/study/study.py --v2 --report

# The third round (benchmarks/study/lib/v3.py): the product's own recipe with 2 teacher draws; the screen
# (every method, 3 groups x 3 seeds), then the grid (the kept methods, 12 groups), then the report.
# Finished runs are skipped; `--v3 grid --list` shows what is left.
study-v3: setup
    {{py}} benchmarks/study/study.py --v3 screen --jobs 2
    {{py}} benchmarks/study/study.py --v3 grid --jobs 2
    {{py}} benchmarks/study/study.py --v3 maps
    {{py}} benchmarks/study/study.py --report

# ruff over the package, tests and benchmarks.
lint: setup
    {{py}} -m ruff check edgekd tests benchmarks

# The device side on arm64 under qemu-user, checked against x86 (root; Debian's mirror and PyPI;
# ~20-30 min on 2 shared cores the first time): benchmarks/device_check/device_check.md. ARGS: --cpu cortex-a76 ...
device-check *ARGS: setup
    {{py}} benchmarks/device_check/device_check.py {{ARGS}}
