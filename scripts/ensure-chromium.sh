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

SCRIPT_NAME=ensure-chromium.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get here: install Chromium at $CHROMIUM yourself (or set HOSTING_SKIP_BROWSER=1)"
    exit 1
fi

if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    log "not root and no sudo: install the 'chromium' package yourself (or set HOSTING_SKIP_BROWSER=1)"
    exit 1
fi

log "installing the distribution's chromium package"
apt_install -qq chromium

if [[ ! -x "$CHROMIUM" ]]; then
    log "$CHROMIUM is still missing after installing chromium"
    exit 1
fi
