#!/usr/bin/env bash
# bench/run.sh — `make bench`: starts a throwaway stack on its own ports with
# production settings (fsync and synchronous_commit on, bcrypt cost 12) and
# the fake providers, and prints figures for the edge + API path and for the
# dispatcher (bench/dispatcher.pl) and missed calls (bench/webhooks.pl)
# and the live feed (bench/feed.pl) and alerts to the owner's phone
# (bench/alerts.pl); missed calls are measured for the previous version too
# (bench/baseline.sh). NMC_BENCH_ONLY=api|dispatcher|webhooks|alerts|feed runs one part. Never part of pass/fail.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NMC_PG_PORT=${NMC_BENCH_PG_PORT:-54360}
export NMC_HTTP_PORT=${NMC_BENCH_HTTP_PORT:-18090}
export NMC_WS_PORT=${NMC_BENCH_WS_PORT:-18091}
export NMC_DB=nmc_bench
export NMC_BCRYPT_COST=${NMC_BCRYPT_COST:-12}
DURATION=${NMC_BENCH_SECONDS:-10}
unset NMC_TWILIO_ACCOUNT_SID NMC_TWILIO_AUTH_TOKEN NMC_OPENAI_API_KEY NMC_MAPS_API_KEY

dpkg-query -W -f='${Status}' wrk 2>/dev/null | grep -q 'install ok installed' \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

# NMC_BENCH_PROFILE=1: count time per SQL function (bench/feed.pl prints it); slows things a little.
[ -n "${NMC_BENCH_PROFILE:-}" ] && export NMC_PG_EXTRA_CONF="track_functions = all"
STACK=$ROOT/scripts/stack.sh
STATE=$("$STACK" state-dir)
FAKE_PORT=${NMC_BENCH_FAKE_PORT:-18998}
FAKE_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    "$STACK" stop >/dev/null 2>&1 || true
    [ -n "${NMC_BENCH_KEEP:-}" ] || rm -rf "$STATE"
}
trap cleanup EXIT
cleanup
make -s -C "$ROOT/test/fakes" >/dev/null
make -s -C "$ROOT/bench" ws_clients >/dev/null
"$STACK" up >/dev/null
FAKE_PORT=$FAKE_PORT setsid "$ROOT/test/fakes/nmc-fake-providers" > "$STATE/log/fake-providers.log" 2>&1 < /dev/null &
FAKE_PID=$!

BASE=http://127.0.0.1:$NMC_HTTP_PORT
EMAIL=bench-$$@example.com
TOKEN=$(curl -sf -X POST "$BASE/api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"bench password\",\"name\":\"B\",\"business_name\":\"Bench Co\",\"trade_type\":\"hvac\"}" \
    | sed 's/.*"token": "\([^"]*\)".*/\1/')

echo "NeverMissCall bench — $(date -u +%FT%TZ), $(nproc) cores, edge threads ${NMC_EDGE_THREADS:-16},"
echo "fsync on, synchronous_commit on, bcrypt cost $NMC_BCRYPT_COST, wrk over loopback with keep-alive, ${DURATION}s per run"
echo

run() {
    local label=$1; shift
    local out
    out=$(wrk --latency "$@" 2>&1)
    printf '%-44s %10s req/s   p50 %8s   p99 %8s\n' "$label" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
        "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}

if [ -z "${NMC_BENCH_ONLY:-}" ] || [ "$NMC_BENCH_ONLY" = api ]; then
run "GET /healthz (4 connections)" -t 2 -c 4 -d "${DURATION}s" "$BASE/healthz"
run "GET /api/me, JWT verified (1 connection)" -t 1 -c 1 -d "${DURATION}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/me"
run "GET /api/me, JWT verified (4 connections)" -t 2 -c 4 -d "${DURATION}s" -H "Authorization: Bearer $TOKEN" "$BASE/api/me"
cat > "$STATE/patch.lua" <<'LUA'
wrk.method = "PATCH"
wrk.body = '{"city":"Austin"}'
wrk.headers["Content-Type"] = "application/json"
LUA
run "PATCH /api/business, a commit (4 connections)" -t 2 -c 4 -d "${DURATION}s" -s "$STATE/patch.lua" \
    -H "Authorization: Bearer $TOKEN" "$BASE/api/business"
cat > "$STATE/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"email":"$EMAIL","password":"bench password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
run "POST /api/auth/login, bcrypt $NMC_BCRYPT_COST (2 connections)" -t 2 -c 2 -d "${DURATION}s" -s "$STATE/login.lua" "$BASE/api/auth/login"
run "GET / static file (4 connections)" -t 2 -c 4 -d "${DURATION}s" "$BASE/"
fi

echo
if [ -z "${NMC_BENCH_ONLY:-}" ] || [ "$NMC_BENCH_ONLY" = dispatcher ]; then
NMC_BENCH_STATE=$STATE NMC_BENCH_FAKE_URL=http://127.0.0.1:$FAKE_PORT "$ROOT/bench/dispatcher.pl"
fi

echo
if [ -z "${NMC_BENCH_ONLY:-}" ] || [ "$NMC_BENCH_ONLY" = webhooks ]; then
# The previous version first, in its own cluster (bench/baseline.sh), then this
# one: side by side in the same run. NMC_BENCH_BASELINE=none skips it.
if [ "${NMC_BENCH_BASELINE:-}" != none ]; then
    trap '"$ROOT/bench/baseline.sh" down >/dev/null 2>&1 || true; cleanup' EXIT
    read -r b_commit b_state b_pg b_http < <("$ROOT/bench/baseline.sh" up)
    NMC_BENCH_LABEL="previous version (${b_commit:0:7})" NMC_BENCH_STATE=$b_state NMC_PG_PORT=$b_pg NMC_HTTP_PORT=$b_http \
        NMC_BENCH_FAKE_URL=http://127.0.0.1:$FAKE_PORT "$ROOT/bench/webhooks.pl"
    "$ROOT/bench/baseline.sh" down
    trap cleanup EXIT
    echo
fi
NMC_BENCH_LABEL="this version ($(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . 2>/dev/null || echo ', with changes'))" \
    NMC_BENCH_STATE=$STATE NMC_BENCH_FAKE_URL=http://127.0.0.1:$FAKE_PORT "$ROOT/bench/webhooks.pl"
fi

echo
if [ -z "${NMC_BENCH_ONLY:-}" ] || [ "$NMC_BENCH_ONLY" = alerts ]; then
NMC_BENCH_STATE=$STATE NMC_BENCH_FAKE_URL=http://127.0.0.1:$FAKE_PORT "$ROOT/bench/alerts.pl"
fi

echo
if [ -z "${NMC_BENCH_ONLY:-}" ] || [ "$NMC_BENCH_ONLY" = feed ]; then
NMC_BENCH_STATE=$STATE "$ROOT/bench/feed.pl"
fi
