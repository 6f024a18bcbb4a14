#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store's contract tests, on a clean machine or a used one.
#
#   bash .ci/postgres.sh start                 # prints `export TEST_DATABASE_URL=…` and `export COTOOL_PG_DIR=…`
#   bash .ci/postgres.sh stop "$COTOOL_PG_DIR" # stops that cluster and removes its directory (no-op if gone)
#   bash .ci/postgres.sh run -- CMD ARGS…      # start, run CMD with TEST_DATABASE_URL set, stop; CMD's exit status
#
# In .ci/run (the assignment makes `set -e` see a failed start; a bare `eval "$(…)"` would not):
#   pg_env="$(bash .ci/postgres.sh start)"
#   eval "$pg_env"
#   trap 'bash .ci/postgres.sh stop "$COTOOL_PG_DIR"' EXIT
#
# `start` installs Debian's `postgresql` package when no initdb is found under /usr/lib/postgresql/*/bin
# (non-interactively; the package's own cluster is neither used nor needed), then creates a cluster in a
# fresh temporary directory owned by the `postgres` user (initdb refuses root), listening on 127.0.0.1
# only (and a Unix socket inside that directory) on a free port, with a login role that has a password
# and may create databases, and a database it owns. Only the two export lines go to stdout; progress
# goes to stderr. With PostgreSQL installed it takes about two seconds. Calling `start` again while
# COTOOL_PG_DIR names a running cluster prints the same exports again instead of starting another.
set -euo pipefail

ROLE=cotool_test
DB=cotool_test
MARK=.cotool-pg-cluster

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

find_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then printf '%s\n' "$d"; fi
}

install_postgres() {
  say "initdb not found: installing PostgreSQL from Debian's packages"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install postgresql"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Runs a command as the cluster's owner: `postgres` when we are root (PostgreSQL refuses root), else us.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_exports() {
  local dir="$1"
  printf 'export TEST_DATABASE_URL=%q\n' "$(cat "$dir/url")"
  printf 'export COTOOL_PG_DIR=%q\n' "$dir"
}

running() { [ -f "$1/$MARK" ] && as_owner "$(cat "$1/bin")/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

start() {
  if [ -n "${COTOOL_PG_DIR:-}" ] && running "$COTOOL_PG_DIR"; then
    say "reusing the running cluster in $COTOOL_PG_DIR"
    print_exports "$COTOOL_PG_DIR"
    return
  fi
  local bin
  bin="$(find_bin)"
  if [ -z "$bin" ]; then
    install_postgres
    bin="$(find_bin)"
    [ -n "$bin" ] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  # /tmp, not $TMPDIR: the postgres user must be able to reach the directory.
  local dir
  dir="$(mktemp -d /tmp/cotool-pg.XXXXXX)"
  touch "$dir/$MARK"
  printf '%s\n' "$bin" >"$dir/bin"
  mkdir "$dir/data" "$dir/sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
  chmod 700 "$dir/data"

  local password
  password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  local port tries=0
  while :; do
    tries=$((tries + 1))
    [ "$tries" -le 20 ] || die "no free port found for PostgreSQL"
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
      break
    fi
    grep -q 'could not bind\|already in use' "$dir/server.log" 2>/dev/null || {
      cat "$dir/server.log" >&2 || true
      die "pg_ctl start failed (see above)"
    }
  done

  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U postgres -d postgres >/dev/null <<EOF
CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE $DB OWNER $ROLE;
EOF
  printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$password" "$port" "$DB" >"$dir/url"
  chmod 600 "$dir/url"
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  print_exports "$dir"
}

stop() {
  local dir="${1:-${COTOOL_PG_DIR:-}}"
  [ -n "$dir" ] || die "usage: postgres.sh stop <dir>"
  [ -d "$dir" ] || return 0
  [ -f "$dir/$MARK" ] || die "$dir is not a cluster made by postgres.sh; not touching it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  say "stopped and removed $dir"
}

run() {
  [ "${1:-}" = "--" ] && shift
  [ "$#" -gt 0 ] || die "usage: postgres.sh run -- CMD ARGS…"
  local exports
  exports="$(COTOOL_PG_DIR='' start)"
  eval "$exports"
  trap 'stop "$COTOOL_PG_DIR"' EXIT
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  run) shift; run "$@" ;;
  *) die "usage: postgres.sh start | stop <dir> | run -- CMD ARGS…" ;;
esac
