# What the service scripts share (sourced, never run): messages, root, the distribution's
# packages and a free port. The sourcing script sets SCRIPT_NAME first, for `log`.
# Everything here works as root, with no stdin and under CI=true.

log() { echo "$SCRIPT_NAME: $*" >&2; }

# Run a command as root: directly when we are root, through password-less sudo otherwise.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        log "need root (or sudo) to run: $*"
        return 1
    fi
}

# Install distribution packages: `apt_install [APT-GET OPTION...] PACKAGE...`; apt's output goes
# to stderr. The package lists may be stale or absent (a fresh container): when the install
# fails, they are refreshed once and it is tried again.
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    # A package's post-install starts its system-wide service where it can; policy-rc.d says no.
    local policy=/usr/sbin/policy-rc.d created=0 status=0
    if [[ $(id -u) -eq 0 && ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    if ! as_root apt-get install -y "$@" </dev/null >&2; then
        { as_root apt-get update -q </dev/null >&2 && as_root apt-get install -y "$@" </dev/null >&2; } || status=$?
    fi
    if [[ $created -eq 1 ]]; then
        rm -f "$policy"
    fi
    return "$status"
}

# A TCP port free on 127.0.0.1 now (the caller retries should another process take it first).
free_port() {
    local python
    python=$(command -v python3 || command -v python || true)
    if [[ -n "$python" ]]; then
        "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        echo $((20000 + RANDOM % 30000))
    fi
}
