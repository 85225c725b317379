#!/usr/bin/env bash
# Unpacks Debian bookworm's chromium 150 (a build that still runs Device Bound
# Session Credentials on Linux with software keys) into DEST, without
# installing it. Its runtime libraries are those of `apt-get install chromium`
# (scripts/test.sh and .ci/run install it). Newer Debian builds ignore the
# registration header on Linux, so tests/browser/test_dbsc_chromium.py needs
# this one.
#   get-chromium-150.sh [DEST]   -> prints the path of the chromium binary
# DEST defaults to $SESSIONTOKENS_CHROMIUM_150_DIR, else .cache/chromium-150 in
# the checkout (git-ignored). A second run finds the unpacked binary and
# prints its path at once.
# Exit status 3 (and a line on stderr) when Debian no longer serves that
# version; any other failure (no network, no apt-get, a broken download) is
# exit status 1, so that the test does not skip for it.
set -euo pipefail
V=150.0.7871.100-1~deb12u1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-${SESSIONTOKENS_CHROMIUM_150_DIR:-$ROOT/.cache/chromium-150}}"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
BIN="$DEST/root/usr/lib/chromium/chromium"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v apt-get >/dev/null || { echo "apt-get is missing: cannot fetch chromium $V" >&2; exit 1; }
cd "$DEST"
served() { apt-cache madison chromium 2>/dev/null | grep -qF "| $V |"; }
download() { apt-get download "chromium=$V" "chromium-common=$V" >/dev/null 2>download.err; }
if ! download; then
    updated=yes
    apt-get update -qq >/dev/null 2>&1 || updated=no
    if ! download; then
        if [ "$updated" = yes ] && ! served; then
            echo "chromium $V is not served by the Debian archive any more: $(tail -n 1 download.err)" >&2
            exit 3
        fi
        echo "chromium $V could not be fetched (apt-get update: $updated): $(tail -n 1 download.err)" >&2
        exit 1
    fi
fi
rm -rf root.tmp
for f in chromium_"${V%%-*}"*.deb chromium-common_"${V%%-*}"*.deb; do dpkg-deb -x "$f" root.tmp; done
rm -rf root && mv root.tmp root
rm -f chromium_*.deb chromium-common_*.deb
"$BIN" --version >&2
echo "$BIN"
