#!/usr/bin/env bash
# Checks a built Linux release the way a user's machine would run it: no virtual environment,
# no Python path, an empty home folder, headless Qt.
#   1. the bundle's self-test: the real window indexes drawn photos with a tiny model it
#      trains, answers a text and a similar-photo query (exit 0 only if both are right);
#   2. the installer: installs into the empty home, the command and menu entry work,
#      uninstalling removes them.
# Usage: packaging/linux/smoke.sh [dist]   (after packaging/linux/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
DIST=${1:-dist}
BUNDLE=$DIST/mediasearch
RUN=$(find "$DIST" -maxdepth 1 -name 'mediasearch-*-linux-*.run' | head -n 1)
[ -x "$BUNDLE/mediasearch" ] || { echo "no bundle in $BUNDLE: run packaging/linux/build.sh" >&2; exit 1; }
[ -n "$RUN" ] || { echo "no installer in $DIST: run packaging/linux/build.sh" >&2; exit 1; }

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# Only what any desktop session has: no PYTHONPATH, no VIRTUAL_ENV, no pip-installed tools.
clean_env=(env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen
           TMPDIR="${TMPDIR:-/tmp}")
started=$(date +%s)

echo "== self-test of $BUNDLE"
"${clean_env[@]}" timeout 900 "$BUNDLE/mediasearch" --self-test

echo "== installer $RUN"
"${clean_env[@]}" sh "$RUN"
installed="$home/.local/opt/mediasearch/mediasearch"
desktop="$home/.local/share/applications/mediasearch.desktop"
[ -x "$installed" ] || { echo "the installer did not install $installed" >&2; exit 1; }
grep -q "^Exec=\"$installed\"" "$desktop" || { echo "bad menu entry: $desktop" >&2; exit 1; }
[ -f "$home/.local/share/icons/hicolor/256x256/apps/mediasearch.png" ] \
    || { echo "the icon was not installed" >&2; exit 1; }
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop"; fi
version=$("${clean_env[@]}" "$home/.local/bin/mediasearch" --version)
echo "installed command says: $version"
[ "$version" = "mediasearch $(cat "$BUNDLE/VERSION")" ] || { echo "unexpected version" >&2; exit 1; }
"${clean_env[@]}" "$home/.local/opt/mediasearch/install.sh" --uninstall
[ ! -e "$installed" ] && [ ! -e "$desktop" ] || { echo "uninstall left files" >&2; exit 1; }

echo "== smoke test passed in $(( $(date +%s) - started )) s"
