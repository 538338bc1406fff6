#!/bin/sh
# mediasearch installer for Linux: a shell header and the release tarball after it. It unpacks
# into a temporary folder and runs the bundle's install.sh with the same arguments:
#   sh mediasearch-VERSION-linux-ARCH.run [--prefix DIR] [--uninstall]
set -eu
payload_line=$(awk '/^__TARBALL_BELOW__$/ { print NR + 1; exit }' "$0")
workdir=$(mktemp -d "${TMPDIR:-/tmp}/mediasearch-install.XXXXXX")
trap 'rm -rf "$workdir"' EXIT INT TERM
echo "Unpacking mediasearch..."
tail -n +"$payload_line" "$0" | tar -xzf - -C "$workdir"
for installer in "$workdir"/mediasearch-*/install.sh; do
    "$installer" "$@"
done
# The tarball follows: the shell must stop reading here.
exit 0
__TARBALL_BELOW__
