# 02_valgrind_clean.t — a second edge under valgrind serves every kind of
# request (incoming-text webhooks waiting in the database on several threads
# at once included), then drains on SIGTERM and exits 0 with no leaks or
# invalid accesses.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use POSIX ':sys_wait_h';
use Time::HiRes qw(sleep);
use EdgeTest qw(api unique_email http post_big_body);
use NmcTest qw(sql wait_until psql_session);
use TwilioWebhook qw(post_twilio random_sid);

my $port = ($ENV{NMC_HTTP_PORT} // 18080) + 1;
my $base = "http://127.0.0.1:$port";
my $log = "$ENV{NMC_TEST_STATE}/log/edge-valgrind.log";

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $ENV{NMC_HTTP_PORT} = $port;
    $ENV{NMC_WS_PORT} = $port + 2;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_EDGE_THREADS} = 6;    # four webhooks waiting in the database and /healthz beside them
    open STDOUT, '>', $log or die;
    open STDERR, '>&', \*STDOUT or die;
    exec 'valgrind', '--leak-check=full', '--errors-for-leak-kinds=definite,indirect',
        '--error-exitcode=99', $ENV{NMC_TEST_EDGE_BIN};
    die "exec valgrind: $!";
}

# A test that dies half-way must not leave its edge holding the port (this
# process only: the burst's forked senders run END blocks too when they exit).
my $test_pid = $$;
END { kill KILL => $pid if $$ == $test_pid && $pid && kill 0 => $pid }

my $up = 0;
for (1 .. 300) {
    my $res = http()->get("$base/healthz");
    if ($res->{status} == 200) { $up = 1; last }
    sleep 0.1;
}
ok $up, 'the edge under valgrind answers /healthz';

my $email = unique_email('valgrind');
my ($status, $body) = api(POST => '/api/auth/register', {
    email => $email, password => 'correct horse battery', name => 'V', business_name => 'V Co', trade_type => 'roofing' },
    undef, $base);
is $status, 201, 'register';
my $token = $body->{token};
($status) = api(GET => '/api/me', undef, $token, $base);
is $status, 200, 'an authenticated call';
($status) = api(PATCH => '/api/business', { city => 'Boise' }, $token, $base);
is $status, 200, 'a PATCH with a body';
($status) = api(POST => '/api/auth/login', '{"bad json', undef, $base);
is $status, 400, 'malformed JSON';
($status) = post_big_body('/api/auth/login', 1024 * 1024 + 10, base => $base);
is $status, 413, 'an oversized body';
is http()->get("$base/")->{status}, 200, 'a static file';
is http()->get("$base/nope.css")->{status}, 404, 'a missing static file';
is http()->get("$base/settings")->{status}, 200, 'an index fallback';

# Incoming texts sent together while the inbox is locked: all four wait in
# the database at once, each on its own HTTP thread, and are answered when the
# lock goes. Only that fact is waited for (a bound generous for valgrind on a
# busy host); none is a duration.
my $public = sql("SELECT nmc.setting('public_url')");
my $signing = sql("SELECT nmc.webhook_signing_token()");
sql("SELECT nmc_test.business_with_number('+15125550390')");
my $lock = psql_session();
print $lock "BEGIN; LOCK TABLE nmc.webhook_inbox IN EXCLUSIVE MODE; SELECT 1;\n";
wait_until(sub { sql(q{SELECT count(*) FROM pg_locks WHERE relation = 'nmc.webhook_inbox'::regclass AND mode = 'ExclusiveLock' AND granted}) == 1 }, 120);
my @kids;
my $waiting = sub { sql(q{SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT status, %nmc_api.handle%'}) };
my $held = 1;
for my $i (0 .. 3) {
    pipe my $r, my $w or die;
    my $kid = fork // die;
    if (!$kid) {
        close $r;
        my $res = post_twilio($base, $public, '/webhooks/twilio/sms',
            { MessageSid => random_sid('SM'), From => sprintf('+1512555%04d', 4000 + $i), To => '+15125550390', Body => "valgrind $i" }, $signing);
        print $w "$res->{status}\n";
        exit 0;
    }
    close $w;
    push @kids, [$kid, $r];
    # Each waits in the database before the next is sent, so each reaches a
    # free HTTP thread (a thread blocked in the database accepts nothing).
    $held &&= wait_until(sub { $waiting->() >= $i + 1 }, 120);
}
ok $held, 'four webhooks wait in the database at once';
print $lock "COMMIT;\n";
close $lock;
is join(' ', map { my $fh = $_->[1]; my $st = <$fh> // 'none'; waitpid $_->[0], 0; chomp $st; $st } @kids), '200 200 200 200',
    '… and each is answered once the inbox is free';

kill TERM => $pid;
my $waited = 0;
while (waitpid($pid, WNOHANG) == 0 && $waited < 600) { sleep 0.1; $waited++ }
my $code = $? >> 8;
is $code, 0, 'SIGTERM: clean exit, no valgrind errors (exit 99 would mean errors or leaks)';

open my $fh, '<', $log or die;
my $text = do { local $/; <$fh> };
like $text, qr/Memcheck, a memory error detector/, 'the edge really ran under valgrind';
like $text, qr/ERROR SUMMARY: 0 errors/, 'valgrind reports 0 errors';
like $text, qr/nmc-edge stopped/, 'the edge drained and said so';
unlike $text, qr/definitely lost: [1-9]/, 'no memory definitely lost';
diag "valgrind log: $log" if $code != 0;

done_testing;
