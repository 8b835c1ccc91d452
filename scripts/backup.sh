#!/usr/bin/env bash
# backup.sh — `make backup` and `make restore`: base backups with pg_basebackup
# (checked with pg_verifybackup) plus continuous WAL archiving into one backup
# folder, and restores from them into a fresh data directory, to the end of
# the archive or to a point in time. docs/backups.md says how and the limits.
#
#   backup.sh archive                  turn WAL archiving on (restarts Postgres once)
#   backup.sh backup                   archiving on, a base backup, verified, old ones pruned
#   backup.sh list                     the base backups, oldest first
#   backup.sh restore [--backup NAME] [--until TIME] [--into DATADIR]
#
# The cluster is make run's (NMC_PG_PORT, its socket in the stack's state folder)
# unless NMC_PG_HOST names another socket folder; NMC_BACKUP_DIR (default
# /var/backups/nevermisscall/<port>) holds base/<UTC time>/ and wal/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
export NMC_PG_PORT=${NMC_PG_PORT:-54330}
NMC_DB=${NMC_DB:-nevermisscall}
STACK=$ROOT/scripts/stack.sh
STATE=$("$STACK" state-dir)
PGHOST_DIR=${NMC_PG_HOST:-$STATE/run}
BACKUP_DIR=${NMC_BACKUP_DIR:-/var/backups/nevermisscall/$NMC_PG_PORT}
KEEP=${NMC_BACKUP_KEEP:-7}
# A WAL segment is archived when full or, at the latest, this long after its
# first write: the most a restore to "now" can lose when the server is gone.
# Each switch archives a whole 16 MB segment (gzip makes the unused rest small).
ARCHIVE_TIMEOUT=${NMC_BACKUP_ARCHIVE_TIMEOUT:-300}

say() { printf '==> %s\n' "$*"; }
die() { printf 'backup.sh: %s\n' "$*" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
psql_su() { psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PGHOST_DIR" -p "$NMC_PG_PORT" -U postgres -d "$NMC_DB" "$@"; }

ensure_backup_dir() {
    mkdir -p "$BACKUP_DIR/base" "$BACKUP_DIR/wal"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$BACKUP_DIR"
    chmod 700 "$BACKUP_DIR"
    as_pg test -w "$BACKUP_DIR/wal" || die "the postgres user cannot write to $BACKUP_DIR/wal"
}

# Restarts the cluster the way it was started: Debian's pg_ctlcluster for a
# cluster it manages, else make run's own stack.
restart_postgres() {
    local cluster
    cluster=$(pg_lsclusters -h 2>/dev/null | awk -v p="$NMC_PG_PORT" '$3 == p { print $1 " " $2 }')
    if [ -n "$cluster" ]; then
        pg_ctlcluster $cluster restart
    elif [ -z "${NMC_PG_HOST:-}" ]; then
        "$STACK" pg-stop && "$STACK" pg-start >/dev/null
    else
        die "archiving is configured; restart PostgreSQL on port $NMC_PG_PORT, then run this again"
    fi
}

cmd_archive() {
    ensure_backup_dir
    local wal=$BACKUP_DIR/wal
    # Never overwrite a segment already archived; compress, flush, then rename,
    # so a crash mid-copy leaves no short file under the real name.
    local command="test ! -f '$wal/%f.gz' && gzip -c '%p' > '$wal/%f.gz.partial' && sync '$wal/%f.gz.partial' && mv '$wal/%f.gz.partial' '$wal/%f.gz'"
    psql_su -c "ALTER SYSTEM SET wal_level = 'replica'" \
            -c "ALTER SYSTEM SET archive_mode = 'on'" \
            -c "ALTER SYSTEM SET archive_command = \$\$$command\$\$" \
            -c "ALTER SYSTEM SET archive_timeout = '${ARCHIVE_TIMEOUT}s'" \
            -c "SELECT pg_reload_conf()" >/dev/null
    if [ "$(psql_su -c 'SHOW archive_mode')" != on ] || [ "$(psql_su -c 'SHOW wal_level')" != replica ]; then
        say "restarting PostgreSQL once: archive_mode takes effect at start"
        restart_postgres
    fi
    # The reload may land after the first SHOW: wait until the command is live.
    for _ in $(seq 1 50); do
        [ "$(psql_su -c 'SHOW archive_command')" = "$command" ] && break
        sleep 0.1
    done
    say "WAL archiving on, into $wal (a segment at the latest ${ARCHIVE_TIMEOUT} s after its first write)"
}

# A backup is complete when its .done file (its end time) exists.
backups() { find "$BACKUP_DIR/base" -maxdepth 1 -name '*.done' -printf '%f\n' 2>/dev/null | sed 's/\.done$//' | sort; }

cmd_backup() {
    cmd_archive
    local name target
    name=$(date -u +%Y%m%dT%H%M%SZ)
    target=$BACKUP_DIR/base/$name
    [ -e "$target" ] && die "$target exists already"
    say "base backup into $target"
    # -X stream: the WAL the backup needs travels with it, so it restores even
    # without the archive; the archive carries it further, to a point in time.
    as_pg "$PGBIN/pg_basebackup" -h "$PGHOST_DIR" -p "$NMC_PG_PORT" -U postgres -D "$target" -Fp -X stream \
        -c fast --label "nevermisscall $name" --no-password
    as_pg "$PGBIN/pg_verifybackup" -q "$target"
    date -u '+%Y-%m-%d %H:%M:%S.%N+00' | as_pg tee "$target.done" >/dev/null
    say "verified (pg_verifybackup): $name, $(du -sh "$target" | cut -f1)"
    prune
}

# Keeps the newest KEEP base backups and the WAL the oldest of them needs.
prune() {
    local all old oldest start_wal
    all=$(backups)
    old=$(echo "$all" | head -n -"$KEEP")
    for b in $old; do
        rm -rf "${BACKUP_DIR:?}/base/$b" "$BACKUP_DIR/base/$b.done"
        say "pruned base backup $b"
    done
    oldest=$(backups | head -1)
    [ -n "$oldest" ] || return 0
    start_wal=$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]*\))$/\1/p' "$BACKUP_DIR/base/$oldest/backup_label")
    if [ -n "$start_wal" ]; then
        as_pg "$PGBIN/pg_archivecleanup" -x .gz "$BACKUP_DIR/wal" "$start_wal"
    fi
}

