#!/usr/bin/env bash
# Starts the release build on a fresh demo database and runs the Playwright suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${E2E_PORT:-3100}"
dir="$(mktemp -d /tmp/citylink-e2e.XXXXXX)"
log="$dir/server.log"

# A smaller energy demo than `make run` (40 meters, six weeks: enough history for anomalies)
# keeps the start to a few seconds.
DATABASE_URL="sqlite:$dir/e2e.db" CITYLINK_DEMO=true LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  LEPTOS_SITE_ROOT=target/site RUST_LOG=info CITYLINK_CAMERA_OFFLINE_SECONDS=3600 CITYLINK_CITIZEN_PER_HOUR=100 \
  CITYLINK_DEMO_METERS="${E2E_DEMO_METERS:-40}" CITYLINK_DEMO_ENERGY_DAYS="${E2E_DEMO_ENERGY_DAYS:-42}" \
  "${CARGO_TARGET_DIR:-target}/release/citylink" >"$log" 2>&1 &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM

for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "server exited:"; cat "$log"; exit 1; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "server did not answer"; cat "$log"; exit 1; }

cd end2end
status=0
BASE_URL="http://127.0.0.1:$port" npx playwright test "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "---- server log (last 60 lines) ----"
  tail -n 60 "$log"
fi
exit "$status"
