# 01_installed_service.t — NeverMissCall installed as a service, as an
# operator would run it (docs/operations.md): `make install DESTDIR=<tmp>` lays
# out the standard files; systemd-analyze verifies the edge's unit; the
# installed nevermisscall-setup makes a Debian cluster with pg_createcluster
# (a throwaway one) and syncs the configuration file and secrets.conf into
# nmc.settings; then the unit's own ExecStartPre and ExecStart lines run as
# systemd would run them — as the unit's User, in a clean environment — with
# one change only: the installed files are under DESTDIR instead of /. No
# systemd runs here. The edge answers on the configured listen address only,
# reads its settings from the file (the environment overriding it), and logs
# JSON lines without secrets.
use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

plan skip_all => 'needs root (creates a cluster and runs the edge as its user)' unless $> == 0;

my $root = "$FindBin::Bin/../..";
my $pg_port = ($ENV{NMC_PG_PORT} // 54340) + 4;
my $http_port = ($ENV{NMC_HTTP_PORT} // 18080) + 15;   # +16: its WebSocket; +17: the override
my $cluster = "nmc-ops-$pg_port";
my $secret = 'ops-secret-' . int(rand 1e9);
my $d = tempdir('nmc-ops-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod 0755, $d;   # the edge's user walks down to its files
my @edges;

sub drop_cluster {
    system("pg_dropcluster --stop 15 $cluster >/dev/null 2>&1");
    system('rm', '-rf', "/etc/postgresql/15/$cluster");
}
END {
    kill 'KILL', @edges if @edges;
    drop_cluster();
    system('rm', '-rf', $d) if $d =~ m{/nmc-ops-\w+$};
}
drop_cluster();

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> }
sub spew { my ($f, $text, $mode) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $text; close $fh; chmod $mode, $f if defined $mode }
sub wait_until {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 10);
    while (time < $deadline) { my $v = $cond->(); return $v if $v; sleep 0.05 }
    return;
}
sub psql { my ($sql) = @_; my $out = `runuser -u postgres -- psql -X -At -h /var/run/postgresql -p $pg_port -d nmc_ops -c "$sql"`; chomp $out; $out }
sub get { my ($url) = @_; HTTP::Tiny->new(timeout => 5)->get($url) }
sub connects { my ($addr, $port) = @_; my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Timeout => 2); close $s if $s; !!$s }

# --- make install ---
is system("make -s -C $root install DESTDIR=$d >$d/install.log 2>&1"), 0, 'make install DESTDIR=<tmp> succeeds'
    or diag slurp("$d/install.log");
chomp(my $pkglib = `pg_config --pkglibdir`);
chomp(my $share = `pg_config --sharedir`);
for my $f ('/usr/sbin/nmc-edge', '/usr/sbin/nevermisscall-setup') {
    ok -x "$d$f", "$f is installed and executable";
}
for my $f ("$pkglib/nevermisscall.so", "$share/extension/nevermisscall.control", '/usr/lib/nevermisscall/cluster.sh',
           '/usr/lib/nevermisscall/config_file.sh', '/usr/share/nevermisscall/dashboard/index.html',
           '/usr/lib/systemd/system/nevermisscall-edge.service', '/usr/share/nevermisscall/nevermisscall.conf.example',
           '/usr/share/nevermisscall/secrets.conf.example', '/usr/share/doc/nevermisscall/operations.md') {
    ok -f "$d$f", "$f is installed";
}
is sprintf('%o', (stat "$d/etc/nevermisscall/secrets.conf")[2] & 07777), '600', '/etc/nevermisscall/secrets.conf: mode 600';
like slurp("$d/etc/nevermisscall/nevermisscall.conf"), qr{^NMC_DASHBOARD_DIR=/usr/share/nevermisscall/dashboard$}m,
    '/etc/nevermisscall/nevermisscall.conf: the example, with the installed paths';
spew("$d/etc/nevermisscall/nevermisscall.conf", "# edited\n");
system("make -s -C $root install DESTDIR=$d >$d/install.log 2>&1");
is slurp("$d/etc/nevermisscall/nevermisscall.conf"), "# edited\n", 'a second make install keeps an edited configuration';

# --- the unit ---
my $unit = slurp("$d/usr/lib/systemd/system/nevermisscall-edge.service");
my %has = map { $_ => 1 } grep { /^\w+=/ } split /\n/, $unit;
ok $has{$_}, "the unit has $_" for 'User=nmc-edge', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict',
    'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'StateDirectory=nevermisscall/edge-spool';
