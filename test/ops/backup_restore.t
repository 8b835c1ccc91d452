# backup_restore.t — `make backup` / `make restore` (scripts/backup.sh) on a
# throwaway cluster of their own: a base backup taken while WAL is archived is
# verified; restored into a fresh cluster it holds the business, its calls
# and its conversations, those made after the backup too (replayed from the
# archive), and ALTER EXTENSION nevermisscall UPDATE still runs there; a
# restore to a point in time between the two stops before the later ones.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OpsTest qw(ops_pg_port wait_for);

plan skip_all => 'needs root (clusters run as postgres)' unless $> == 0;
my $state = $ENV{NMC_TEST_STATE} or BAIL_OUT('NMC_TEST_STATE is not set (run through make test)');
my $root = "$FindBin::Bin/../..";
my $pgbin = '/usr/lib/postgresql/15/bin';
my ($src_port, $dst_port) = (ops_pg_port(2), ops_pg_port(3));
my $dir = "$state/backup-test";
system('rm', '-rf', $dir);
my %env = (NMC_PG_PORT => $src_port, NMC_STATE_DIR => "$dir/source", NMC_DB => 'nmc_backup', NMC_BACKUP_DIR => "$dir/backups",
           NMC_PG_EXTRA_CONF => "fsync = off\nsynchronous_commit = off");
local @ENV{keys %env} = values %env;
local $ENV{PGOPTIONS} = '-c client_min_messages=warning';

my @started;    # data directories whose Postgres this test started
END {
    local $?;
    system("runuser -u postgres -- $pgbin/pg_ctl -D $_ -w -t 60 stop -m immediate >/dev/null 2>&1") for @started;
}

sub psql_at {
    my ($sock, $port, $query) = @_;
    open my $fh, '-|', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', $sock, '-p', $port, '-U', 'postgres',
        '-d', 'nmc_backup', '-c', $query or die;
    my @rows = map { chomp; $_ } <$fh>;
    close $fh or die "psql on $port failed on: $query\n";
    return wantarray ? @rows : $rows[0];
}
my $sql = sub { psql_at("$dir/source/run", $src_port, shift) };

# The source: make run's cluster set-up, the extension, a business with a missed call.
is system("$root/scripts/stack.sh pg-start >/dev/null"), 0, 'a source cluster';
push @started, "$dir/source/data";
system('psql', '-X', '-q', '-h', "$dir/source/run", '-p', $src_port, '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE nmc_backup') == 0 or die;
system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', "$dir/source/run", '-p', $src_port, '-U', 'postgres', '-d', 'nmc_backup',
       '-c', 'SET client_min_messages = warning', '-c', 'CREATE EXTENSION nevermisscall CASCADE', '-f', "$root/test/sql/helpers.sql",
       '-o', '/dev/null') == 0 or die;

