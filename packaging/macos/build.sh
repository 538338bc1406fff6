#!/usr/bin/env bash
# Builds dist/mediasearch.app and dist/mediasearch-<version>-macos-<arch>.dmg on a Mac.
#
#   packaging/macos/build.sh            # unsigned app and dmg
#   MACOS_SIGN_IDENTITY="Developer ID Application: Name (TEAMID)" \
#   MACOS_NOTARY_PROFILE=mediasearch-notary packaging/macos/build.sh
#
# Environment:
#   PYTHON                the Python 3.11+ that creates the virtual environment (default python3)
#   MACOS_SIGN_IDENTITY   a codesign identity: sign the app (hardened runtime) and the dmg
#   MACOS_ENTITLEMENTS    an entitlements plist to sign the app with (optional)
#   MACOS_NOTARY_PROFILE  a `xcrun notarytool store-credentials` profile: notarise and staple
#                         the app and the dmg (needs MACOS_SIGN_IDENTITY)
#   CLEAN=1               start from a fresh virtual environment and PyInstaller work folder
#
# PyInstaller does not cross-compile: the app is for the architecture of the Python that
# builds it (arm64 on Apple silicon, x86_64 on Intel), and the dmg is named after it.
# Written on Linux and not yet run on a Mac: see packaging/README.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

python="${PYTHON:-python3}"
venv="build/venv-macos"
app="dist/mediasearch.app"

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[[ "${OSTYPE:-}" == darwin* ]] || die "this script builds on macOS only"
if [[ -n "${MACOS_NOTARY_PROFILE:-}" && -z "${MACOS_SIGN_IDENTITY:-}" ]]; then
    die "MACOS_NOTARY_PROFILE needs MACOS_SIGN_IDENTITY: Apple notarises signed apps only"
fi

"$python" -c 'import sys; sys.exit(None if sys.version_info >= (3, 11) else "mediasearch needs Python 3.11 or newer, not " + sys.version)'
version="$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
arch="$("$python" -c 'import platform; print(platform.machine())')"
dmg="dist/mediasearch-${version}-macos-${arch}.dmg"
log "mediasearch ${version} for ${arch}"

if [[ "${CLEAN:-0}" == "1" ]]; then
    rm -rf "$venv" build/mediasearch "$app" dist/mediasearch
fi
if [[ ! -x "$venv/bin/python" ]]; then
    log "creating $venv"
    "$python" -m venv "$venv"
fi
log "installing mediasearch and PyInstaller"
"$venv/bin/python" -m pip install --upgrade pip
# hnswlib compiles from source; -march=native would make an app that crashes on older CPUs.
export HNSWLIB_NO_NATIVE=1
"$venv/bin/python" -m pip install ".[audio,player]" pyinstaller

log "running PyInstaller"
"$venv/bin/pyinstaller" packaging/mediasearch.spec --noconfirm
[[ -d "$app" ]] || die "PyInstaller did not produce $app"

# notarise FILE: submit to Apple, wait, fail unless the verdict is Accepted (notarytool
# exits 0 on an Invalid verdict too), then staple the ticket to FILE.
notarise() {
    local file="$1" submitted="$1" result status id
    if [[ -d "$file" ]]; then
        # notarytool takes a zip, dmg or pkg, not a bare .app folder.
        submitted="build/$(basename "$file").zip"
        rm -f "$submitted"
        ditto -c -k --keepParent "$file" "$submitted"
    fi
    log "notarising $file (this takes minutes)"
    result="$(xcrun notarytool submit "$submitted" --keychain-profile "$MACOS_NOTARY_PROFILE" \
        --wait --output-format json)"
    status="$(printf '%s' "$result" | "$python" -c 'import json, sys; print(json.load(sys.stdin).get("status", ""))')"
    id="$(printf '%s' "$result" | "$python" -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))')"
    if [[ "$status" != "Accepted" ]]; then
        xcrun notarytool log "$id" --keychain-profile "$MACOS_NOTARY_PROFILE" >&2 || true
        die "notarisation of $file ended '$status' (submission $id)"
    fi
    xcrun stapler staple "$file"
    xcrun stapler validate "$file"
}

if [[ -n "${MACOS_SIGN_IDENTITY:-}" ]]; then
    log "signing $app as $MACOS_SIGN_IDENTITY"
    sign_args=(--force --deep --options runtime --timestamp --sign "$MACOS_SIGN_IDENTITY")
    if [[ -n "${MACOS_ENTITLEMENTS:-}" ]]; then
        sign_args+=(--entitlements "$MACOS_ENTITLEMENTS")
    fi
    codesign "${sign_args[@]}" "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
    if [[ -n "${MACOS_NOTARY_PROFILE:-}" ]]; then
        notarise "$app"
    fi
else
    log "MACOS_SIGN_IDENTITY not set: the app stays unsigned (Gatekeeper will refuse it)"
fi

log "making $dmg"
staging="build/dmg-staging"
rm -rf "$staging"
mkdir -p "$staging"
# ditto keeps the bundle's symlinks, extended attributes and signature intact.
ditto "$app" "$staging/mediasearch.app"
ln -s /Applications "$staging/Applications"
hdiutil create -volname mediasearch -srcfolder "$staging" -ov -format UDZO "$dmg"
rm -rf "$staging"

if [[ -n "${MACOS_SIGN_IDENTITY:-}" ]]; then
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$dmg"
    if [[ -n "${MACOS_NOTARY_PROFILE:-}" ]]; then
        notarise "$dmg"
    fi
fi
log "built $dmg"
