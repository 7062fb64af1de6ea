#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the test suite and
# print `export MILESTONEBILL_PG_DSN=...` on stdout for the caller to eval:
#
#     eval "$(bash .ci/postgres.sh)"
#
# Idempotent: a second run reuses the cluster while it is still running.
# Runs as root in CI (initdb refuses root, so the cluster belongs to the
# `postgres` user) or as an ordinary user on a laptop.  Installs the
# `postgresql` package with apt only when no initdb is found.
# Stop it with: bash .ci/postgres.sh stop
set -euo pipefail

DIR="${MILESTONEBILL_PG_DIR:-${TMPDIR:-/tmp}/milestonebill-pg}"
DB="${MILESTONEBILL_PG_DB:-milestonebill}"
log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    return 1
}

BINDIR="$(find_bindir || true)"
if [[ -z "$BINDIR" ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        log "no PostgreSQL under /usr/lib/postgresql/*/bin and not root: install postgresql"; exit 1
    fi
    log "installing postgresql with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BINDIR="$(find_bindir)"
fi

if [[ "$(id -u)" == 0 ]]; then
    OWNER=postgres
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    if command -v runuser >/dev/null; then
        as_owner() { runuser -u postgres -- "$@"; }
    else
        as_owner() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
    fi
else
    OWNER="$(id -un)"
    as_owner() { "$@"; }
fi

dsn() { echo "postgresql://${OWNER}@127.0.0.1:$(cat "$DIR/port")/${DB}"; }

if [[ "${1:-}" == "stop" ]]; then
    if [[ -f "$DIR/data/postmaster.pid" ]]; then
        as_owner "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate stop >&2 || true
    fi
    rm -rf "$DIR"
    exit 0
fi

if [[ -f "$DIR/port" && -f "$DIR/data/postmaster.pid" ]] \
        && as_owner "$BINDIR/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    log "reusing the cluster in $DIR"
    echo "export MILESTONEBILL_PG_DSN='$(dsn)'"
    exit 0
fi

rm -rf "$DIR"
mkdir -p "$DIR"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "$PORT" > "$DIR/port"
chown -R "$OWNER" "$DIR"
chmod 700 "$DIR"

log "initdb in $DIR/data ($BINDIR)"
as_owner "$BINDIR/initdb" -D "$DIR/data" -U "$OWNER" --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
log "starting on 127.0.0.1:$PORT"
as_owner "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 || { cat "$DIR/server.log" >&2; exit 1; }
as_owner "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$OWNER" "$DB" >&2
echo "export MILESTONEBILL_PG_DSN='$(dsn)'"
