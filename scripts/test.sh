#!/usr/bin/env bash
# test.sh — `make test`: a throwaway cluster and edge on their own ports, then
# every test: pgTAP through pg_prove, then the edge's HTTP tests through prove.
# Stops and deletes everything it started on exit, pass or fail.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NMC_PG_PORT=${NMC_TEST_PG_PORT:-54340}
export NMC_HTTP_PORT=${NMC_TEST_HTTP_PORT:-18080}
# 18081 is the valgrind edge's HTTP port (test/edge/02_valgrind_clean.t), 18083 its WebSocket port.
export NMC_WS_PORT=${NMC_TEST_WS_PORT:-18082}
export NMC_DB=nmc_test
export NMC_BCRYPT_COST=4
export NMC_PUBLIC_URL=http://localhost:$NMC_HTTP_PORT
# Throwaway data: durability buys nothing here and costs seconds.
export NMC_PG_EXTRA_CONF="fsync = off
synchronous_commit = off
full_page_writes = off"
# Tests run in sandbox mode unless they configure providers themselves.
unset NMC_TWILIO_ACCOUNT_SID NMC_TWILIO_AUTH_TOKEN NMC_OPENAI_API_KEY NMC_MAPS_API_KEY

STACK=$ROOT/scripts/stack.sh
STATE=$("$STACK" state-dir)
FAKE_PORT=${NMC_TEST_FAKE_PORT:-18999}
FAKE_PID=
SAN_PID=