sub missed_call {
    my ($number, $caller) = @_;
    my $b = $sql->("SELECT nmc_test.business_with_number('$number')");
    my $call = { CallSid => 'CA' . join('', map { sprintf '%x', int rand 16 } 1 .. 32), From => $caller, To => $number };
    my $json = join ',', map { qq{"$_":"$call->{$_}"} } sort keys %$call;
    $sql->("SELECT nmc_test.twilio_post('/webhooks/twilio/voice', '{$json,\"CallStatus\":\"ringing\"}')");
    $sql->("SELECT nmc_test.twilio_post('/webhooks/twilio/voice/dial', '{$json,\"DialCallStatus\":\"no-answer\"}')");
    return $b;
}
sub holds {
    my ($query_at, $b) = @_;
    return $query_at->("SELECT (SELECT count(*) FROM nmc.businesses WHERE id = '$b') || '/' ||
                               (SELECT count(*) FROM nmc.calls WHERE business_id = '$b' AND decision = 'texted') || '/' ||
                               (SELECT count(*) FROM nmc.conversations WHERE business_id = '$b') || '/' ||
                               (SELECT count(*) FROM nmc.messages WHERE business_id = '$b')");
}
my $before = missed_call('+15125550401', '+15125550402');
is holds($sql, $before), '1/1/1/1', 'before the backup: a business with a texted missed call, its conversation and its text';

my $out = qx{$root/scripts/backup.sh backup 2>&1};
is $? >> 8, 0, 'make backup succeeds' or diag $out;
like $out, qr/verified \(pg_verifybackup\)/, '… and verifies the base backup';
is $sql->('SHOW archive_mode'), 'on', 'WAL archiving is on (it needed one restart)';
my ($name) = $out =~ /verified \(pg_verifybackup\): (\S+),/;
$out = qx{$root/scripts/backup.sh archive 2>&1};
is $? >> 8, 0, 'with archiving on, turning it on again succeeds' or diag $out;
unlike $out, qr/restarting/, '… without a restart';

# After the backup: a moment to restore to, then a second business, only in the archive.
my $between = $sql->("SELECT clock_timestamp()");
wait_for(sub { $sql->("SELECT clock_timestamp() > '$between'::timestamptz + interval '10 ms'") eq 't' }, 5);
my $after = missed_call('+15125550403', '+15125550404');
is holds($sql, $after), '1/1/1/1', 'after the backup: a second business with its missed call';
my $segment = $sql->("SELECT pg_walfile_name(pg_current_wal_lsn())");
$sql->("SELECT pg_switch_wal()");
ok wait_for(sub { -f "$dir/backups/wal/$segment.gz" }, 20), 'the WAL holding it reaches the archive';
is system("runuser -u postgres -- $pgbin/pg_ctl -D $dir/source/data -w -t 60 stop -m immediate >/dev/null"), 0,
   'the source cluster is gone (stopped, as if lost)';

sub restore_and_start {
    my ($into, @args) = @_;
    my $out = qx{$root/scripts/backup.sh restore --into $into @args 2>&1};
    return "restore: $out" if $? != 0;
    mkdir "$into.run";
    system('chown', 'postgres:', "$into.run");
    # Its own port and socket folder; everything else as restored.
    return 'start failed' if system("runuser -u postgres -- $pgbin/pg_ctl -D $into -l $into.run/postgres.log -w -t 60 -o '-p $dst_port -k $into.run' start >/dev/null") != 0;
    push @started, $into;
    my $at = sub { psql_at("$into.run", $dst_port, shift) };
    return 'still recovering' unless wait_for(sub { ($at->('SELECT pg_is_in_recovery()') // '') eq 'f' }, 30);
    return $at;
}

my $at = restore_and_start("$dir/restored");
ok ref $at, 'make restore into a fresh data directory; it starts on its own port and finishes recovery' or diag $at;
SKIP: {
    skip 'no restored cluster', 6 unless ref $at;
    is holds($at, $before), '1/1/1/1', 'the restored cluster holds the business, its call, conversation and text from the base backup';
    is holds($at, $after), '1/1/1/1', '… and those made after the backup, replayed from the archive';
    is $at->('SHOW archive_mode'), 'off', 'the restored cluster does not archive into the old timeline\'s folder';
    my $version = $at->("SELECT extversion FROM pg_extension WHERE extname = 'nevermisscall'");
    is $version, $at->("SELECT default_version FROM pg_available_extensions WHERE name = 'nevermisscall'"),
       "the extension is at the installed version ($version)";
    ok eval { $at->('ALTER EXTENSION nevermisscall UPDATE'); 1 }, 'ALTER EXTENSION nevermisscall UPDATE runs on it without error';
    is $at->("SELECT extversion FROM pg_extension WHERE extname = 'nevermisscall'"), $version, '… and changes nothing';
    system("runuser -u postgres -- $pgbin/pg_ctl -D $dir/restored -w -t 60 stop -m fast >/dev/null");
    @started = grep { $_ ne "$dir/restored" } @started;
}

$at = restore_and_start("$dir/restored-pitr", '--until', "'$between'");
ok ref $at, "a restore to a point in time ($between)" or diag $at;
SKIP: {
    skip 'no restored cluster', 2 unless ref $at;
    is holds($at, $before), '1/1/1/1', 'holds what was committed before that moment';
    is holds($at, $after), '0/0/0/0', '… and nothing committed after it';
}
like qx{$root/scripts/backup.sh list}, qr/^\Q$name\E  ended /m, 'make backup list shows the backups';

done_testing;
