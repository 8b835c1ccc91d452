# 07_database_outage_spool.t — Postgres is stopped, and Twilio's webhooks keep
# being answered: the edge keeps each on disk (its spool) before answering from
# the fallbacks the database published, survives its own restart meanwhile,
# and replays everything when the database is back — the callers are texted
# once each, the texts threaded as of when they arrived. An edge that never
# reached the database promises nothing (503). Counts: acknowledged, texted,
# lost (0), duplicated (0). An edge of its own (own port, own spool) against
# the stack's database.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

use_fake_providers();
fake_reset();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $block = 200 + int rand 800;    # numbers drawn per run
my $number = "+1737${block}0500";
my ($business) = sql("SELECT nmc_test.business_with_number('$number')");

my $port = ($ENV{NMC_HTTP_PORT} // 18080) + 13;
my $base = "http://127.0.0.1:$port";
my $spool = "$ENV{NMC_TEST_STATE}/spool-test-$$";
my $test_pid = $$;
my $edge_pid;
sub start_edge {
    my ($dir, $log) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $ENV{NMC_HTTP_PORT} = $port;
        $ENV{NMC_WS_PORT} = $port + 1;
        $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
        $ENV{NMC_EDGE_SPOOL_DIR} = $dir;
        open STDOUT, '>>', "$ENV{NMC_TEST_STATE}/log/edge-$log.log" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec $ENV{NMC_TEST_EDGE_BIN};
        die "exec: $!";
    }
    # Up when it answers at all (/healthz is 503 while the database is down).
    my $up = wait_until(sub { kill(0, $pid) && HTTP::Tiny->new(timeout => 1)->get("$base/healthz")->{status} != 599 }, 10);
    return $up ? $pid : undef;
}
sub stop_edge {
    my ($pid) = @_;
    return 0 unless $pid;
    kill TERM => $pid;
    waitpid $pid, 0;
    return $?;
}
my $pg_down = 0;
END {
    if ($$ == $test_pid) {
        local $?;
        stop_edge($edge_pid) if $edge_pid;
        system("$ENV{NMC_TEST_STACK} pg-start >/dev/null 2>&1") if $pg_down;
    }
}
sub metric {
    my ($name) = @_;
    my $m = HTTP::Tiny->new(timeout => 5)->get("$base/metrics")->{content} // '';
    return $m =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
}

$edge_pid = start_edge($spool, 'spool');
ok $edge_pid, 'an edge with a spool answers';
ok wait_until(sub { -s "$spool/fallbacks" }, 10), 'it fetched the fallback answers from the database and keeps them on disk';

# The database goes down.
is system("$ENV{NMC_TEST_STACK} pg-stop >/dev/null 2>&1"), 0, 'Postgres is stopped';
$pg_down = 1;
my $t_down = time;
is((HTTP::Tiny->new(timeout => 5)->get("$base/api/trade-types")->{status}), 503, 'the API answers 503 meanwhile');

my (%callers, %acked, @sms_callers);
my $n = 0;
sub missed_dial {
    my $caller = sprintf '+1737%d%04d', $block, 1000 + $n++;
    my %call = (CallSid => random_sid('CA'), From => $caller, To => $number, AccountSid => 'ACffffffffffffffffffffffffffffffff');
    my $d = post_twilio($base, $public, '/webhooks/twilio/voice/dial',
                        { %call, CallStatus => 'in-progress', DialCallStatus => 'no-answer', DialBridged => 'false' }, $token);
    $callers{$caller} = 1;
    $acked{$caller} = 1 if $d->{status} == 200 && $d->{content} =~ m{<Say>Sorry we couldn&apos;t take your call\. We will text you right away\.</Say><Hangup/>};
}
sub incoming_call {
    my $caller = sprintf '+1737%d%04d', $block, 1000 + $n++;
    my $v = post_twilio($base, $public, '/webhooks/twilio/voice',
                        { CallSid => random_sid('CA'), From => $caller, To => $number, CallStatus => 'ringing',
                          AccountSid => 'ACffffffffffffffffffffffffffffffff' }, $token);
    $callers{$caller} = 1;
    $acked{$caller} = 1 if $v->{status} == 200 && $v->{content} =~ m{<Say>Sorry, we can&apos;t take your call right now\. We will text you right away\.</Say><Hangup/>};
}
missed_dial() for 1 .. 40;
incoming_call() for 1 .. 10;
for my $i (1 .. 5) {
    my $caller = sprintf '+1737%d%04d', $block, 3000 + $i;
    my $s = post_twilio($base, $public, '/webhooks/twilio/sms',
                        { MessageSid => random_sid('SM'), From => $caller, To => $number, Body => "water everywhere $i" }, $token);
    push @sms_callers, $caller if $s->{status} == 200 && $s->{content} =~ m{<Response></Response>};
}
my $t_sms_sent = time;    # each text was received before this
my $forged = post_twilio($base, $public, '/webhooks/twilio/voice/dial',
    { CallSid => random_sid('CA'), From => '+17375550000', To => $number, DialCallStatus => 'no-answer' }, $token, 'bm90LWEtc2lnbmF0dXJl');
