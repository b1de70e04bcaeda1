#!/usr/bin/env bash
# Install the Databricks CLI (the current one, a single binary from the databricks/cli GitHub
# releases, not the legacy databricks-cli pip package) into a folder, checked against the
# release's SHA256SUMS.
#
#   scripts/install-databricks-cli.sh [BIN_DIR]     (default: ~/.local/bin)
#
# DATABRICKS_CLI_VERSION overrides the pinned version. In Azure Pipelines (TF_BUILD set) the
# folder is also put on PATH for the following steps.
set -euo pipefail
VERSION=${DATABRICKS_CLI_VERSION:-0.297.2}
BIN_DIR=${1:-$HOME/.local/bin}

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "install-databricks-cli: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  arm64 | aarch64) arch=arm64 ;;
  *) echo "install-databricks-cli: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

mkdir -p "$BIN_DIR"
if [ -x "$BIN_DIR/databricks" ] && [ "$("$BIN_DIR/databricks" --version 2>/dev/null)" = "Databricks CLI v$VERSION" ]; then
  echo "install-databricks-cli: Databricks CLI v$VERSION already in $BIN_DIR"
else
  archive="databricks_cli_${VERSION}_${os}_${arch}.zip"
  base="https://github.com/databricks/cli/releases/download/v${VERSION}"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  curl -fsSL --retry 3 -o "$work/$archive" "$base/$archive"
  curl -fsSL --retry 3 -o "$work/SHA256SUMS" "$base/databricks_cli_${VERSION}_SHA256SUMS"
  if command -v sha256sum >/dev/null 2>&1; then sha=(sha256sum); else sha=(shasum -a 256); fi
  (cd "$work" && grep " $archive\$" SHA256SUMS | "${sha[@]}" --check --status) || {
    echo "install-databricks-cli: checksum mismatch for $archive" >&2
    exit 1
  }
  unzip -q -o "$work/$archive" databricks -d "$work/bin"
  install -m 0755 "$work/bin/databricks" "$BIN_DIR/databricks"
  echo "install-databricks-cli: installed $("$BIN_DIR/databricks" --version) in $BIN_DIR"
fi
if [ -n "${TF_BUILD:-}" ]; then
  echo "##vso[task.prependpath]$BIN_DIR"
fi
