#!/usr/bin/env bash
# Build the lakehouse-etl wheel and sdist and check them with `twine check --strict`.
# The CI pipeline and the Databricks bundle (artifact `lakehouse`) both call this script.
#
#   scripts/build-wheel.sh [--build-number N] [--outdir DIR]
#
#   --build-number N   stamp the version as <version>.dev<N> (CI passes its build id), so every
#                      build has its own wheel file name and a cluster never keeps an old one
#                      loaded under the same name. Without it the version is the one in
#                      src/lakehouse/__init__.py, the single source of the version.
#   --outdir DIR       where the files go (default: dist). Earlier lakehouse-etl builds there
#                      are removed first, so DIR/*.whl is exactly one wheel.
#
# With LAKEHOUSE_WHEEL=<file.whl> nothing is built: that wheel (e.g. the CI artifact being
# deployed) is copied into DIR instead, so what is deployed is what was tested.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

build_number=""
outdir=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --build-number) build_number=${2:?--build-number needs a value}; shift 2 ;;
    --outdir) outdir=${2:?--outdir needs a value}; shift 2 ;;
    *) echo "build-wheel: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [ -n "$build_number" ] && ! [[ $build_number =~ ^[0-9]+$ ]]; then
  echo "build-wheel: --build-number must be digits, got '$build_number'" >&2
  exit 2
fi
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
rm -f "$outdir"/lakehouse_etl-*.whl "$outdir"/lakehouse_etl-*.tar.gz

if [ -n "${LAKEHOUSE_WHEEL:-}" ]; then
  case "$LAKEHOUSE_WHEEL" in
    *.whl) [ -f "$LAKEHOUSE_WHEEL" ] || { echo "build-wheel: LAKEHOUSE_WHEEL=$LAKEHOUSE_WHEEL does not exist" >&2; exit 1; } ;;
    *) echo "build-wheel: LAKEHOUSE_WHEEL must name a .whl file, got '$LAKEHOUSE_WHEEL'" >&2; exit 1 ;;
  esac
  cp "$LAKEHOUSE_WHEEL" "$outdir/"
  echo "$outdir/$(basename "$LAKEHOUSE_WHEEL")"
  exit 0
fi

[ -x .venv/bin/python ] || scripts/setup.sh
# Build from a copy of what the distribution is made of, so stamping a version never touches
# the working tree and stale build/ or egg-info folders cannot leak into the files.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp pyproject.toml README.md LICENSE "$stage/"
tar -C "$REPO" --exclude=__pycache__ --exclude='*.egg-info' -cf - src | tar -C "$stage" -xf -
if [ -n "$build_number" ]; then
  init="$stage/src/lakehouse/__init__.py"
  base=$(sed -nE 's/^__version__ = "([^"]+)"$/\1/p' "$init")
  [ -n "$base" ] || { echo "build-wheel: no __version__ = \"...\" line in src/lakehouse/__init__.py" >&2; exit 1; }
  sed -i -E "s/^__version__ = \"[^\"]+\"$/__version__ = \"$base.dev$build_number\"/" "$init"
fi
.venv/bin/python -m build --outdir "$outdir" "$stage" >"$stage/build.log" 2>&1 || {
  cat "$stage/build.log" >&2
  exit 1
}
.venv/bin/python -m twine --no-color check --strict "$outdir"/lakehouse_etl-*.whl "$outdir"/lakehouse_etl-*.tar.gz >&2
ls "$outdir"/lakehouse_etl-*.whl
