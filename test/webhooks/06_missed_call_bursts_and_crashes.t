# 06_missed_call_bursts_and_crashes.t — missed calls and the callers' texts
# to ONE business through the real edge and the real inbox worker, texted
# through the fake Twilio: a burst from many callers (each texted once, events
# numbered without gaps), the inbox worker terminated twice in the middle of a
# burst, and Postgres killed with SIGKILL in the middle of one (the edge keeps
# what arrives meanwhile in its spool). Counts, for every fault: acknowledged
# (answered 200), threaded once (one call row and one greeting per CallSid,
# one message per MessageSid, in the database), texted (at the fake Twilio),
# lost (must be 0), duplicated.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use POSIX ();
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use NmcTest qw(sql sql_row fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
use_fake_providers();
fake_reset();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $number = '+15125550520';
my ($business) = sql("SELECT nmc_test.business_with_number('$number')");
# The callers' texts open human windows: none may end (and hand the
# conversation to the assistant, which would text the caller) during the test.
sql("UPDATE nmc.businesses SET human_window_seconds = 3600 WHERE id = '$business'");
# A crashed send is re-sent once its lease runs out: keep that short here.
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 1500 WHERE kind = 'twilio.sms.send'});
sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"100"}')});
# Commits durable as in production (scripts/lib/cluster.sh keeps PostgreSQL's default):
# the test cluster otherwise runs with synchronous_commit off, and a crash then loses
# the last ~200 ms of commits, whose texts had already gone out: a duplicate for each,
# which production would not see. (The dispatcher's claim stays asynchronous: it says so.)
sql(q{ALTER SYSTEM SET synchronous_commit = on});
sql(q{SELECT pg_reload_conf()});
END {
    eval { sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 15000 WHERE kind = 'twilio.sms.send'}) };
    eval { sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"5000"}')}) };
    eval { sql(q{ALTER SYSTEM RESET synchronous_commit}); sql(q{SELECT pg_reload_conf()}) };
}

