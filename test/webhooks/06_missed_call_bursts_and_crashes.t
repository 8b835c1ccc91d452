# 06_missed_call_bursts_and_crashes.t — missed calls to ONE business through
# the real edge and the real inbox worker, texted through the fake Twilio:
# a burst from many callers (each texted once, events numbered without gaps),
# the inbox worker terminated twice in the middle of a burst, and Postgres
# killed with SIGKILL in the middle of one. Counts, for every fault:
# acknowledged (answered 200 with TwiML), texted, lost (must be 0), duplicated.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use POSIX ();
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
use_fake_providers();
fake_reset();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $number = '+15125550520';
my ($business) = sql("SELECT nmc_test.business_with_number('$number')");
# A crashed send is re-sent once its lease runs out: keep that short here.
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 1500 WHERE kind = 'twilio.sms.send'});
sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"100"}')});
END {
    eval { sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 15000 WHERE kind = 'twilio.sms.send'}) };
    eval { sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"5000"}')}) };
}

my $next_caller = 0;
# Sends $n missed calls (the voice webhook, then the <Dial> ending no-answer)
# from distinct callers, from $senders processes, each pausing $gap seconds
# between calls. Returns { caller => 1 if both webhooks were answered 200 with
# the right TwiML, else the statuses }.
sub missed_calls {
    my ($n, $senders, $gap) = @_;
    my @callers = map { sprintf '+1737555%04d', $next_caller++ } 1 .. $n;
    my @kids;
    for my $s (0 .. $senders - 1) {
        pipe my $r, my $w or die;
        my $pid = fork // die;
        if (!$pid) {
            close $r;
            for (my $i = $s; $i < @callers; $i += $senders) {
                my %call = (CallSid => random_sid('CA'), From => $callers[$i], To => $number,
                            AccountSid => 'ACffffffffffffffffffffffffffffffff');
                my $v = post_twilio($edge, $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $token);
                my $d = post_twilio($edge, $public, '/webhooks/twilio/voice/dial',
                                    { %call, CallStatus => 'in-progress', DialCallStatus => 'no-answer', DialBridged => 'false' }, $token);
                # While Postgres is down the edge answers from its spool: the
                # caller is told a text is coming instead of being forwarded.
                my $ok = $v->{status} == 200 && $v->{content} =~ /<Dial |<Say>/ && $d->{status} == 200 && $d->{content} =~ /<Say>/;
                print $w "$callers[$i] " . ($ok ? 1 : "$v->{status}/$d->{status}") . "\n";
                sleep $gap if $gap;
            }
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    return sub {    # collects the answers once the senders are done
        my %answered;
        for my $k (@kids) {
            my $fh = $k->[1];
            while (my $line = <$fh>) { chomp $line; my ($c, $res) = split / /, $line; $answered{$c} = $res }
            waitpid $k->[0], 0;
        }
        return \%answered;
    };
}

# Texts the fake Twilio received, by recipient.
sub texts_by_caller {
    my %n;
    for my $r (@{ fake_requests(path => 'Messages.json') }) {
        $n{"+$1"}++ if $r->{body} =~ /(?:^|&)To=%2B(\d+)/;
    }
    return \%n;
}

# acknowledged, texted, lost and duplicated among the callers answered 200.
sub tally {
    my ($answered, $what) = @_;
    my @acked = grep { $answered->{$_} eq '1' } keys %$answered;
    my $texts = texts_by_caller();
    my $texted = grep { $texts->{$_} } @acked;
    my $lost = @acked - $texted;
    my $dup = grep { ($texts->{$_} // 0) > 1 } keys %$answered;
    diag sprintf '%s: %d sent, %d acknowledged, %d texted, %d lost, %d duplicated',
        $what, scalar(keys %$answered), scalar(@acked), $texted, $lost, $dup;
    return (scalar(@acked), $texted, $lost, $dup);
}

sub all_texted {
    my ($answered, $timeout) = @_;
    my @acked = grep { $answered->{$_} eq '1' } keys %$answered;
    return wait_until(sub { my $t = texts_by_caller(); !grep { !$t->{$_} } @acked }, $timeout);
}

# 1. A burst to one business: every caller texted once, in one go.
my $answered = missed_calls(300, 8, 0)->();
is scalar(grep { $_ eq '1' } values %$answered), 300, 'a burst of 300 missed calls to one number: every webhook answered at once with its TwiML';
ok all_texted($answered, 60), '… every caller gets the greeting';
my ($acked, $texted, $lost, $dup) = tally($answered, 'burst');
is $lost, 0, '… none lost';
is $dup, 0, '… none texted twice';
is sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND decision = 'texted'"), 300, '… and each call says texted';
is sql("SELECT count(*) = max(seq) AND min(seq) = 1 FROM nmc.events WHERE business_id = '$business'"), 't',
    "the business's events are numbered 1, 2, 3… without a gap";
is sql('SELECT count(*) FROM nmc.webhook_inbox'), 0, 'the inbox is empty';

# 2. The inbox worker terminated twice in the middle of a burst.
fake_reset();
my $collect = missed_calls(200, 4, 0.01);
my $killed = 0;
for (1 .. 2) {
    wait_until(sub { sql('SELECT count(*) FROM nmc.webhook_inbox') > 0 }, 10);
    my ($pid) = sql('SELECT pid FROM nmc.inbox_process()');
    $killed++ if $pid && sql("SELECT pg_terminate_backend($pid)") eq 't';
    wait_until(sub { my ($p) = sql('SELECT pid FROM nmc.inbox_process()'); $p && $p != $pid }, 15);
}
$answered = $collect->();
is $killed, 2, 'the inbox worker was terminated twice during the burst';
ok all_texted($answered, 60), '… every acknowledged caller is texted';
($acked, $texted, $lost, $dup) = tally($answered, 'inbox worker terminated twice');
is $acked, 200, '… every webhook was acknowledged';
is $lost, 0, '… none lost';
is $dup, 0, '… none texted twice';

# 3. Postgres killed (SIGKILL to the postmaster) in the middle of a burst. A
# commit acknowledged to the edge must survive: durable commits here. While it
# is down the edge keeps the webhooks in its spool and answers them itself.
sql('ALTER SYSTEM SET synchronous_commit = on');
sql('SELECT pg_reload_conf()');
END { eval { sql('ALTER SYSTEM RESET synchronous_commit'); sql('SELECT pg_reload_conf()') } }
fake_reset();
$collect = missed_calls(200, 4, 0.02);
wait_until(sub { sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business'") >= 560 }, 20);
my $data = "$ENV{NMC_TEST_STATE}/data";
open my $pidfile, '<', "$data/postmaster.pid" or die "$data/postmaster.pid: $!";
my $postmaster = <$pidfile>;
chomp $postmaster;
close $pidfile;
ok kill(KILL => $postmaster), "the postmaster ($postmaster) is killed mid-burst";
# Gone first (pg_ctl would take a dying postmaster for a running one), then
# started again: until its children have noticed and left, a new postmaster
# refuses to start.
wait_until(sub { !kill(0, $postmaster) }, 30);
my $started = 0;
my $t0 = time;
while (!$started && time - $t0 < 60) {
    $started = system("$ENV{NMC_TEST_STACK} pg-start >/dev/null 2>&1") == 0 && eval { sql('SELECT 1') };
    sleep 0.2 unless $started;
}
ok $started, 'Postgres starts again (crash recovery)';
$answered = $collect->();
# What the edge kept on disk meanwhile is replayed first (edge/webhook_spool.c).
ok wait_until(sub { (HTTP::Tiny->new->get("$edge/metrics")->{content} // '') =~ /^nmc_webhook_spool_waiting 0$/m }, 60),
   '… the webhooks the edge kept while it was down are all replayed';
ok all_texted($answered, 60), '… and every caller whose webhooks were acknowledged is texted';
($acked, $texted, $lost, $dup) = tally($answered, 'postmaster killed');
is $acked, 200, '… every webhook was acknowledged (by the database, or by the edge from its spool)';
is $lost, 0, '… none of them lost';
# A text whose send was in flight at the crash is sent again (at-least-once:
# the dispatcher cannot know whether Twilio got it). Counted, and few.
cmp_ok $dup, '<=', 16, '… duplicates only among the sends in flight at the crash';
is sql("SELECT count(*) FROM (SELECT c.twilio_call_sid FROM nmc.calls c WHERE c.business_id = '$business'
         GROUP BY 1 HAVING count(*) > 1) d"), 0, 'no call is recorded twice';
is sql("SELECT count(*) FROM nmc.messages m JOIN nmc.calls c ON c.message_id = m.id WHERE c.business_id = '$business'")
   , sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND decision = 'texted'"), 'each texted call has exactly one greeting';

done_testing;
