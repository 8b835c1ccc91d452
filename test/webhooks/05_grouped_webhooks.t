# 05_grouped_webhooks.t — the edge's group commit of Twilio's webhooks
# (edge/api_call.c, for the routes nmc_api.grouped_routes lists) through the real edge: webhooks that arrive while the
# database is busy with another are committed together in one transaction,
# each still gets its own answer (a bad signature its 403, a Twilio retry of
# a text in the same group is recorded once), and a group the database
# refuses as a whole is run again one webhook at a time, losing nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use POSIX ();
use NmcTest qw(sql wait_until psql_session);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
sql("SELECT nmc_test.business_with_number('+15125550290')");

# Asked with a short timeout: an HTTP thread that accepted this connection
# together with a webhook may be waiting in the burst; the next try gets another.
sub queued {
    my $res = HTTP::Tiny->new(timeout => 1)->get("$edge/metrics");
    return -1 unless $res->{success};
    return $res->{content} =~ /^nmc_webhook_group_queued (\d+)$/m ? $1 : die "no nmc_webhook_group_queued in /metrics\n";
}
sub waiting_on_lock {
    return sql(q{SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT status, %nmc_api.handle%'});
}
sub grouped {
    my $m = HTTP::Tiny->new->get("$edge/metrics")->{content};
    return $m =~ /^nmc_webhook_grouped_total (\d+)$/m ? $1 : die "no nmc_webhook_grouped_total in /metrics\n";
}

# Sends the webhooks at once, each from its own process, while a session holds
# the inbox locked: the first waits in the database and the rest queue in the
# edge behind it. Returns each one's HTTP status, in order.
sub send_while_locked {
    my @hooks = @_;
    my $lock = psql_session();
    print $lock "BEGIN; LOCK TABLE nmc.webhook_inbox IN EXCLUSIVE MODE; SELECT 1;\n";
    wait_until(sub { sql(q{SELECT count(*) FROM pg_locks WHERE relation = 'nmc.webhook_inbox'::regclass AND mode = 'ExclusiveLock' AND granted}) == 1 }, 10)
        or BAIL_OUT('could not lock the inbox');
    my @kids;
    for my $i (0 .. $#hooks) {
        pipe my $r, my $w or die;
        my $pid = fork // die;
        if (!$pid) {
            close $r;
            my $h = $hooks[$i];
            my $res = post_twilio($edge, $public, '/webhooks/twilio/sms', $h->{params}, $token, $h->{signature});
            print $w "$res->{status}\n";
            close $w;
            POSIX::_exit(0);    # not this file's END block (it grants back what the test revoked)
        }
        close $w;
        push @kids, [$pid, $r];
        # The first one in before the others, so it leads the first group and
        # waits in the database; each of the others queued in the edge (the edge
        # says so) before the next is sent, so each reaches a free HTTP thread.
        wait_until(sub { $i == 0 ? waiting_on_lock() >= 1 : queued() >= $i }, 20)
            or diag("webhook $i: " . queued() . ' queued in the edge, ' . waiting_on_lock() . ' waiting in the database');
    }
    print $lock "COMMIT;\n";
    close $lock;
    my @status;
    for my $k (@kids) {
        my $fh = $k->[1];
        my $s = <$fh>;
        waitpid $k->[0], 0;
        chomp($s //= 'none');
        push @status, $s;
    }
    return @status;
}

sub text_from { my ($n, %x) = @_; return { params => { MessageSid => $x{sid} // random_sid('SM'), From => sprintf('+1512555%04d', 3000 + $n),
                                                       To => '+15125550290', Body => "grouped text $n" }, signature => $x{signature} } }

my $before = grouped();
my $retried = random_sid('SM');
my @hooks = (text_from(0), text_from(1), text_from(2, sid => $retried), text_from(3, signature => 'bm90IHRoZSBzaWduYXR1cmU='),
             text_from(2, sid => $retried));
my @status = send_while_locked(@hooks);
is_deeply \@status, [200, 200, 200, 403, 200], 'each webhook gets its own answer: 200, and 403 for the bad signature';
cmp_ok grouped() - $before, '>=', 2, 'webhooks that queued behind a busy one were committed together';
my @sids = map { $_->{params}{MessageSid} } @hooks[0 .. 2];
my $in = join ',', map { "'$_'" } @sids;
ok wait_until(sub { sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid IN ($in)") == 3 }, 10),
    'every accepted text is threaded';
is sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid = '$retried'"), 1, 'a retry in the same group is recorded once';
is sql("SELECT count(*) FROM nmc.messages WHERE body = 'grouped text 3'"), 0, 'the badly signed one is not';

# The database refuses the group statement itself: every webhook still gets
# its answer, one at a time.
sql('REVOKE EXECUTE ON FUNCTION nmc_api.handle_many(jsonb) FROM nmc_edge');
END { sql('GRANT EXECUTE ON FUNCTION nmc_api.handle_many(jsonb) TO nmc_edge') }
$before = grouped();
@hooks = map { text_from($_) } 10 .. 13;
@status = send_while_locked(@hooks);
is_deeply \@status, [200, 200, 200, 200], 'a group the database refuses: each webhook is answered alone';
is grouped() - $before, 0, '… and none counts as grouped';
$in = join ',', map { "'$_->{params}{MessageSid}'" } @hooks;
ok wait_until(sub { sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid IN ($in)") == 4 }, 10), '… and all four texts are threaded';

done_testing;