# The files are under DESTDIR, not /: every absolute path of an installed file moves there, nothing else changes.
sub under_destdir { my ($line) = @_; $line =~ s{(^|[\s=+-])(/usr/sbin/|/etc/nevermisscall/)}{$1$d$2}g; $line }
mkdir "$d/verify";
spew("$d/verify/nevermisscall-edge.service", join("\n", map { under_destdir($_) } split /\n/, $unit) . "\n");
my $verify = `systemd-analyze verify $d/verify/nevermisscall-edge.service 2>&1`;
is $?, 0, 'systemd-analyze verify accepts the unit';
is $verify, '', '… without a warning';
my ($exec_start) = $unit =~ /^ExecStart=(.+)$/m;
my ($exec_start_pre) = $unit =~ /^ExecStartPre=-\+(.+)$/m;
my ($user) = $unit =~ /^User=(\S+)$/m;
ok $exec_start && $exec_start_pre, 'ExecStart and ExecStartPre (as root, failure tolerated) are there';

# --- the configuration: the file and its secrets ---
my $conf = "$d/etc/nevermisscall/nevermisscall.conf";
my $secrets = "$d/etc/nevermisscall/secrets.conf";
my $spool = "$d/var/lib/nevermisscall/edge-spool";
sub configure {
    my ($public_url) = @_;
    spew($conf, <<"CONF");
# Written by test/ops/01_installed_service.t
NMC_PUBLIC_URL = "$public_url"
NMC_LISTEN_ADDRESS=127.0.0.1
NMC_HTTP_PORT=$http_port
NMC_WS_PORT='@{[$http_port + 1]}'
NMC_DASHBOARD_DIR=$d/usr/share/nevermisscall/dashboard
NMC_EDGE_SPOOL_DIR=$spool
NMC_EDGE_DB=host=/var/run/postgresql port=$pg_port dbname=nmc_ops user=nmc_edge application_name=nmc-edge
NMC_PG_CLUSTER=15/$cluster
NMC_PG_PORT=$pg_port
NMC_DB=nmc_ops
NMC_TWILIO_ACCOUNT_SID=ACopsopsopsopsopsopsopsopsopsopsop
CONF
}
# systemd starts a service with a clean environment: so does this test.
my $clean_env = 'env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8';
sub run_setup { my ($file) = @_; my $out = `$clean_env $d/usr/sbin/nevermisscall-setup --config $file --secrets $secrets 2>&1`; ($? >> 8, $out) }

configure('https://ops.example.test');
spew($secrets, "NMC_TWILIO_AUTH_TOKEN=$secret\n", 0644);
my ($rc, $out) = run_setup($conf);
isnt $rc, 0, 'set-up refuses a secrets.conf others can read';
like $out, qr/mode 600/, '… and says what to do';
spew("$conf.secret", slurp($conf) . "NMC_TWILIO_AUTH_TOKEN=$secret\n");
($rc, $out) = run_setup("$conf.secret");
isnt $rc, 0, 'set-up refuses a secret in the file the edge reads';
chmod 0600, $secrets;

my $t0 = time;
($rc, $out) = run_setup($conf);
is $rc, 0, 'nevermisscall-setup makes the cluster, the database and the settings' or diag $out;
diag sprintf 'set-up with pg_createcluster: %.1f s', time - $t0;
like `pg_lsclusters -h`, qr/^15\s+\Q$cluster\E\s+$pg_port\s+online/m, "… the cluster 15/$cluster is Debian's (pg_lsclusters), online, on the configured port";
like slurp("/etc/postgresql/15/$cluster/conf.d/nevermisscall.conf"), qr/^shared_preload_libraries = 'pg_cron,nevermisscall'$/m,
    '… with the server settings in its conf.d';
is psql('SHOW shared_preload_libraries'), 'pg_cron,nevermisscall', '… in force';
ok psql("SELECT extversion FROM pg_extension WHERE extname = 'nevermisscall'"), '… the extension is created';
is psql("SELECT value FROM nmc.settings WHERE name = 'public_url'"), 'https://ops.example.test', '… NMC_PUBLIC_URL comes from the file';
is psql("SELECT value FROM nmc.settings WHERE name = 'twilio_auth_token'"), $secret, '… the secret from secrets.conf';
is sprintf('%o', (stat $conf)[2] & 07777) . ' ' . getgrgid((stat $conf)[5]), "640 $user", '… the file the edge reads: root and the edge only';
($rc, $out) = run_setup($conf);
is $rc, 0, 'running it again changes nothing and succeeds' or diag $out;
unlike $out, qr/restarting|creating/, '… no restart, nothing created';

# ExecStartPre: the file's settings synced before each start.
configure('https://moved.example.test');
my @pre = split ' ', under_destdir($exec_start_pre);
is system("$clean_env @pre >$d/pre.log 2>&1"), 0, 'ExecStartPre (settings only) succeeds' or diag slurp("$d/pre.log");
is psql("SELECT value FROM nmc.settings WHERE name = 'public_url'"), 'https://moved.example.test', '… a changed file reaches nmc.settings';