my $next_caller = 0;
# Sends $n missed calls (the voice webhook, then the <Dial> ending no-answer),
# each followed by a text from the caller, from distinct callers, from $senders
# processes, each pausing $gap seconds between callers. Returns a sub that
# collects the answers once the senders are done: { caller => { ok => 1 if both
# voice webhooks were answered 200 with the right TwiML, else the statuses,
# call => CallSid, text => MessageSid, text_ok => 1 if the text was answered 200 } }.
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
                my $sms = random_sid('SM');
                my $t = post_twilio($edge, $public, '/webhooks/twilio/sms',
                                    { MessageSid => $sms, From => $callers[$i], To => $number, Body => 'my kitchen sink is blocked',
                                      NumMedia => '0', AccountSid => 'ACffffffffffffffffffffffffffffffff' }, $token);
                print $w join(' ', $callers[$i], ($ok ? 1 : "$v->{status}/$d->{status}"), $call{CallSid}, $sms,
                              ($t->{status} == 200 ? 1 : $t->{status})), "\n";
                sleep $gap if $gap;
            }
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    return sub {
        my %answered;
        for my $k (@kids) {
            my $fh = $k->[1];
            while (my $line = <$fh>) {
                chomp $line;
                my ($c, $ok, $call, $text, $text_ok) = split / /, $line;
                $answered{$c} = { ok => $ok, call => $call, text => $text, text_ok => $text_ok };
            }
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

sub acked { my ($answered) = @_; return grep { $answered->{$_}{ok} eq '1' } keys %$answered }

# acknowledged, texted, lost and duplicated among the callers answered 200, at
# the fake Twilio.
sub tally {
    my ($answered, $what) = @_;
    my @acked = acked($answered);
    my $texts = texts_by_caller();
    my $texted = grep { $texts->{$_} } @acked;
    my $lost = @acked - $texted;
    my $dup = grep { ($texts->{$_} // 0) > 1 } keys %$answered;
    diag sprintf '%s: %d calls sent, %d acknowledged, %d texted, %d lost, %d duplicated',
        $what, scalar(keys %$answered), scalar(@acked), $texted, $lost, $dup;
    return (scalar(@acked), $texted, $lost, $dup);
}

# In the database, for the webhooks answered 200: calls recorded once, not at
# all or more than once (by CallSid); greetings per acknowledged caller (one
# outbound text each: once, none, more); inbound texts threaded once, not at
# all, more than once (by MessageSid). Returns { calls_once, calls_lost,
# calls_dup, greeted_once, greeted_none, greeted_dup, texts_acked,
# texts_once, texts_lost, texts_dup }.
sub threaded {
    my ($answered, $what) = @_;
    my @calls = map { $answered->{$_}{call} } acked($answered);
    my @callers = acked($answered);
    my @texts = map { $answered->{$_}{text} } grep { $answered->{$_}{text_ok} eq '1' } keys %$answered;
    my $list = sub { "'{" . join(',', @_) . "}'::text[]" };
    my %r;
    @r{qw(calls_once calls_lost calls_dup)} = sql_row(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1)
           FROM (SELECT (SELECT count(*) FROM nmc.calls c WHERE c.twilio_call_sid = s) AS n FROM unnest(" . $list->(@calls) . ") s) x");
    @r{qw(greeted_once greeted_none greeted_dup)} = sql_row(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1)
           FROM (SELECT (SELECT count(*) FROM nmc.messages m WHERE m.business_id = '$business' AND m.direction = 'outbound'
                            AND m.to_phone = p) AS n FROM unnest(" . $list->(@callers) . ") p) x");
    @r{qw(texts_once texts_lost texts_dup)} = sql_row(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1)
           FROM (SELECT (SELECT count(*) FROM nmc.messages m WHERE m.twilio_sid = s AND m.direction = 'inbound') AS n
                   FROM unnest(" . $list->(@texts) . ") s) x");
    $r{texts_acked} = @texts;
    diag sprintf '%s, in the database: calls recorded once %d (lost %d, twice %d); greetings once %d (none %d, more %d); '
               . 'texts sent %d, acknowledged %d, threaded once %d (lost %d, twice %d)',
        $what, @r{qw(calls_once calls_lost calls_dup greeted_once greeted_none greeted_dup)}, scalar(keys %$answered),
        @r{qw(texts_acked texts_once texts_lost texts_dup)};
    return \%r;
}

# Every acknowledged caller texted at the fake, and every acknowledged text threaded.
sub all_texted {
    my ($answered, $timeout) = @_;
    my @acked = acked($answered);
    my @sids = map { $answered->{$_}{text} } grep { $answered->{$_}{text_ok} eq '1' } keys %$answered;
    return wait_until(sub {
        my $t = texts_by_caller();
        !grep({ !$t->{$_} } @acked)
            && sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid = ANY ('{" . join(',', @sids) . "}')") == @sids
    }, $timeout);
}

# The edge's spool counters (edge/webhook_spool.c), from /metrics.
sub spool_counts {
    my $m = HTTP::Tiny->new->get("$edge/metrics")->{content} // '';
    my %c = map { $m =~ /^nmc_webhook_${_} (\d+)$/m ? ($_ => $1) : ($_ => undef) } qw(spooled_total spool_replayed_total spool_waiting);
    return \%c;
}

# Asserts the database's counts for one case: everything acknowledged is
# threaded exactly once.
sub threaded_once {
    my ($answered, $what) = @_;
    my $r = threaded($answered, $what);
    my $acked = () = acked($answered);
    is_deeply [@$r{qw(calls_once calls_lost calls_dup)}], [$acked, 0, 0], "… $what: each acknowledged call recorded once (lost 0, duplicated 0)";
    is_deeply [@$r{qw(greeted_once greeted_none greeted_dup)}], [$acked, 0, 0], "… $what: each acknowledged caller has one greeting";
    is_deeply [@$r{qw(texts_once texts_lost texts_dup)}], [$r->{texts_acked}, 0, 0],
        "… $what: each acknowledged text threaded once (lost 0, duplicated 0)";
    return $r;
}

# 1. A burst to one business: every caller texted once, in one go.
my $answered = missed_calls(300, 8, 0)->();
is scalar(grep { $_->{ok} eq '1' && $_->{text_ok} eq '1' } values %$answered), 300,
   'a burst of 300 missed calls and 300 texts to one number: every webhook answered at once';
ok all_texted($answered, 60), '… every caller gets the greeting, every text is threaded';
my ($acked, $texted, $lost, $dup) = tally($answered, 'burst');
is $lost, 0, '… none lost';
is $dup, 0, '… none texted twice';
threaded_once($answered, 'burst');
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
ok all_texted($answered, 60), '… every acknowledged caller is texted, every acknowledged text threaded';
($acked, $texted, $lost, $dup) = tally($answered, 'inbox worker terminated twice');
is $acked, 200, '… every webhook was acknowledged';
is scalar(grep { $_->{text_ok} eq '1' } values %$answered), 200, '… every text too';
is $lost, 0, '… none lost';
is $dup, 0, '… none texted twice';
threaded_once($answered, 'inbox worker terminated twice');
is sql('SELECT count(*) FROM nmc.webhook_inbox'), 0, '… and the inbox is empty';

# 3. Postgres killed (SIGKILL to the postmaster) in the middle of a burst. A
# commit acknowledged to the edge must survive: durable commits here. While it
# is down the edge keeps the webhooks in its spool and answers them itself.
sql('ALTER SYSTEM SET synchronous_commit = on');
sql('SELECT pg_reload_conf()');
END { eval { sql('ALTER SYSTEM RESET synchronous_commit'); sql('SELECT pg_reload_conf()') } }
fake_reset();
my $spool_before = spool_counts();
$collect = missed_calls(200, 4, 0.02);
# Killed once 60 of this burst's incoming calls were accepted (recorded as a
# call, or waiting in the inbox), while the senders are still sending.
wait_until(sub { sql("SELECT (SELECT count(*) FROM nmc.calls WHERE business_id = '$business')
                           + (SELECT count(*) FROM nmc.webhook_inbox WHERE kind = 'voice')") >= 560 }, 20);
my $data = "$ENV{NMC_TEST_STATE}/data";
open my $pidfile, '<', "$data/postmaster.pid" or die "$data/postmaster.pid: $!";
my $postmaster = <$pidfile>;
chomp $postmaster;
close $pidfile;
ok kill(KILL => $postmaster), "the postmaster ($postmaster) is killed mid-burst";
# Gone first (pg_ctl would take a dying postmaster for a running one); its
# children leave as they notice. Once nothing answers, ten more callers (and
# their texts): the edge must answer them from its spool, whether or not the
# burst's senders are still sending by then.
wait_until(sub { !kill(0, $postmaster) }, 30);
wait_until(sub { !eval { sql('SELECT 1') } }, 30);
my $during = missed_calls(10, 1, 0)->();
is scalar(grep { $_->{ok} eq '1' && $_->{text_ok} eq '1' } values %$during), 10,
   '… ten callers and their texts while the database is down: all answered 200, by the edge';
cmp_ok spool_counts()->{spooled_total} - $spool_before->{spooled_total}, '>=', 30, '… from its spool';
my $started = 0;
my $t0 = time;
while (!$started && time - $t0 < 60) {
    $started = system("$ENV{NMC_TEST_STACK} pg-start >/dev/null 2>&1") == 0 && eval { sql('SELECT 1') };
    sleep 0.2 unless $started;
}
ok $started, 'Postgres starts again (crash recovery)';
$answered = { %{ $collect->() }, %$during };
# What the edge kept on disk meanwhile is replayed first (edge/webhook_spool.c).
ok wait_until(sub { (spool_counts()->{spool_waiting} // -1) == 0 }, 60),
   '… the webhooks the edge kept while it was down are all replayed';
my $spool_after = spool_counts();
my $spooled = $spool_after->{spooled_total} - $spool_before->{spooled_total};
my $replayed = $spool_after->{spool_replayed_total} - $spool_before->{spool_replayed_total};
diag "postmaster killed: the edge kept $spooled webhooks in its spool and replayed $replayed";
is $replayed, $spooled, '… every spooled webhook replayed';
ok all_texted($answered, 60), '… and every caller whose webhooks were acknowledged is texted, every text threaded';
($acked, $texted, $lost, $dup) = tally($answered, 'postmaster killed');
is $acked, 210, '… every webhook was acknowledged (by the database, or by the edge from its spool)';
is scalar(grep { $_->{text_ok} eq '1' } values %$answered), 210, '… every text too';
is $lost, 0, '… none of them lost';
# A text whose send was in flight at the crash is sent again (at-least-once:
# the dispatcher cannot know whether Twilio got it). Counted, and few.
cmp_ok $dup, '<=', 16, '… duplicates at the fake only among the sends in flight at the crash';
threaded_once($answered, 'postmaster killed');
is sql("SELECT count(*) FROM (SELECT c.twilio_call_sid FROM nmc.calls c WHERE c.business_id = '$business'
         GROUP BY 1 HAVING count(*) > 1) d"), 0, 'no call is recorded twice';
is sql("SELECT count(*) FROM nmc.messages m JOIN nmc.calls c ON c.message_id = m.id WHERE c.business_id = '$business'")
   , sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND decision = 'texted'"), 'each texted call has exactly one greeting';
is sql('SELECT count(*) FROM nmc.webhook_inbox'), 0, '… and the inbox is empty';

done_testing;
