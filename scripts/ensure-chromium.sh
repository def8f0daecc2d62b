#!/usr/bin/env bash
# Chromium for the browser tests (tests-integration/test_ui_*.py): the distribution's package,
# installed when /usr/bin/chromium is missing. Playwright drives it as it is; no browser is
# downloaded. Quiet when there is nothing to do, idempotent, and works as root (or with
# password-less sudo) with no stdin and under CI=true.
#
#   scripts/ensure-chromium.sh          install chromium when missing
#
# CHROMIUM=/path/to/chromium checks another path instead.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

log() { echo "ensure-chromium.sh: $*" >&2; }

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "not root and no sudo: install the 'chromium' package yourself (or set HOSTING_SKIP_BROWSER=1)"
        exit 1
    fi
}

if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get here: install Chromium at $CHROMIUM yourself (or set HOSTING_SKIP_BROWSER=1)"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "installing the distribution's chromium package"
# The package lists may be stale or absent (a fresh container): refresh them once if needed.
if ! as_root apt-get install -y -qq chromium </dev/null >/dev/null 2>&1; then
    as_root apt-get update -qq </dev/null >/dev/null
    as_root apt-get install -y -qq chromium </dev/null >/dev/null
fi

if [[ ! -x "$CHROMIUM" ]]; then
    log "$CHROMIUM is still missing after installing chromium"
    exit 1
fi
