# CityLink: two commands do everything on a fresh machine that has only the Rust toolchain.
#
#   make run    install the build tools, build in release, serve on http://127.0.0.1:3000
#               (with a light camera simulator feeding Sky Eye; SIMULATE_RATE= turns it off)
#   make test   also install Chromium and Playwright; run every Rust test on SQLite and
#               PostgreSQL, then the Playwright suite against a freshly started server
#   make bench  time the case list and the evaluation at 1,000,000 cases on SQLite and
#               PostgreSQL (server/src/bin/bench_cases.rs), then the Sky Eye alert API under
#               load (make bench-alerts, server/src/bin/bench_alerts.rs), then the readings
#               API and the energy dashboards (make bench-readings, server/src/bin/bench_readings.rs),
#               then the leadership overview's server render (make bench-overview,
#               server/src/bin/bench_overview.rs); `make bench-lcp` measures the overview's
#               largest contentful paint in headless Chromium (scripts/bench-lcp.js)
#
# Each install step checks first, so a warm machine skips what it has.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TOOLS_DIR ?= $(HOME)/.cache/citylink/tools
export PATH := $(HOME)/.cargo/bin:$(TOOLS_DIR)/node_modules/.bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
BINARYEN_VERSION := 132.0.0
# The wasm-bindgen CLI must match the library version locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION = $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build tools browser-tools test-rust test-e2e bench bench-cases bench-alerts bench-readings bench-overview bench-lcp clean

# Where cargo puts the binary (CI may point CARGO_TARGET_DIR at a cache outside the clone).
BIN = $(or $(CARGO_TARGET_DIR),target)/release/citylink

# `make run` keeps the demo alive: a light camera simulator posts alerts and heartbeats
# through the machine API (`make run SIMULATE_RATE=` turns it off).
SIMULATE_RATE ?= 1

run: build
	$(if $(SIMULATE_RATE),CITYLINK_SIMULATE_RATE=$(SIMULATE_RATE)) $(BIN)

test: build browser-tools test-rust test-e2e

build: tools
	cargo leptos build --release

tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" \
	  || cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked --features no_downloads
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	@[ -x "$(TOOLS_DIR)/node_modules/.bin/wasm-opt" ] \
	  || { mkdir -p "$(TOOLS_DIR)" && npm install --prefix "$(TOOLS_DIR)" --no-audit --no-fund binaryen@$(BINARYEN_VERSION); }

browser-tools:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk; }
	@[ -d end2end/node_modules/@playwright/test ] || (cd end2end && npm ci --no-audit --no-fund)

# Unit and integration tests. PostgreSQL comes from CITYLINK_TEST_PG_URL, or a throwaway cluster.
# One test at a time: each test starts its own runtime and app, and many Leptos renderers side
# by side in one test process were seen to stall now and then (each test also has a 90 s limit).
test-rust:
	RUST_TEST_THREADS=1 scripts/test-postgres.sh cargo test --workspace

# The Playwright suite against the release build, on a fresh demo database.
test-e2e:
	scripts/e2e.sh

# The case list and the evaluation at scale, on SQLite and on PostgreSQL (a database
# `citylink_bench` on the server test-postgres.sh provides; on its throwaway cluster the data
# is generated anew each time). The SQLite file is kept, so a second run skips generation.
BENCH_CASES ?= 1000000
BENCH_RUNS ?= 50
BENCH_DIR ?= target/bench
BENCH_BIN = $(or $(CARGO_TARGET_DIR),target)/release/bench-cases

bench: bench-cases bench-alerts bench-readings bench-overview

bench-cases:
	cargo build --release -p citylink-server --bin bench-cases
	mkdir -p $(BENCH_DIR)
	$(BENCH_BIN) --database-url sqlite:$(BENCH_DIR)/cases.db --cases $(BENCH_CASES) --runs $(BENCH_RUNS)
	scripts/test-postgres.sh bash -c '$(BENCH_BIN) --database-url "$${CITYLINK_TEST_PG_URL%/*}/citylink_bench" \
	  --cases $(BENCH_CASES) --runs $(BENCH_RUNS)'

# The alert API under load: the app in-process on a fresh database (the SQLite file is
# recreated, the PostgreSQL database `citylink_bench_alerts` dropped and created), cameras
# registered by heartbeats, BENCH_ALERTS alerts posted over HTTP in batches of 1,000 by
# BENCH_CLIENTS clients with a tenth of the batches sent again; fails when an alert is lost
# or stored twice.
BENCH_ALERTS ?= 200000
BENCH_CLIENTS ?= 4
BENCH_ALERTS_BIN = $(or $(CARGO_TARGET_DIR),target)/release/bench-alerts