cmd_list() {
    local b
    for b in $(backups); do
        printf '%s  ended %s  %s\n' "$b" "$(cat "$BACKUP_DIR/base/$b.done")" "$(du -sh "$BACKUP_DIR/base/$b" | cut -f1)"
    done
    printf 'WAL archive: %s segment(s) in %s\n' "$(find "$BACKUP_DIR/wal" -maxdepth 1 -type f -name '0*.gz' | wc -l)" "$BACKUP_DIR/wal"
}

cmd_restore() {
    local name="" until="" into=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --backup) name=$2; shift 2 ;;
            --until) until=$2; shift 2 ;;
            --into) into=$2; shift 2 ;;
            *) die "restore: unknown argument $1" ;;
        esac
    done
    if [ -n "$until" ] && ! date -u -d "$until" >/dev/null 2>&1; then
        die "--until '$until' is not a time (e.g. '2026-12-03 14:05:00+00')"
    fi
    if [ -z "$name" ]; then
        # The newest backup that ended before the target: recovery must get
        # past a backup's end before it may stop.
        local b ended
        for b in $(backups); do
            ended=$(cat "$BACKUP_DIR/base/$b.done")
            if [ -z "$until" ] || [ "$(date -u -d "$ended" +%s%N)" -lt "$(date -u -d "$until" +%s%N)" ]; then
                name=$b
            fi
        done
        [ -n "$name" ] || die "no complete base backup in $BACKUP_DIR/base${until:+ that ended before $until}"
    fi
    [ -f "$BACKUP_DIR/base/$name.done" ] || die "no complete base backup $name in $BACKUP_DIR/base"
    if [ -z "$into" ]; then
        # Only make run's own cluster has a data directory known here.
        [ -z "${NMC_PG_HOST:-}" ] || die "restore: give --into (INTO=): the data directory of the cluster to restore, stopped and emptied"
        into=$STATE/data
        if as_pg "$PGBIN/pg_ctl" -D "$into" status >/dev/null 2>&1; then
            die "PostgreSQL is running on $into: make stop first"
        fi
        if [ -e "$into" ]; then
            local aside
            aside=$into.before-restore-$(date -u +%Y%m%dT%H%M%SZ)
            mv "$into" "$aside"
            say "the old data directory is kept as $aside"
        fi
    fi
    [ -e "$into" ] && [ -n "$(ls -A "$into" 2>/dev/null)" ] && die "$into is not empty"
    install -d -m 700 "$into"
    [ "$(id -u)" = 0 ] && chown postgres: "$into"
    say "restoring base backup $name into $into"
    as_pg cp -a "$BACKUP_DIR/base/$name/." "$into/"
    rm -f "$into/backup_manifest"
    # Recovery settings: WAL from the archive, up to the target or its end, then
    # a new timeline. The restored cluster does not archive into this folder
    # (that is the old timeline's); `make backup` there turns archiving on again.
    as_pg tee -a "$into/postgresql.auto.conf" >/dev/null <<CONF
# Added by scripts/backup.sh restore $(date -u '+%Y-%m-%d %H:%M:%S+00'), from base backup $name
restore_command = 'test -f $BACKUP_DIR/wal/%f.gz && gunzip -c $BACKUP_DIR/wal/%f.gz > %p'
recovery_target_action = 'promote'
${until:+recovery_target_time = '$until'}
archive_mode = 'off'
CONF
    as_pg touch "$into/recovery.signal"
    say "restored; at its start PostgreSQL replays the archive${until:+ up to $until} and opens a new timeline"
}

case "${1:-}" in
    archive) cmd_archive ;;
    backup) cmd_backup ;;
    list) cmd_list ;;
    restore) shift; cmd_restore "$@" ;;
    *) echo "usage: $0 archive|backup|list|restore [--backup NAME] [--until TIME] [--into DATADIR]" >&2; exit 2 ;;
esac