is scalar(keys %acked), 50, 'all 50 calls were answered with the fallback TwiML (a text is coming)';
is scalar(@sms_callers), 5, 'the 5 texts were answered with empty TwiML';
is metric('nmc_webhook_spool_waiting'), 56, 'the spool holds the 56 webhooks (a forged one too: only the database can check a signature)';
my @files = glob "$spool/*.req";
is scalar(@files), 56, '… as 56 files on disk';

# The edge restarts while the database is still down: nothing it answered is lost.
is stop_edge($edge_pid), 0, 'the edge stops cleanly';
$edge_pid = start_edge($spool, 'spool');
ok $edge_pid, 'and starts again, the database still down';
is metric('nmc_webhook_spool_waiting'), 56, 'the restarted edge counts what waits';
missed_dial() for 1 .. 5;
is scalar(keys %acked), 55, 'it answers new missed calls from the kept fallbacks';

# An edge that never reached the database has nothing it may promise.
my $fresh_port = $port + 2;
my $fresh = fork // die;
if ($fresh == 0) {
    $ENV{NMC_HTTP_PORT} = $fresh_port;
    $ENV{NMC_WS_PORT} = $fresh_port + 1;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_EDGE_SPOOL_DIR} = "$spool-fresh";
    open STDOUT, '>>', "$ENV{NMC_TEST_STATE}/log/edge-spool-fresh.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $ENV{NMC_TEST_EDGE_BIN};
    die;
}
wait_until(sub { HTTP::Tiny->new(timeout => 1)->get("http://127.0.0.1:$fresh_port/healthz")->{status} != 599 }, 10);
my $refused = post_twilio("http://127.0.0.1:$fresh_port", $public, '/webhooks/twilio/voice/dial',
    { CallSid => random_sid('CA'), From => '+17375550001', To => $number, DialCallStatus => 'no-answer' }, $token);
is $refused->{status}, 503, 'an edge that never reached the database refuses (503: Twilio tries its fallback URL), promising nothing';
is scalar(() = glob "$spool-fresh/*.req"), 0, '… and keeps nothing';
kill TERM => $fresh;
waitpid $fresh, 0;

# The database is back: the spool is replayed.
my $down_for = time - $t_down;
my $started = 0;
for (1 .. 300) { $started = system("$ENV{NMC_TEST_STACK} pg-start >/dev/null 2>&1") == 0 && eval { sql('SELECT 1') }; last if $started; sleep 0.2 }
my $t_up = time;
ok $started, sprintf 'Postgres is back (down %.1f s)', $down_for;
$pg_down = 0;
ok wait_until(sub { (metric('nmc_webhook_spool_waiting') // -1) == 0 }, 30), 'the spool empties';
is scalar(() = glob "$spool/*.req"), 0, '… on disk too';
is metric('nmc_webhook_spool_replayed_total'), 61, 'every kept webhook was replayed (56 + 5 after the restart)';

my $texted = wait_until(sub {
    my %n;
    for my $r (@{ fake_requests(path => 'Messages.json') }) { $n{"+$1"}++ if $r->{body} =~ /(?:^|&)To=%2B(\d+)/ }
    my $done = grep { $n{$_} } keys %acked;
    $done == keys %acked ? \%n : undef;
}, 30) // {};
my $lost = grep { !$texted->{$_} } keys %acked;
my $dup = grep { ($texted->{$_} // 0) > 1 } keys %acked;
diag sprintf 'database down %.1f s, edge restarted once: acknowledged %d calls, texted %d, lost %d, duplicated %d',
    $down_for, scalar(keys %acked), scalar(grep { $texted->{$_} } keys %acked), $lost, $dup;
is $lost, 0, 'every caller whose call was acknowledged is texted';
is $dup, 0, '… once';
is sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND missed_reason = 'outage' AND decision = 'texted'"), 10,
   'the 10 calls that came in during the outage are missed calls (reason outage), texted';
is sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND from_raw = '+17375550000'"), 0,
   'the forged webhook was refused at replay (bad signature): no call';
is sql(sprintf "SELECT count(*) FROM nmc.messages WHERE business_id = '%s' AND direction = 'inbound'
                  AND created_at BETWEEN to_timestamp(%f) AND to_timestamp(%f)", $business, $t_down, $t_sms_sent), 5,
   'the 5 texts are threaded as of when they arrived (while the database was down), not when they were replayed';

done_testing;
