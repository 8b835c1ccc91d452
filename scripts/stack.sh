#!/usr/bin/env bash
# stack.sh — sets up and runs the whole NeverMissCall stack on this machine:
# Debian packages, build, a project-local Postgres cluster (run as postgres),
# the extension, settings from the NMC_* environment, and the edge daemon.
# Used by `make run`, `make stop`, `make logs` and scripts/test.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
. "$ROOT/scripts/lib/config_file.sh"
. "$ROOT/scripts/lib/cluster.sh"
# Optional: a configuration file (docs/operations.md) under the environment.
if [ -n "${NMC_CONFIG_FILE:-}" ]; then nmc_config_file_load "$NMC_CONFIG_FILE"; fi

NMC_PG_PORT=${NMC_PG_PORT:-54330}
nmc_settings_defaults
NMC_EDGE_THREADS=${NMC_EDGE_THREADS:-16}
NMC_DASHBOARD_DIR=${NMC_DASHBOARD_DIR:-$ROOT/dashboard/out}

PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
libtap-parser-sourcehandler-pgtap-perl libcurl4-openssl-dev libmicrohttpd-dev
libwebsockets-dev libpq-dev libssl-dev make gcc pkg-config curl valgrind
chromium clang libclang-rt-14-dev systemd nginx pgbouncer openssl libio-socket-ssl-perl libnet-ssleay-perl"

say() { printf '==> %s\n' "$*"; }

# The cluster lives in the checkout when the postgres user can reach it,
# else under /var/lib/nevermisscall (a checkout under /root is unreachable).
state_dir() {
    if [ -n "${NMC_STATE_DIR:-}" ]; then
        echo "$NMC_STATE_DIR"
    elif id postgres >/dev/null 2>&1 && runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
        echo "$ROOT/.nmc/$NMC_PG_PORT"
    else
        echo "/var/lib/nevermisscall/$NMC_PG_PORT"
    fi
}

init_paths() {
    STATE=$(state_dir)
    DATA=$STATE/data
    SOCK=$STATE/run
    LOGDIR=$STATE/log
    EDGE_PID=$STATE/edge.pid
}

as_pg() { (cd / && runuser -u postgres -- "$@"); }
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$NMC_PG_PORT" -U postgres "$@"; }

cmd_deps() {
    local missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    if [ -z "$missing" ]; then
        say "Debian packages: all present"
        return
    fi
    say "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    # The packaged default cluster is not ours; keep it from holding port 5432 for nothing.
    pg_ctlcluster 15 main stop 2>/dev/null || true
    # Nor are the packaged nginx (port 80) and PgBouncer (6432) services: the
    # tests run their own (test/ops); docs/proxy.md and docs/scaling.md set them up.
    for service in nginx pgbouncer; do
        case " $missing " in *" $service "*) invoke-rc.d "$service" stop >/dev/null 2>&1 || true ;; esac
    done
}

cmd_build() {
    say "building the extension and the edge"
    make -s -C "$ROOT/extension" >/dev/null
    make -s -C "$ROOT/extension" install >/dev/null
    make -s -C "$ROOT/edge" >/dev/null
    build_dashboard
}

# --- dashboard (Next.js, exported into dashboard/out; see docs/dashboard.md) ---
# npm ci only when the lockfile changed, next build only when a source changed;
# one build at a time (a make run and a make test may start together).
build_dashboard() {
    (flock 9; build_dashboard_locked) 9< "$ROOT/dashboard/package.json"
}

build_dashboard_locked() {
    local dash=$ROOT/dashboard lock_sum src_sum
    command -v npm >/dev/null && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 9) ? 0 : 1)' \
        || { echo "Node.js 20.9 or newer and npm are needed to build the dashboard (Next.js 16); found: $(node --version 2>/dev/null || echo none)" >&2; exit 1; }
    lock_sum=$(md5sum < "$dash/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$dash/node_modules/.nmc-lock.md5" 2>/dev/null)" != "$lock_sum" ]; then
        say "installing the dashboard's npm packages (npm ci)"
        (cd "$dash" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$lock_sum" > "$dash/node_modules/.nmc-lock.md5"
    fi
    src_sum=$(cd "$dash" && find app components lib public package.json package-lock.json next.config.mjs tsconfig.json \
                  -type f -print0 2>/dev/null | sort -z | xargs -0 md5sum | md5sum | cut -d' ' -f1)
    if [ -f "$dash/out/index.html" ] && [ "$(cat "$dash/node_modules/.nmc-build.md5" 2>/dev/null)" = "$src_sum" ]; then
        say "dashboard: up to date"
        return
    fi
    say "building the dashboard (next build → dashboard/out)"
    (cd "$dash" && NEXT_TELEMETRY_DISABLED=1 npx --no-install next build > "$dash/node_modules/.nmc-build.log" 2>&1) || {
        tail -30 "$dash/node_modules/.nmc-build.log" >&2
        echo "the dashboard build failed; full log: dashboard/node_modules/.nmc-build.log" >&2
        exit 1
    }
    echo "$src_sum" > "$dash/node_modules/.nmc-build.md5"
}
# --- end dashboard ---

