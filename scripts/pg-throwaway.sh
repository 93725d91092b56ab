#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   eval "$(bash scripts/pg-throwaway.sh start DIR)"   # exports CAREWEAVE_TEST_PG_URL
#   bash scripts/pg-throwaway.sh stop DIR
# The cluster lives in DIR, listens on 127.0.0.1 only, on a free port, and is
# owned by the `postgres` system user when run as root (initdb refuses root).
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bindir/initdb" -D "$dir/data" -U careweave --auth=trust -E UTF8 >/dev/null
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U careweave careweave_test
    echo "export CAREWEAVE_TEST_PG_URL=postgresql+psycopg://careweave@127.0.0.1:$port/careweave_test"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
