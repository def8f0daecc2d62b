#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: the distribution's package, a temporary
# directory, 127.0.0.1 on a free port, trust authentication (loopback only).
#
#   scripts/postgres.sh install        install the distribution's postgresql when missing
#   scripts/postgres.sh start          start a server; prints POSTGRES_URL=... and POSTGRES_DIR=...
#   scripts/postgres.sh stop DIR       stop the server started in DIR and remove DIR
#
# `eval "$(scripts/postgres.sh start)"` sets both variables in a shell. Works as root (the
# server runs as the unprivileged user hosting-pg, because initdb refuses root), with no
# stdin and under CI=true.
set -euo pipefail

PG_USER=hosting-pg
MARKER=.hosting-postgres
SCRIPT_NAME=postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_bindir() {
    local candidate
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    return 1
}

install_postgres() {
    if find_bindir >/dev/null; then
        return 0
    fi
    log "installing the distribution's postgresql package"
    apt_install -q --no-install-recommends postgresql
    find_bindir >/dev/null || { log "postgresql installed but initdb/pg_ctl not found"; return 1; }
}

# Run a command as the server's owner: hosting-pg when we are root, ourselves otherwise.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_user() {
    if [[ $(id -u) -eq 0 ]] && ! id "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
    fi
}

start_postgres() {
    install_postgres
    ensure_user
    local bindir dir port attempt
    bindir=$(find_bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/hosting-pg.XXXXXX")
    touch "$dir/$MARKER"
    chmod 700 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R "$PG_USER" "$dir"
    fi
    as_owner "$bindir/initdb" -D "$dir/data" --username=hosting --auth=trust --encoding=UTF8 \
        --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
    # A throwaway server: durability is traded for speed.
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -o "-p $port" -l "$dir/server.log" -w -t 30 start \
            >/dev/null 2>&1; then
            echo "$port" >"$dir/port"
            as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U hosting hosting >&2
            echo "POSTGRES_URL=postgresql://hosting@127.0.0.1:$port/hosting"
            echo "POSTGRES_DIR=$dir"
            return 0
        fi
        log "start on port $port failed (attempt $attempt)"
    done
    tail -n 20 "$dir/server.log" >&2 || true
    rm -rf "$dir"
    return 1
}

stop_postgres() {
    local dir=${1:-}
    if [[ -z "$dir" || ! -f "$dir/$MARKER" ]]; then
        log "stop: '$dir' is not a directory this script started a server in"
        return 1
    fi
    local bindir
    bindir=$(find_bindir)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    install) install_postgres ;;
    start) start_postgres ;;
    stop) stop_postgres "${2:-}" ;;
    *)
        echo "usage: $0 install | start | stop DIR" >&2
        exit 2
        ;;
esac