write_conf() {
    cat > "$1" <<CONF
# Written by scripts/stack.sh on every start; edit the script, not this file.
port = $NMC_PG_PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
$(nmc_server_settings "$NMC_DB")
log_line_prefix = '%m [%p] %q%u@%d '
${NMC_PG_EXTRA_CONF:-}
CONF
}

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start_cluster() {
    mkdir -p "$STATE" "$LOGDIR"
    chown postgres: "$STATE"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        say "creating the cluster in $DATA"
        install -d -o postgres -g postgres -m 700 "$DATA"
        as_pg "$PGBIN/initdb" -D "$DATA" --auth-local=trust --auth-host=scram-sha-256 \
            -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
        echo "include 'nevermisscall.conf'" >> "$DATA/postgresql.conf"
    fi
    install -d -o postgres -g postgres -m 755 "$SOCK"
    touch "$LOGDIR/postgres.log" && chown postgres: "$LOGDIR/postgres.log"
    write_conf "$STATE/nevermisscall.conf.new"
    install -o postgres -g postgres -m 600 "$STATE/nevermisscall.conf.new" "$DATA/nevermisscall.conf"
    rm -f "$STATE/nevermisscall.conf.new"

    # The preloaded library and postmaster settings are read at start only.
    local stamp
    stamp=$(cat "$(pg_config --pkglibdir)/nevermisscall.so" "$DATA/nevermisscall.conf" | md5sum | cut -d' ' -f1)
    if pg_running; then
        if [ "$(cat "$STATE/started.md5" 2>/dev/null)" != "$stamp" ]; then
            say "restarting Postgres: the extension library or its settings changed"
            as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGDIR/postgres.log" -w -t 60 restart -m fast >/dev/null
        fi
    else
        say "starting Postgres on port $NMC_PG_PORT"
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGDIR/postgres.log" -w -t 60 start >/dev/null
    fi
    echo "$stamp" > "$STATE/started.md5"
}

nmc_psql() { psql_su "$@"; }

setup_database() {
    nmc_database_setup "$NMC_DB"
    nmc_settings_sync "$NMC_DB"
}

edge_running() { [ -f "$EDGE_PID" ] && kill -0 "$(cat "$EDGE_PID")" 2>/dev/null; }

stop_edge() {
    if edge_running; then
        local pid
        pid=$(cat "$EDGE_PID")
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$EDGE_PID"
}

# The edge is the only process on the network: it runs as its own system user
# (EDGE_USER), never root, and without the provider secrets in its environment
# (it needs none: the database holds them). Its files must be readable to that
# user: a dashboard inside a checkout it cannot enter is served from a copy.
EDGE_USER=$NMC_EDGE_USER
edge_identity() {
    [ "$(id -u)" = 0 ] || return 0
    nmc_edge_user
    as_edge() { setpriv --reuid="$EDGE_USER" --regid="$EDGE_USER" --clear-groups "$@"; }
    if ! as_edge test -r "$NMC_DASHBOARD_DIR/index.html" 2>/dev/null || ! as_edge test -x "$ROOT/edge/nmc-edge" 2>/dev/null; then
        rm -rf "$STATE/edge-files"
        mkdir -p "$STATE/edge-files"
        cp -r "$NMC_DASHBOARD_DIR" "$STATE/edge-files/dashboard" 2>/dev/null || mkdir -p "$STATE/edge-files/dashboard"
        install -m 755 "$ROOT/edge/nmc-edge" "$STATE/edge-files/nmc-edge"
        chmod -R a+rX "$STATE/edge-files"
        EDGE_DASHBOARD=$STATE/edge-files/dashboard
        EDGE_BIN=$STATE/edge-files/nmc-edge
    fi
    mkdir -p "$EDGE_SPOOL" && chown "$EDGE_USER:" "$EDGE_SPOOL" && chmod 700 "$EDGE_SPOOL"
    if ! as_edge test -w "$EDGE_SPOOL" 2>/dev/null; then
        EDGE_SPOOL=/var/lib/nevermisscall/spool-$NMC_HTTP_PORT
        mkdir -p "$EDGE_SPOOL" && chown "$EDGE_USER:" "$EDGE_SPOOL" && chmod 700 "$EDGE_SPOOL"
    fi
}

