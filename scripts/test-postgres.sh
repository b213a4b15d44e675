#!/usr/bin/env bash
# Runs a command with CITYLINK_TEST_PG_URL pointing at a PostgreSQL that answers.
#
# If CITYLINK_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) answers, it is
# used as is. Otherwise a throwaway cluster is created from the machine's PostgreSQL binaries
# (installed from Debian's packages when missing), started on a private port, and removed
# when the command ends. Tests never skip PostgreSQL silently: if none can be had, this fails.
set -euo pipefail

url="${CITYLINK_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

answers() {
  local u="$1"
  command -v pg_isready >/dev/null 2>&1 || [ -x "$(pg_bin)/pg_isready" ] || return 1
  "$(pg_bin)/pg_isready" -q -d "$u" -t 2 >/dev/null 2>&1
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  echo "${d:-/usr/lib/postgresql/15/bin}"
}

if answers "$url"; then
  echo "PostgreSQL tests use $url"
  export CITYLINK_TEST_PG_URL="$url"
  exec "$@"
fi

if [ ! -x "$(pg_bin)/initdb" ]; then
  echo "PostgreSQL binaries missing: installing Debian's postgresql package"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
bin="$(pg_bin)"

port="${CITYLINK_TEST_PG_PORT:-55432}"
dir="$(mktemp -d /tmp/citylink-pg.XXXXXX)"
run_as=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  run_as=(runuser -u postgres --)
fi
cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; exit 1; }
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log"; exit 1; }
export CITYLINK_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL tests use a throwaway cluster at $CITYLINK_TEST_PG_URL"
"$@"