cleanup() {
    [ -n "$SAN_PID" ] && kill -KILL "$SAN_PID" 2>/dev/null
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    "$STACK" stop >/dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap cleanup EXIT

cleanup
make -s -C "$ROOT/test/fakes" >/dev/null
echo "==> the fake push service decrypts RFC 8291's example (make -C test/fakes check)"
make -s -C "$ROOT/test/fakes" check | grep -v "^ok "
"$STACK" up
"$STACK" psql -c "CREATE EXTENSION IF NOT EXISTS pgtap" -f "$ROOT/test/sql/helpers.sql"
# Only a commit can wake the dispatcher promptly: see test/dispatcher/03_wake_at_commit.t.
# A throttled login waits a minute, not 2 s, so "the next try is refused" holds on a slow host.
"$STACK" psql -o /dev/null -c "SELECT nmc.configure('{\"dispatcher_idle_poll_ms\":\"3600000\",\"register_max_per_source\":\"1000000\",\"login_delay_base_seconds\":\"60\"}')"

# The fake Twilio, OpenAI and Google Maps (test/fakes), on loopback.
FAKE_PORT=$FAKE_PORT setsid "$ROOT/test/fakes/nmc-fake-providers" > "$STATE/log/fake-providers.log" 2>&1 < /dev/null &
FAKE_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$FAKE_PORT/_fake/health" 2>/dev/null && break
    sleep 0.05
done
export NMC_TEST_FAKE_URL=http://127.0.0.1:$FAKE_PORT

SOCK=$STATE/run
export NMC_TEST_BASE_URL=http://127.0.0.1:$NMC_HTTP_PORT
export NMC_TEST_STATE=$STATE
export NMC_TEST_STACK=$STACK
export NMC_TEST_EDGE_BIN=$ROOT/edge/nmc-edge
export NMC_TEST_EDGE_DB="host=$SOCK port=$NMC_PG_PORT dbname=$NMC_DB user=nmc_edge"

# make soak: only the long soak (test/faults/soak.t), 10 minutes over 1,000 businesses.
if [ "${1:-}" = soak ]; then
    echo "==> soak: ${NMC_SOAK_SECONDS:=600} s over ${NMC_SOAK_BUSINESSES:=1000} businesses, faults on a schedule"
    export NMC_SOAK_SECONDS NMC_SOAK_BUSINESSES
    prove -v "$ROOT/test/faults/soak.t"
    exit
fi

echo "==> upgrade: every released version updated to this one equals a fresh install"
"$ROOT/test/upgrade/check.sh"

echo "==> pgTAP"
pg_prove -h "$SOCK" -p "$NMC_PG_PORT" -U postgres -d "$NMC_DB" --ext .sql -r "$ROOT/test/pgtap"

echo "==> edge HTTP tests"
prove -r "$ROOT/test/edge"

# The edge's HTTP tests again, against the edge built with AddressSanitizer and
# UndefinedBehaviorSanitizer (its own ports; the tests' extra edges are that
# build too): any report, a leak at exit included, fails.
echo "==> edge HTTP tests under AddressSanitizer and UndefinedBehaviorSanitizer"
make -s -C "$ROOT/edge" nmc-edge-sanitized
SAN_PORT=$((NMC_HTTP_PORT + 20))
SAN_LOG=$STATE/log/edge-sanitized.log
export ASAN_OPTIONS=exitcode=99:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
NMC_HTTP_PORT=$SAN_PORT NMC_WS_PORT=$((SAN_PORT + 1)) NMC_EDGE_DB="$NMC_TEST_EDGE_DB" NMC_DASHBOARD_DIR="$ROOT/dashboard/out" \
    setsid "$ROOT/edge/nmc-edge-sanitized" > "$SAN_LOG" 2>&1 < /dev/null &
SAN_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$SAN_PORT/healthz" 2>/dev/null && break
    sleep 0.1
done
NMC_TEST_BASE_URL=http://127.0.0.1:$SAN_PORT NMC_HTTP_PORT=$SAN_PORT NMC_WS_PORT=$((SAN_PORT + 1)) \
NMC_TEST_EDGE_BIN=$ROOT/edge/nmc-edge-sanitized NMC_TEST_EDGE_LOG=$SAN_LOG \
    prove "$ROOT"/test/edge/01_api_routes.t "$ROOT"/test/edge/04_websocket_feed.t "$ROOT"/test/edge/05_routes_from_openapi.t \
          "$ROOT"/test/edge/06_metrics.t "$ROOT"/test/edge/08_client_address.t "$ROOT"/test/edge/09_connection_flood.t \
          "$ROOT"/test/webhooks/07_database_outage_spool.t
kill -TERM "$SAN_PID"
san_status=0
wait "$SAN_PID" || san_status=$?
SAN_PID=
# (The tests' own extra edges log to edge-*.log beside it.)
if [ "$san_status" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$STATE"/log/edge-*.log; then
    echo "the sanitized edge exited $san_status or reported errors:" >&2
    grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$STATE"/log/edge-*.log | head -80 >&2
    exit 1
fi
echo "sanitized edge: clean exit, no AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report"
unset ASAN_OPTIONS UBSAN_OPTIONS

# Every C parser under libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer,
# briefly, from the committed corpus (make fuzz runs them for 5 minutes each).
echo "==> fuzzing: each C parser for ${NMC_TEST_FUZZ_SECONDS:-10} s (fuzz/README.md)"
make -s -C "$ROOT/fuzz" run SECONDS="${NMC_TEST_FUZZ_SECONDS:-10}"

echo "==> dispatcher and webhook tests (real HTTP to the fake providers)"
prove "$ROOT"/test/dispatcher/*.t "$ROOT"/test/webhooks/*.t

# Running it for real (test/ops, their own ports and clusters): installed as a
# service (make install into a temporary root, the systemd unit verified, a
# Debian cluster made by the installed set-up tool, the unit's ExecStart run as
# systemd would), nginx with TLS in front, backups restored into a fresh
# cluster, PgBouncer with two edges.
echo "==> operations: the installed service, nginx and TLS, backup and restore, PgBouncer with two edges"
prove "$ROOT"/test/ops/*.t

# Faults on a schedule under mixed load, briefly (make soak runs it for 10 minutes).
echo "==> soak, short: ${NMC_TEST_SOAK_SECONDS:-45} s (test/faults/soak.t)"
NMC_SOAK_SECONDS=${NMC_TEST_SOAK_SECONDS:-45} prove "$ROOT"/test/faults/soak.t

# --- dashboard: unit tests (node:test), then the owner's journey in Chromium (test/browser) ---
echo "==> dashboard unit tests"
(cd "$ROOT/dashboard" && npm test --silent)
echo "==> dashboard in the browser (Chromium, playwright-core)"
node --test "$ROOT"/test/browser/*.test.mjs
# --- end dashboard ---
