# cluster.sh — what PostgreSQL and the machine need to run NeverMissCall, in
# one place for the dev stack (scripts/stack.sh) and an installed service
# (deploy/nevermisscall-setup): the server settings, the database with its
# extension, the NMC_* settings synced into nmc.settings, and the edge's own
# system user. Callers define nmc_psql: psql as the database superuser on
# the right server, with -X -q -v ON_ERROR_STOP=1.

NMC_EDGE_USER=nmc-edge
# The settings only the database may hold (never in the edge's environment,
# never on a command line, never in the configuration file the edge reads).
NMC_SECRET_KEYS="NMC_TWILIO_AUTH_TOKEN NMC_OPENAI_API_KEY NMC_MAPS_API_KEY"

# nmc_settings_defaults: the defaults of the settings that name the edge's
# ports and public URLs and the database (README's configuration table).
nmc_settings_defaults() {
    NMC_HTTP_PORT=${NMC_HTTP_PORT:-8080}
    NMC_WS_PORT=${NMC_WS_PORT:-$((NMC_HTTP_PORT + 1))}
    NMC_DB=${NMC_DB:-nevermisscall}
    NMC_PUBLIC_URL=${NMC_PUBLIC_URL:-http://localhost:$NMC_HTTP_PORT}
    NMC_PUBLIC_WS_URL=${NMC_PUBLIC_WS_URL:-ws://localhost:$NMC_WS_PORT/ws}
}

# nmc_server_settings DB: the postgresql.conf lines the extension needs.
nmc_server_settings() {
    cat <<CONF
shared_preload_libraries = 'pg_cron,nevermisscall'
cron.database_name = '$1'
nmc.database = '$1'
cron.use_background_workers = on
max_worker_processes = 16
# The inbox and the job queue are rewritten all day: look for vacuum work often.
autovacuum_naptime = 10s
# Concurrent webhook commits share one WAL flush: a commit waits up to 100 µs
# for others when 5 more transactions are open (docs/performance.md, "Group commit").
commit_delay = 100
commit_siblings = 5
CONF
}

# nmc_database_setup DB: the database, the extension at this version.
nmc_database_setup() {
    local db=$1
    if [ -z "$(nmc_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        echo "==> creating database $db"
        nmc_psql -d postgres -c "CREATE DATABASE \"$db\""
    fi
    nmc_psql -d "$db" -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION IF NOT EXISTS nevermisscall CASCADE" \
        -c "ALTER EXTENSION nevermisscall UPDATE"
}

# nmc_settings_sync DB: the NMC_* environment into nmc.settings (README's table).
nmc_settings_sync() {
    local db=$1
    # Secrets reach psql through its environment (readable by root and its
    # user alone) and \getenv, never on its command line (/proc/*/cmdline is
    # world-readable).
    NMC_SECRET_TWILIO=${NMC_TWILIO_AUTH_TOKEN:-} NMC_SECRET_OPENAI=${NMC_OPENAI_API_KEY:-} NMC_SECRET_MAPS=${NMC_MAPS_API_KEY:-} \
    nmc_psql -d "$db" \
        -v public_url="$NMC_PUBLIC_URL" \
        -v public_ws_url="$NMC_PUBLIC_WS_URL" \
        -v twilio_account_sid="${NMC_TWILIO_ACCOUNT_SID:-}" \
        -v twilio_api_base="${NMC_TWILIO_API_BASE:-https://api.twilio.com}" \
        -v openai_api_base="${NMC_OPENAI_API_BASE:-https://api.openai.com/v1}" \
        -v openai_model="${NMC_OPENAI_MODEL:-gpt-4o-mini}" \
        -v maps_api_base="${NMC_MAPS_API_BASE:-https://maps.googleapis.com}" \
        -v bcrypt_cost="${NMC_BCRYPT_COST:-12}" -o /dev/null <<'SQL'
\getenv twilio_auth_token NMC_SECRET_TWILIO
\getenv openai_api_key NMC_SECRET_OPENAI
\getenv maps_api_key NMC_SECRET_MAPS
SELECT nmc.configure(jsonb_build_object(
    'public_url', :'public_url',
    'public_ws_url', :'public_ws_url',
    'twilio_account_sid', :'twilio_account_sid',
    'twilio_auth_token', :'twilio_auth_token',
    'twilio_api_base', :'twilio_api_base',
    'openai_api_key', :'openai_api_key',
    'openai_api_base', :'openai_api_base',
    'openai_model', :'openai_model',
    'maps_api_key', :'maps_api_key',
    'maps_api_base', :'maps_api_base',
    'bcrypt_cost', :'bcrypt_cost'));
SQL
}

# nmc_edge_user: the unprivileged system user the edge runs as.
nmc_edge_user() {
    id "$NMC_EDGE_USER" >/dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$NMC_EDGE_USER"
}
