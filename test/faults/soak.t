# soak.t — mixed load over many businesses with faults injected on a
# schedule: missed calls (the incoming call, then the <Dial> ending no-answer)
# and customers' replies, from several senders, through the real edge, inbox
# worker and dispatcher to the fake Twilio; meanwhile Twilio fails every send
# for a while (500, then 429 with Retry-After), the inbox worker and the dispatcher are terminated, the
# postmaster is killed, and the edge is restarted. Then a quiet stretch under
# load, over which the edge's and the workers' own memory must not grow.
# Counts: calls sent, acknowledged (answered with TwiML, by the database or
# from the edge's spool), refused (the edge down: Twilio would use its
# fallback URL), texted, lost (must be 0), duplicated (bounded).
#
# NMC_SOAK_SECONDS (make test: 45; make soak: 600), NMC_SOAK_BUSINESSES (100;
# make soak: 1000), NMC_SOAK_RATE calls per second (15).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);
use NmcTest qw(sql fake fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

my $seconds = $ENV{NMC_SOAK_SECONDS} // 45;
my $businesses = $ENV{NMC_SOAK_BUSINESSES} // 100;
my $rate = $ENV{NMC_SOAK_RATE} // 15;
my $senders = 4;
my $edge = $ENV{NMC_TEST_BASE_URL};
my $stack = $ENV{NMC_TEST_STACK};

use_fake_providers();
fake_reset();
sql(q{SELECT nmc.configure('{"circuit_probe_base_ms":"500","circuit_probe_max_ms":"2000","dispatcher_lease_margin_ms":"500",
                             "job_backoff_base_ms":"100","job_backoff_max_ms":"2000"}')});
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 2000 WHERE kind = 'twilio.sms.send'});
# A commit acknowledged to the edge must survive the postmaster's death.
sql('ALTER SYSTEM SET synchronous_commit = on');
sql('SELECT pg_reload_conf()');
my $test_pid = $$;
END {
    if ($$ == $test_pid) {
        local $?;
        eval { fake(DELETE => '/_fake/faults') };
        eval { sql(q{SELECT nmc.configure('{"circuit_probe_base_ms":"2000","circuit_probe_max_ms":"60000","dispatcher_lease_margin_ms":"5000",
                                            "job_backoff_base_ms":"1000","job_backoff_max_ms":"300000"}')}) };
        eval { sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 15000 WHERE kind = 'twilio.sms.send'}) };
        eval { sql('ALTER SYSTEM RESET synchronous_commit'); sql('SELECT pg_reload_conf()') };
    }
}

my $block = 200 + int rand 800;
my @numbers = map { sprintf '+1737%d%04d', $block, $_ } 1 .. $businesses;
sql("SELECT count(nmc_test.business_with_number(n)) FROM unnest(ARRAY['" . join("','", @numbers) . "']) n");
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");

# --- load -------------------------------------------------------------------
my $t_start = time;
my $deadline = $t_start + $seconds;
my @kids;
for my $s (0 .. $senders - 1) {
    pipe my $r, my $w or die;
    my $pid = fork // die;
    if (!$pid) {
        close $r;
        srand($$ ^ time);
        my $i = 0;
        my $next = time;
        while (time < $deadline) {
            my $caller = sprintf '+1512%d%06d', 2 + $s, $i++;
            my $to = $numbers[int rand @numbers];
            my %call = (CallSid => random_sid('CA'), From => $caller, To => $to, AccountSid => 'ACffffffffffffffffffffffffffffffff');
            my $v = post_twilio($edge, $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $token);
            my $outcome;
            if ($v->{status} == 599) {
                $outcome = 'refused';
            } else {
                my $d = $v->{content} =~ /<Dial / ? post_twilio($edge, $public, '/webhooks/twilio/voice/dial',
                            { %call, CallStatus => 'in-progress', DialCallStatus => 'no-answer', DialBridged => 'false' }, $token) : undef;
                my $told = ($v->{status} == 200 && $v->{content} =~ /<Say>/)
                        || ($d && $d->{status} == 200 && $d->{content} =~ /<Say>/);
                $outcome = $told ? 'acked' : ($d && $d->{status} == 599) ? 'refused' : "other:$v->{status}/" . ($d ? $d->{status} : '-');
            }
            print $w "$caller $outcome\n";
            # A third of the callers write back, as customers do.
            if ($outcome eq 'acked' && rand() < 0.33) {
                post_twilio($edge, $public, '/webhooks/twilio/sms',
                            { MessageSid => random_sid('SM'), From => $caller, To => $to, Body => 'my sink is leaking, can you come today?' }, $token);
            }
            $next += $senders / $rate;
            my $pause = $next - time;
            sleep $pause if $pause > 0;
        }
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [$pid, $r];
}

# --- faults, in the first 60 % of the run -----------------------------------
sub at { my ($frac) = @_; my $t = $t_start + $frac * $seconds; sleep $t - time if $t > time }
sub rss_anon {    # kB of a process's own (anonymous) memory
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (my $line = <$fh>) { return $1 if $line =~ /^RssAnon:\s+(\d+)/ }
    return undef;
}
sub edge_pid { open my $fh, '<', "$ENV{NMC_TEST_STATE}/edge.pid" or return; my $p = <$fh>; chomp $p; $p }
sub worker_pids {
    my $dispatcher = sql("SELECT pid FROM nmc.dispatcher_process()");
    my $inbox = sql("SELECT pid FROM nmc.inbox_process()");
    return ($dispatcher, $inbox);
}
my @faults;

at(0.10);
fake(POST => '/_fake/faults', { match => 'Messages.json', status => 500, count => 0 });
push @faults, 'Twilio answers 500 to every send';
at(0.16);
fake(DELETE => '/_fake/faults');
fake(POST => '/_fake/faults', { match => 'Messages.json', status => 429, retry_after => 1, count => 0 });
push @faults, 'then 429 with Retry-After to every send';
at(0.22);
fake(DELETE => '/_fake/faults');
at(0.27);
my ($dispatcher_pid, $inbox_pid) = worker_pids();
push @faults, 'inbox worker terminated' if sql("SELECT pg_terminate_backend($inbox_pid)") eq 't';
at(0.32);
push @faults, 'dispatcher terminated' if sql("SELECT pg_terminate_backend($dispatcher_pid)") eq 't';
at(0.40);
{
    open my $pf, '<', "$ENV{NMC_TEST_STATE}/data/postmaster.pid" or die;
    my $pm = <$pf>;
    chomp $pm;
    if (kill KILL => $pm) {
        push @faults, 'postmaster killed (SIGKILL)';
        wait_until(sub { !kill(0, $pm) }, 30);
        my $up = 0;
        for (1 .. 300) { $up = system("$stack pg-start >/dev/null 2>&1") == 0 && eval { sql('SELECT 1') }; last if $up; sleep 0.2 }
        ok $up, 'Postgres starts again after the kill';
    }
}
at(0.50);
push @faults, 'edge restarted' if system("$stack edge-restart >/dev/null 2>&1") == 0;
diag 'faults: ' . join(', ', @faults);

# --- the quiet stretch: memory ------------------------------------------------
at(0.60);
wait_until(sub { my ($d, $i) = worker_pids(); ($d // '') ne '' && ($i // '') ne '' }, 10);
my ($dispatcher_now, $inbox_now) = worker_pids();
my @watched = (['edge', edge_pid()], ['dispatcher', $dispatcher_now], ['inbox worker', $inbox_now]);
my %before = map { $_->[0] => rss_anon($_->[1]) } @watched;

my %outcome;
for my $k (@kids) {
    my $fh = $k->[1];
    while (my $line = <$fh>) { chomp $line; my ($c, $o) = split / /, $line, 2; $outcome{$c} = $o }
    waitpid $k->[0], 0;
}
my %after = map { $_->[0] => rss_anon($_->[1]) } @watched;
my $quiet = time - ($t_start + 0.6 * $seconds);
for my $w (@watched) {
    my ($name) = @$w;
    my $grew = defined $before{$name} && defined $after{$name} ? $after{$name} - $before{$name} : undef;
    diag sprintf '%s: own memory %s kB → %s kB over the last %.0f s of load', $name, $before{$name} // '?', $after{$name} // '?', $quiet;
    ok defined $grew && $grew <= 8192, "$name: its own memory grows by at most 8 MB over the quiet stretch" or diag "grew by " . ($grew // '?') . ' kB';
}

# --- counts -----------------------------------------------------------------
my @acked = grep { $outcome{$_} eq 'acked' } keys %outcome;
my $refused = grep { $outcome{$_} eq 'refused' } keys %outcome;
my @other = grep { $outcome{$_} =~ /^other/ } keys %outcome;
sub greetings {
    my %n;
    for my $r (@{ fake_requests(path => 'Messages.json') }) {
        next unless $r->{body} =~ /(?:^|&)To=%2B(\d+)/;
        my $to = "+$1";
        $n{$to}++ if $r->{body} =~ /Body=Sorry(?:\+|%20)we(?:\+|%20)missed(?:\+|%20)your(?:\+|%20)call/;
    }
    return \%n;
}
my $texted = wait_until(sub { my $g = greetings(); (grep { $g->{$_} } @acked) == @acked ? $g : undef }, 90) // greetings();
my $lost = grep { !$texted->{$_} } @acked;
my $dup = grep { ($texted->{$_} // 0) > 1 } @acked;
diag sprintf 'soak %d s, %d businesses, %d calls/s: %d calls sent, %d acknowledged, %d refused (edge restarting), %d other, %d texted, %d lost, %d duplicated',
    $seconds, $businesses, $rate, scalar(keys %outcome), scalar(@acked), $refused, scalar(@other),
    scalar(grep { $texted->{$_} } @acked), $lost, $dup;
diag 'other outcomes: ' . join(', ', map { "$_ $outcome{$_}" } @other[0 .. ($#other < 4 ? $#other : 4)]) if @other;
cmp_ok scalar(@acked), '>', 0.8 * keys %outcome, 'most calls were acknowledged, through every fault';
is scalar(@other), 0, 'no call got an error (every one was answered with TwiML, or found the edge restarting)';
is $lost, 0, 'every acknowledged caller was texted';
# At-least-once: a send whose outcome was not yet durable when its process died
# (the dispatcher terminated, the postmaster killed: sends in flight, and
# completions or inbox batches inside the unflushed WAL window) goes out again.
# At most the dispatcher's concurrency per such fault.
my $bound = 2 * sql("SELECT nmc.setting_int('dispatcher_max_concurrency')");
cmp_ok $dup, '<=', $bound, "duplicates only within the at-least-once window of the two crashes (at most $bound)";
is sql("SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NOT NULL"), 0, 'no webhook failed to apply';
is sql("SELECT count(*) FROM nmc.jobs WHERE status = 'failed' AND kind = 'twilio.sms.send' AND finished_at > to_timestamp($t_start)"), 0,
   'no text failed for good (the Twilio outage was waited out)';

done_testing;
