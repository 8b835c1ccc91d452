#!/usr/bin/env bash
# bench/baseline.sh — the previous version's code beside this one, so that
# `make bench` measures both side by side in the same run (bench/run.sh):
#   baseline.sh up    checks out NMC_BENCH_BASELINE (a git ref; default the last
#                     commit before this version was opened) into
#                     .nmc/baseline-src, builds and installs its extension and
#                     edge, starts its own cluster and edge on the bench ports
#                     + 10, and prints "<commit> <state dir> <pg port> <http port>"
#   baseline.sh down  stops it, removes its data and checkout, and installs this
#                     checkout's extension again.
# A running cluster keeps the library it loaded at start, so the bench's own
# cluster is not disturbed by the other version's install.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/.nmc/baseline-src
export NMC_PG_PORT=$(( ${NMC_PG_PORT:-54360} + 10 ))
export NMC_HTTP_PORT=$(( ${NMC_HTTP_PORT:-18090} + 10 ))
export NMC_WS_PORT=$(( NMC_HTTP_PORT + 1 ))
export NMC_DB=${NMC_DB:-nmc_bench}
export NMC_DASHBOARD_DIR=$ROOT/dashboard/out

baseline_commit() {
    if [ -n "${NMC_BENCH_BASELINE:-}" ]; then
        git -C "$ROOT" rev-parse --verify "$NMC_BENCH_BASELINE^{commit}"
        return
    fi
    local current opened
    current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/extension/nevermisscall.control")
    opened=$(git -C "$ROOT" log --format=%H -S"default_version = '$current'" -- extension/nevermisscall.control | tail -1)
    git -C "$ROOT" rev-parse --verify "$opened^"
}

case ${1:-} in
up)
    commit=$(baseline_commit)
    rm -rf "$SRC"
    git -C "$ROOT" worktree prune
    git -C "$ROOT" worktree add --detach -f "$SRC" "$commit" >/dev/null 2>&1
    make -s -C "$SRC/extension" >/dev/null
    make -s -C "$SRC/extension" install >/dev/null
    make -s -C "$SRC/edge" >/dev/null
    "$SRC/scripts/stack.sh" up >/dev/null
    echo "$commit $("$SRC/scripts/stack.sh" state-dir) $NMC_PG_PORT $NMC_HTTP_PORT"
    ;;
down)
    if [ -x "$SRC/scripts/stack.sh" ]; then
        "$SRC/scripts/stack.sh" stop >/dev/null 2>&1 || true
        rm -rf "$("$SRC/scripts/stack.sh" state-dir)"
    fi
    git -C "$ROOT" worktree remove --force "$SRC" 2>/dev/null || rm -rf "$SRC"
    git -C "$ROOT" worktree prune
    make -s -C "$ROOT/extension" install >/dev/null
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
