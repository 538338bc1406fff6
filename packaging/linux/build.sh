#!/usr/bin/env bash
# Builds the Linux app from a clean checkout, into dist/:
#   mediasearch/                              the one-folder bundle (run mediasearch/mediasearch)
#   mediasearch-VERSION-linux-ARCH.tar.gz     that folder plus install.sh, icons, desktop entry
#   mediasearch-VERSION-linux-ARCH.run        a self-extracting installer of the same
# Environment:
#   MEDIASEARCH_TORCH=cpu    (default) torch from PyTorch's CPU-only index: no CUDA libraries
#   MEDIASEARCH_TORCH=pypi   torch as PyPI ships it for Linux (with CUDA: about 3 GB larger)
#   MEDIASEARCH_BUILD_VENV   the build environment's folder (default build/venv-linux)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
VENV=${MEDIASEARCH_BUILD_VENV:-build/venv-linux}
TORCH=${MEDIASEARCH_TORCH:-cpu}
CPU_INDEX=https://download.pytorch.org/whl/cpu
VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(uname -m)
NAME="mediasearch-$VERSION-linux-$ARCH"
started=$(date +%s)

say() { printf '\n== %s\n' "$*"; }

say "build environment: $VENV (torch: $TORCH)"
"$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
if [ "$TORCH" = cpu ]; then
    if ! "${pip[@]}" torch torchvision --index-url "$CPU_INDEX"; then
        echo "Could not install CPU-only torch from $CPU_INDEX." >&2
        echo "Without that index, MEDIASEARCH_TORCH=pypi bundles PyPI's torch (with CUDA, ~3 GB more)." >&2
        exit 1
    fi
fi
# hnswlib compiles from source; -march=native would make a bundle that crashes on older CPUs.
HNSWLIB_NO_NATIVE=1 "${pip[@]}" --no-cache-dir --no-binary hnswlib hnswlib
"${pip[@]}" ".[audio,player]" pyinstaller

say "PyInstaller"
rm -rf dist/mediasearch "dist/$NAME" build/pyinstaller
"$VENV/bin/pyinstaller" packaging/mediasearch.spec --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller

say "desktop entry, icons, installer script"
bundle=dist/mediasearch
share="$bundle/share"
mkdir -p "$share/applications" "$share/icons/hicolor/scalable/apps"
cp resources/mediasearch.desktop "$share/applications/"
cp resources/mediasearch.svg "$share/icons/hicolor/scalable/apps/"
for png in resources/icons/mediasearch-*.png; do
    size=${png##*-}
    size=${size%.png}
    mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$share/icons/hicolor/${size}x${size}/apps/mediasearch.png"
done
cp packaging/linux/install.sh "$bundle/install.sh"
chmod +x "$bundle/install.sh"
cp LICENSE "$bundle/LICENSE.txt"
"$VENV/bin/python" packaging/notices.py "$bundle/THIRD-PARTY-NOTICES.txt"
echo "$VERSION" > "$bundle/VERSION"

say "archives"
# The tarball unpacks to one folder named after the release.
# pigz compresses on every core, gzip on one: several minutes on a GPU build's 4 GB.
compress=gzip
if command -v pigz >/dev/null; then compress=pigz; fi
tar -C dist --transform "s,^mediasearch,$NAME," -I "$compress" -cf "dist/$NAME.tar.gz" mediasearch
cat packaging/linux/selfextract.sh "dist/$NAME.tar.gz" > "dist/$NAME.run"
chmod +x "dist/$NAME.run"

say "sizes"
"$VENV/bin/python" packaging/bundle_report.py "$bundle"
for archive in "dist/$NAME.tar.gz" "dist/$NAME.run"; do
    printf '%8.0f MB  %s\n' "$(( $(stat -c %s "$archive") / 1000000 ))" "$archive"
done
echo "built in $(( $(date +%s) - started )) s"