# --- ExecStart: the installed edge, as the unit's user ---
# StateDirectory= would make the spool the user's own.
system('install', '-d', '-o', $user, '-g', $user, '-m', '700', $spool);
sub start_edge {
    my (%env) = @_;
    my $log = "$d/edge-" . scalar(@edges);
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', "$log.out" or die;
        open STDERR, '>', "$log.err" or die;
        my $extra = join ' ', map { "$_=$env{$_}" } sort keys %env;
        exec "$clean_env $extra setpriv --reuid=$user --regid=$user --clear-groups " . under_destdir($exec_start);
    }
    push @edges, $pid;
    return ($pid, $log);
}
sub stop_edge {
    my ($pid) = @_;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    my $status = $?;
    @edges = grep { $_ != $pid } @edges;
    return $status;
}

my ($pid, $log) = start_edge();
ok wait_until(sub { my $r = get("http://127.0.0.1:$http_port/healthz"); $r->{status} == 200 }, 15),
    'the installed edge answers /healthz on the configured address and port (its database through peer authentication)'
    or diag slurp("$log.err");
ok connects('127.0.0.1', $http_port + 1), '… its live feed listens on the configured WebSocket port';
ok !connects('127.0.0.2', $http_port), '… HTTP on NMC_LISTEN_ADDRESS only (127.0.0.2 refused)';
ok !connects('127.0.0.2', $http_port + 1), '… the live feed too';
is get("http://127.0.0.1:$http_port/healthz?token=$secret")->{status}, 200, 'a request with a secret in its query';
is get("http://127.0.0.1:$http_port/no-such-file.js")->{status}, 404, 'a missing file';
my @environ = split /\0/, slurp("/proc/$pid/environ");
ok !(grep { index($_, $secret) >= 0 } @environ), 'no secret in the edge\'s environment';
ok !(grep { /^NMC_/ } @environ), '… nor any NMC_ setting: they come from the file';
chomp(my $uid = `id -u $user`);
like slurp("/proc/$pid/status"), qr/^Uid:\s+$uid\s/m, "… it runs as $user";
is stop_edge($pid), 0, 'SIGTERM: a clean exit';

my @lines = split /\n/, slurp("$log.out") . slurp("$log.err");
my @json = map { my $l = $_; eval { decode_json($l) } } @lines;
is scalar(grep { defined } @json), scalar(@lines), 'every log line is a JSON object (' . scalar(@lines) . ' lines)';
my @access = grep { $_ && $_->{type} eq 'access' } @json;
ok((grep { $_->{path} eq '/healthz' && $_->{status} == 200 && $_->{client} eq '127.0.0.1' && $_->{bytes} > 0 } @access),
   'an access line: path, status, client, bytes');
ok((grep { $_->{path} eq '/no-such-file.js' && $_->{status} == 404 } @access), '… one per request');
ok !(grep { index($_, $secret) >= 0 || /token=/ } @lines), '… never a query string or a secret';
ok((grep { $_ && $_->{type} eq 'info' && $_->{message} =~ /listening on 127\.0\.0\.1 port $http_port/ } @json), 'the start line says where it listens');
ok((grep { $_ && $_->{type} eq 'info' && $_->{message} eq 'nmc-edge stopped' } @json), '… and the last says it stopped');

# A line that is not NMC_KEY=value stops the edge and the set-up alike, saying where.
spew("$d/bad.conf", slurp($conf) . "NMC_HTTP_PORT 8080\n");
my $bad_line = () = slurp($conf) =~ /\n/g;
$bad_line++;
my $edge_bin = under_destdir((split ' ', $exec_start)[0]);
my $said = `$clean_env $edge_bin --config $d/bad.conf 2>&1`;
is $? >> 8, 2, 'a malformed line stops the edge (exit 2)';
like $said, qr{"type":"error".*bad\.conf:$bad_line: expected NMC_KEY=value}, '… which names the file and line';
($rc, $out) = run_setup("$d/bad.conf");
isnt $rc, 0, '… and the set-up';
like $out, qr{bad\.conf:$bad_line: expected NMC_KEY=value}, '… which says the same';

# The environment overrides the file.
my $other = $http_port + 2;
($pid, $log) = start_edge(NMC_HTTP_PORT => $other);
ok wait_until(sub { get("http://127.0.0.1:$other/healthz")->{status} == 200 }, 15), 'NMC_HTTP_PORT in the environment wins over the file'
    or diag slurp("$log.err");
ok !connects('127.0.0.1', $http_port), '… the file\'s port is not used';
is stop_edge($pid), 0, '… and it stops cleanly';

done_testing;
