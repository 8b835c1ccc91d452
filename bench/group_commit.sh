#!/usr/bin/env bash
# bench/group_commit.sh — PostgreSQL's group commit (commit_delay,
# commit_siblings) at fixed webhook rates, configuration after configuration
# on ONE stack, in rounds (NMC_BENCH_ROUNDS, default 2), so that
# a noisy host disturbs each alike (NMC_BENCH_RATES: a space-separated
# list here; NMC_BENCH_KINDS: "dial sms" or either). NMC_BENCH_CONFIGS lists
# "commit_delay/commit_siblings" (default 0/5 100/2 100/5 500/2 500/5; the
# shipped setting is 100/5, scripts/lib/cluster.sh), set with ALTER SYSTEM and
# a reload, then bench/group_commit.pl runs. Issue 21 ran it against the
# edge's own group commit, since removed (docs/performance.md). Production
# settings as bench/run.sh (fsync and synchronous_commit on). Never part of
# pass/fail.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NMC_PG_PORT=${NMC_BENCH_PG_PORT:-54360}
export NMC_HTTP_PORT=${NMC_BENCH_HTTP_PORT:-18090}
export NMC_WS_PORT=${NMC_BENCH_WS_PORT:-18091}
export NMC_DB=nmc_bench
unset NMC_TWILIO_ACCOUNT_SID NMC_TWILIO_AUTH_TOKEN NMC_OPENAI_API_KEY NMC_MAPS_API_KEY
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
# NMC_BENCH_STACK_UP=1: the stack is already up on these ports (started
# apart, e.g. while holding a lock other installs take); it is stopped at the end.
if [ -z "${NMC_BENCH_STACK_UP:-}" ]; then
    cleanup
    "$STACK" up >/dev/null
fi
make -s -C "$ROOT/test/fakes" >/dev/null
FAKE_PORT=$FAKE_PORT setsid "$ROOT/test/fakes/nmc-fake-providers" > "$STATE/log/fake-providers.log" 2>&1 < /dev/null &
FAKE_PID=$!

echo "group commit bench — $(date -u +%FT%TZ), $(nproc) cores, edge threads ${NMC_EDGE_THREADS:-16}, fsync and synchronous_commit on"
# Every configuration runs each load in turn before the next load, so a
# neighbour's burst on a shared host falls on all of them alike.
n=0   # each run's callers and customers are new (NMC_BENCH_SEQ)
for round in $(seq 1 "${NMC_BENCH_ROUNDS:-2}"); do
  for kind in ${NMC_BENCH_KINDS:-dial sms}; do
    for spread in 1 1000; do
      for rate in ${NMC_BENCH_RATES:-500 1000 2000}; do
        for config in ${NMC_BENCH_CONFIGS:-0/5 100/2 100/5 500/2 500/5}; do
            "$STACK" psql -c "ALTER SYSTEM SET commit_delay = ${config%/*}" -c "ALTER SYSTEM SET commit_siblings = ${config#*/}" \
                -c "SELECT pg_reload_conf()" >/dev/null
            n=$((n + 1))
            NMC_BENCH_SEQ=$((n * 10000)) NMC_BENCH_LABEL="r$round $config" NMC_BENCH_STATE=$STATE NMC_BENCH_KINDS=$kind NMC_BENCH_SPREADS=$spread \
                NMC_BENCH_RATES=$rate NMC_BENCH_FAKE_URL=http://127.0.0.1:$FAKE_PORT "$ROOT/bench/group_commit.pl"
        done
      done
    done
  done
done
