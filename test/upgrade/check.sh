#!/usr/bin/env bash
# check.sh — the upgrade check pitfalls.md asks for: in a throwaway cluster,
# install every earlier released version of the extension, ALTER EXTENSION
# UPDATE it to the current one, and compare its catalog (test/upgrade/catalog.sql)
# with a fresh install. Prints TAP; exits non-zero on any difference.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export NMC_PG_PORT=${NMC_UPGRADE_PG_PORT:-$(( ${NMC_PG_PORT:-54340} + 7 ))}
export NMC_DB=nmc_upgrade
export NMC_PG_EXTRA_CONF="fsync = off
synchronous_commit = off"
STACK=$ROOT/scripts/stack.sh
STATE=$("$STACK" state-dir)
SOCK=$STATE/run
OUT=$STATE/catalog
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$NMC_PG_PORT" -U postgres -d "$NMC_DB" "$@"; }

cleanup() {
    "$STACK" pg-stop >/dev/null 2>&1 || true
    rm -rf "$STATE"
}
trap cleanup EXIT
cleanup

"$STACK" pg-start >/dev/null
psql -X -q -h "$SOCK" -p "$NMC_PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $NMC_DB"
mkdir -p "$OUT"

current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/extension/nevermisscall.control")
# Every released version: the oldest has the one kept install script, the others
# are reached through the upgrade scripts (PostgreSQL installs them that way).
olds=$(ls "$ROOT"/extension/history/nevermisscall--*.sql 2>/dev/null \
       | sed -n 's/.*nevermisscall--\(.*\)\.sql$/\1/p' | sed 's/.*--//' | sort -uV)

fresh_install() {
    psql_db -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS nevermisscall CASCADE" \
            -c "DELETE FROM cron.job WHERE jobname LIKE 'nevermisscall%'" 2>/dev/null || true
    psql_db -c "SET client_min_messages = warning" -c "CREATE EXTENSION nevermisscall VERSION '$1' CASCADE"
}

fresh_install "$current"
psql_db -f "$ROOT/test/upgrade/catalog.sql" > "$OUT/fresh.txt"

n=0; failed=0
echo "1..$(echo "$olds" | grep -c .)"
for v in $olds; do
    n=$((n + 1))
    fresh_install "$v"
    psql_db -c "SET client_min_messages = warning" -c "ALTER EXTENSION nevermisscall UPDATE"
    psql_db -f "$ROOT/test/upgrade/catalog.sql" > "$OUT/from-$v.txt"
    if diff -u "$OUT/fresh.txt" "$OUT/from-$v.txt" > "$OUT/from-$v.diff"; then
        echo "ok $n - $v updated to $current has the catalog of a fresh $current install"
    else
        echo "not ok $n - $v updated to $current differs from a fresh $current install (- fresh, + updated):"
        sed 's/^/# /' "$OUT/from-$v.diff" | head -200
        failed=1
    fi
done
exit $failed
