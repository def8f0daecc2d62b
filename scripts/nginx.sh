#!/usr/bin/env bash
# A throwaway nginx load balancer for tests: the distribution's package, a config in a
# temporary directory, 127.0.0.1 on a free port, round robin over the replicas given.
#
#   scripts/nginx.sh install                      install the distribution's nginx when missing
#   scripts/nginx.sh start HOST:PORT [HOST:PORT]  start; prints NGINX_URL=... and NGINX_DIR=...
#   scripts/nginx.sh stop DIR                     stop the nginx started in DIR and remove DIR
#
# Responses are not buffered (server-sent events pass through as they are written), and each
# response names the replica that served it in an X-Hosting-Upstream header. Works as root,
# with no stdin and under CI=true.
set -euo pipefail

MARKER=.hosting-nginx
SCRIPT_NAME=nginx.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_nginx() {
    command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }
}

install_nginx() {
    if find_nginx >/dev/null; then
        return 0
    fi
    log "installing the distribution's nginx package"
    apt_install -q --no-install-recommends nginx-light
    find_nginx >/dev/null || { log "nginx installed but not found"; return 1; }
}

write_config() {
    local dir=$1 port=$2
    shift 2
    local servers="" upstream user_line=""
    for upstream in "$@"; do
        servers+="        server $upstream max_fails=0;"$'\n'
    done
    if [[ $(id -u) -eq 0 ]]; then
        user_line="user nobody nogroup;"
    fi
    cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream replicas {
$servers        keepalive 16;
    }
    server {
        listen 127.0.0.1:$port;
        client_max_body_size 64m;
        location / {
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            # Server-sent events: pass every byte on as it arrives, and let a stream stay open.
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 3600s;
            add_header X-Hosting-Upstream \$upstream_addr always;
        }
    }
}
EOF
}

start_nginx() {
    if [[ $# -lt 1 ]]; then
        log "start needs at least one HOST:PORT"
        return 2
    fi
    install_nginx
    local binary dir port attempt
    binary=$(find_nginx)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/hosting-nginx.XXXXXX")
    chmod 755 "$dir"
    touch "$dir/$MARKER"
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        write_config "$dir" "$port" "$@"
        if "$binary" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" </dev/null >&2 2>&1; then
            echo "NGINX_URL=http://127.0.0.1:$port"
            echo "NGINX_DIR=$dir"
            return 0
        fi
        log "start on port $port failed (attempt $attempt)"
    done
    tail -n 20 "$dir/error.log" >&2 || true
    rm -rf "$dir"
    return 1
}

stop_nginx() {
    local dir=${1:-}
    if [[ -z "$dir" || ! -f "$dir/$MARKER" ]]; then
        log "stop: '$dir' is not a directory this script started nginx in"
        return 1
    fi
    local binary pid
    binary=$(find_nginx)
    if [[ -f "$dir/nginx.pid" ]]; then
        pid=$(cat "$dir/nginx.pid")
        "$binary" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" -s stop </dev/null >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    install) install_nginx ;;
    start)
        shift
        start_nginx "$@"
        ;;
    stop) stop_nginx "${2:-}" ;;
    *)
        echo "usage: $0 install | start HOST:PORT... | stop DIR" >&2
        exit 2
        ;;
esac
