#!/bin/sh
# Installs the mediasearch bundle this script sits in for the current user (no root needed):
# the app into PREFIX/opt/mediasearch, a `mediasearch` command into PREFIX/bin, and a menu
# entry with its icon. PREFIX is ~/.local unless --prefix DIR (or MEDIASEARCH_PREFIX) says.
#   ./install.sh [--prefix DIR]     install, or upgrade an earlier install in place
#   ./install.sh --uninstall        remove the app (your library and settings are kept)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${MEDIASEARCH_PREFIX:-${HOME:?}/.local}
action=install
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

app_dir=$prefix/opt/mediasearch
bin_link=$prefix/bin/mediasearch
desktop_file=$prefix/share/applications/mediasearch.desktop
icons=$prefix/share/icons/hicolor

refresh_menus() {
    # Desktops re-read these on their own sooner or later; the tools just make it immediate.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$prefix/share/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
    fi
}

uninstall() {
    rm -rf "$app_dir"
    [ -L "$bin_link" ] && rm -f "$bin_link"
    rm -f "$desktop_file"
    for icon in "$icons"/*/apps/mediasearch.png "$icons"/scalable/apps/mediasearch.svg; do
        [ -e "$icon" ] && rm -f "$icon"
    done
    refresh_menus
    echo "mediasearch is uninstalled. Your library, settings and downloaded models are kept in"
    echo "${XDG_DATA_HOME:-$HOME/.local/share}/mediasearch and ${XDG_CACHE_HOME:-$HOME/.cache}/mediasearch;"
    echo "delete those folders to remove them too."
}

install_app() {
    version=$(cat "$here/VERSION" 2>/dev/null || echo "?")
    mkdir -p "$prefix/opt" "$prefix/bin" "$prefix/share/applications"
    # Copy next to the old install and swap, so a failed copy never leaves a half app behind.
    staging=$(mktemp -d "$prefix/opt/.mediasearch-new.XXXXXX")
    cp -a "$here/." "$staging/"
    rm -rf "$staging/share"
    chmod 755 "$staging"
    if [ -e "$app_dir" ]; then
        old=$(mktemp -d "$prefix/opt/.mediasearch-old.XXXXXX")
        mv "$app_dir" "$old/"
        mv "$staging" "$app_dir"
        rm -rf "$old"
    else
        mv "$staging" "$app_dir"
    fi
    ln -sfn "$app_dir/mediasearch" "$bin_link"
    # The menu entry points at the app itself: ~/.local/bin is not on every desktop's PATH.
    sed -e "s|^Exec=.*|Exec=\"$app_dir/mediasearch\"|" \
        -e "/^Exec=/a TryExec=$app_dir/mediasearch" \
        "$here/share/applications/mediasearch.desktop" > "$desktop_file.tmp"
    mv "$desktop_file.tmp" "$desktop_file"
    (cd "$here/share/icons/hicolor" && find . -type f) | while read -r icon; do
        mkdir -p "$(dirname "$icons/$icon")"
        cp "$here/share/icons/hicolor/$icon" "$icons/$icon"
    done
    refresh_menus
    echo "mediasearch $version is installed in $app_dir."
    echo "Start it from your applications menu, or run: $bin_link"
    case ":$PATH:" in
        *":$prefix/bin:"*) ;;
        *) echo "($prefix/bin is not on your PATH; the menu entry works regardless.)" ;;
    esac
    echo "Uninstall with: $app_dir/install.sh --uninstall"
}

if [ "$action" = uninstall ]; then uninstall; else install_app; fi