start_edge() {
    stop_edge
    EDGE_DASHBOARD=$NMC_DASHBOARD_DIR
    EDGE_BIN=$ROOT/edge/nmc-edge
    # Twilio's webhooks kept while the database is down (edge/webhook_spool.h).
    EDGE_SPOOL=${NMC_EDGE_SPOOL_DIR:-$STATE/spool}
    mkdir -p "$EDGE_SPOOL"
    edge_identity
    local drop=""
    [ "$(id -u)" = 0 ] && drop="setpriv --reuid=$EDGE_USER --regid=$EDGE_USER --clear-groups"
    say "starting the edge on port $NMC_HTTP_PORT (live feed WebSocket on $NMC_WS_PORT)${drop:+, as $EDGE_USER}"
    env $(printf -- '-u %s ' $NMC_SECRET_KEYS) -u NMC_CONFIG_FILE \
    NMC_HTTP_PORT=$NMC_HTTP_PORT NMC_WS_PORT=$NMC_WS_PORT NMC_EDGE_THREADS=$NMC_EDGE_THREADS NMC_DASHBOARD_DIR=$EDGE_DASHBOARD \
    NMC_EDGE_SPOOL_DIR=$EDGE_SPOOL \
    NMC_EDGE_DB="host=$SOCK port=$NMC_PG_PORT dbname=$NMC_DB user=nmc_edge application_name=nmc-edge" \
        setsid bash -c 'ulimit -n 65536 2>/dev/null; exec $0 "$1"' "$drop" "$EDGE_BIN" >> "$LOGDIR/edge.log" 2>&1 < /dev/null &
    echo $! > "$EDGE_PID"
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$NMC_HTTP_PORT/healthz" 2>/dev/null; then
            return 0
        fi
        edge_running || { echo "the edge exited; see $LOGDIR/edge.log" >&2; tail -5 "$LOGDIR/edge.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "the edge did not answer /healthz within 10 s; see $LOGDIR/edge.log" >&2
    exit 1
}

cmd_up() {
    init_paths
    start_cluster
    setup_database
    start_edge
}

cmd_stop() {
    init_paths
    stop_edge
    if [ -f "$DATA/PG_VERSION" ] && pg_running; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -w -t 60 stop -m fast >/dev/null
    fi
    say "stopped (data kept in $DATA)"
}

cmd_print() {
    init_paths
    local sandbox
    sandbox=$(psql_su -d "$NMC_DB" -tAc "SELECT nmc.sandbox_mode()")
    echo
    echo "NeverMissCall is running."
    echo "  Dashboard:  http://localhost:$NMC_HTTP_PORT/"
    echo "  API:        http://localhost:$NMC_HTTP_PORT/api/  (health: /healthz)"
    echo "  Live feed:  ws://localhost:$NMC_WS_PORT/ws  (WebSocket; GET /api/realtime)"
    echo "  Database:   psql -h $SOCK -p $NMC_PG_PORT -U postgres $NMC_DB"
    echo "  Data:       $DATA"
    echo "  Logs:       $LOGDIR/edge.log, $LOGDIR/postgres.log  (make logs follows them)"
    echo "  Stop:       make stop"
    if [ "$sandbox" = "t" ]; then
        echo
        echo "  SANDBOX MODE: no Twilio credentials (NMC_TWILIO_ACCOUNT_SID / NMC_TWILIO_AUTH_TOKEN)."
        echo "  Texts are recorded and simulated, never sent."
    fi
}

cmd_logs() {
    init_paths
    exec tail -n 50 -F "$LOGDIR/edge.log" "$LOGDIR/postgres.log"
}

case "${1:-}" in
    deps) cmd_deps ;;
    build) cmd_build ;;
    dashboard) build_dashboard ;;
    up) cmd_up ;;
    print) cmd_print ;;
    stop) cmd_stop ;;
    logs) cmd_logs ;;
    state-dir) init_paths; echo "$STATE" ;;
    pg-stop) init_paths; as_pg "$PGBIN/pg_ctl" -D "$DATA" -w -t 60 stop -m fast >/dev/null ;;
    pg-start) init_paths; start_cluster ;;
    edge-restart) init_paths; start_edge >/dev/null ;;
    psql) shift; init_paths; psql_su -d "$NMC_DB" "$@" ;;
    *) echo "usage: $0 deps|build|dashboard|up|print|stop|logs|state-dir|psql|pg-stop|pg-start|edge-restart" >&2; exit 2 ;;
esac