bench-alerts:
	cargo build --release -p citylink-server --bin bench-alerts
	mkdir -p $(BENCH_DIR)
	$(BENCH_ALERTS_BIN) --database-url sqlite:$(BENCH_DIR)/alerts.db --alerts $(BENCH_ALERTS) --clients $(BENCH_CLIENTS)
	scripts/test-postgres.sh bash -c '$(BENCH_ALERTS_BIN) --database-url "$${CITYLINK_TEST_PG_URL%/*}/citylink_bench_alerts" \
	  --alerts $(BENCH_ALERTS) --clients $(BENCH_CLIENTS)'

# The readings API under load and the energy dashboards at scale: the app in-process on a
# fresh database (the SQLite file recreated, the PostgreSQL database `citylink_bench_readings`
# dropped and created), 2,000 hourly meters written in SQL, BENCH_READINGS readings posted over
# HTTP in batches of 10,000 by BENCH_CLIENTS clients, meter-major then hour-major, with 5 % of
# the batches sent again and 2,000 corrections; fails when a reading or a rollup is off. Then
# a fresh database bulk-loaded (set-based SQL, not the ingest path) with
# BENCH_QUERY_READINGS_SQLITE / _PG readings and their rollups, and the dashboard queries
# timed. The stated goal run on PostgreSQL is 50,000,000 readings (BENCH_QUERY_READINGS_PG=
# 50000000: 11.6 GB of disk and a bulk load of about 5 min); the default keeps disk and time small.
BENCH_READINGS ?= 2000000
BENCH_QUERY_READINGS_SQLITE ?= 10000000
BENCH_QUERY_READINGS_PG ?= 10000000
BENCH_READINGS_BIN = $(or $(CARGO_TARGET_DIR),target)/release/bench-readings

bench-readings:
	cargo build --release -p citylink-server --bin bench-readings
	mkdir -p $(BENCH_DIR)
	$(BENCH_READINGS_BIN) --database-url sqlite:$(BENCH_DIR)/readings.db --readings $(BENCH_READINGS) \
	  --clients $(BENCH_CLIENTS) --query-readings $(BENCH_QUERY_READINGS_SQLITE)
	scripts/test-postgres.sh bash -c '$(BENCH_READINGS_BIN) --database-url "$${CITYLINK_TEST_PG_URL%/*}/citylink_bench_readings" \
	  --readings $(BENCH_READINGS) --clients $(BENCH_CLIENTS) --query-readings $(BENCH_QUERY_READINGS_PG)'

# The leadership overview's server render at scale: a fresh database (the SQLite file
# recreated, the PostgreSQL database `citylink_bench_overview` dropped and created) with the
# demo accounts and cameras, synthetic cases (as bench-cases) and bulk-loaded readings with
# their rollups (as bench-readings), then GET /overview as the leader through the real router
# and the overview's data function timed BENCH_RUNS times, with the time of each of its SQL
# statements. The goal run is PostgreSQL at 1,000,000 cases and 50,000,000 readings (about
# 13 GB of disk, 10 min of loading); SQLite gets a small quick run.
BENCH_OVERVIEW_CASES ?= 1000000
BENCH_OVERVIEW_READINGS ?= 50000000
BENCH_OVERVIEW_CASES_SQLITE ?= 100000
BENCH_OVERVIEW_READINGS_SQLITE ?= 1000000
BENCH_OVERVIEW_BIN = $(or $(CARGO_TARGET_DIR),target)/release/bench-overview

bench-overview:
	cargo build --release -p citylink-server --bin bench-overview
	mkdir -p $(BENCH_DIR)
	$(BENCH_OVERVIEW_BIN) --database-url sqlite:$(BENCH_DIR)/overview.db --cases $(BENCH_OVERVIEW_CASES_SQLITE) \
	  --readings $(BENCH_OVERVIEW_READINGS_SQLITE) --runs $(BENCH_RUNS)
	scripts/test-postgres.sh bash -c '$(BENCH_OVERVIEW_BIN) --database-url "$${CITYLINK_TEST_PG_URL%/*}/citylink_bench_overview" \
	  --cases $(BENCH_OVERVIEW_CASES) --readings $(BENCH_OVERVIEW_READINGS) --runs $(BENCH_RUNS)'

# Largest contentful paint of /overview in headless Chromium: the release server on the demo
# database BENCH_LCP_DATABASE_URL (kept, so a second run starts at once; a postgres:// URL of
# a loaded bench database measures at scale), signed in as the leader, first visits and
# reloads with a warm cache.
BENCH_LCP_DATABASE_URL ?= sqlite:$(BENCH_DIR)/lcp.db
BENCH_LCP_PORT ?= 3170
BENCH_LCP_RUNS ?= 20

bench-lcp: build browser-tools
	mkdir -p $(BENCH_DIR)
	node scripts/bench-lcp.js --start $(BIN) --database-url $(BENCH_LCP_DATABASE_URL) \
	  --base http://127.0.0.1:$(BENCH_LCP_PORT) --runs $(BENCH_LCP_RUNS)

clean:
	cargo clean
	rm -rf data end2end/test-results end2end/playwright-report
