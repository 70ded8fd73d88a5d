#!/usr/bin/env bash
# What `bash .ci/demo` saves by installing requirements.txt only: the time to install it into a
# fresh virtual environment, against requirements-test.txt (what .ci/run installs), each ROUNDS
# times (default 1: the second round is pip's cache warm either way); prints the medians and ratio.
#
#   bash bench/install.sh [ROUNDS]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-1}
python=${PYTHON:-python3.11}
work=$(mktemp -d "${TMPDIR:-/tmp}/appgraph-bench-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

install_seconds() {   # requirements file -> seconds for a fresh venv + pip install
    local venv="$work/venv-$RANDOM" start end
    "$python" -m venv "$venv"
    start=$(date +%s.%N)
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$1" >/dev/null 2>&1
    end=$(date +%s.%N)
    rm -rf "$venv"
    echo "$end - $start" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

demo=$(for _ in $(seq "$rounds"); do install_seconds "$repo/requirements.txt"; done | median)
full=$(for _ in $(seq "$rounds"); do install_seconds "$repo/requirements-test.txt"; done | median)
printf 'requirements.txt (demo):       %6.1f s\n' "$demo"
printf 'requirements-test.txt (tests): %6.1f s\n' "$full"
printf 'the demo installs in %.2f of the time (%.0f s less)\n' "$(echo "$demo / $full" | bc -l)" \
    "$(echo "$full - $demo" | bc -l)"
