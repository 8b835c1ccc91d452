#!/usr/bin/env perl
# bench/webhooks.pl — missed calls through the real edge: 1,000 businesses,
# signed dial-action webhooks (no-answer) at fixed offered rates; prints the
# webhook response time and the time from sending the webhook to the fake
# Twilio receiving the greeting (p50/p99/max). Called by bench/run.sh with
# the bench cluster's environment; never part of pass/fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../scripts/lib";
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);
use lib "$FindBin::Bin/lib";
use FastHttp qw(http_post_fast);
use TwilioWebhook qw(sign_twilio random_sid);


my $state = $ENV{NMC_BENCH_STATE} or die "run through make bench\n";
my $fake = $ENV{NMC_BENCH_FAKE_URL} or die "run through make bench\n";
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }
my $http = HTTP::Tiny->new(timeout => 60);
sub pct { my ($p, @s) = @_; return $s[ int(($#s) * $p / 100 + 0.5) ] }

sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$fake"}')});
sql(q{WITH b AS (INSERT INTO nmc.businesses (name, trade_type, timezone, forward_to_phone)
                SELECT 'Bench ' || g, 'plumbing', 'America/Chicago', '+15125550199' FROM generate_series(1, 1000) g RETURNING id, name)
      INSERT INTO nmc.phone_numbers (business_id, phone)
      SELECT id, format('+1737%s', 2000000 + substr(name, 7)::int) FROM b});
sql(q{SELECT count(nmc.hours_replace(id, (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                          FROM generate_series(0, 6) d)))
        FROM nmc.businesses WHERE name LIKE 'Bench %'});
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $seq = 0;

for my $rate (10, 100, 200, 500) {
    my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 5;
    my $count = $rate * $seconds;
    $http->post("$fake/_fake/reset");
    my $workers = $rate >= 100 ? 8 : 1;
    my $start = time + 0.2;
    my @pids;
    pipe(my $r, my $w) or die;
    for my $k (0 .. $workers - 1) {
        my $pid = fork // die;
        if ($pid == 0) {
            close $r;
            my $sock;
            for (my $i = $k; $i < $count; $i += $workers) {
                my $n = $seq + $i;
                my $due = $start + $i / $rate;
                my $now = time;
                sleep($due - $now) if $due > $now;
                my %p = (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
                         From => sprintf('+1512%07d', 2000000 + $n), To => sprintf('+1737%07d', 2000001 + $n % 1000),
                         DialCallStatus => 'no-answer', DialBridged => 'false', CallStatus => 'in-progress');
                my $body = join '&', map { my $v = $p{$_}; $v =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; "$_=$v" } sort keys %p;
                my $sent = time;
                my $st = http_post_fast(\$sock, '127.0.0.1', $ENV{NMC_HTTP_PORT}, '/webhooks/twilio/voice/dial',
                    { 'Content-Type' => 'application/x-www-form-urlencoded',
                      'X-Twilio-Signature' => sign_twilio("$public/webhooks/twilio/voice/dial", \%p, $token) }, $body);
                printf $w "%s %.6f %.6f %d\n", $p{From}, $sent, time - $sent, $st;
            }
            exit 0;
        }
        push @pids, $pid;
    }
    close $w;
    my (%sent, @resp, $bad);
    while (my $line = <$r>) {
        my ($from, $t, $d, $st) = split ' ', $line;
        $sent{$from} = $t;
        push @resp, $d * 1000;
        $bad++ if $st != 200;
    }
    waitpid $_, 0 for @pids;
    my $deadline = time + 60;
    my $reqs;
    # Count distinct recipients: a text retried after a transient failure is one text.
    while (time < $deadline) {
        $reqs = decode_json($http->get("$fake/_fake/requests?path=Messages.json")->{content});
        my %to = map { ($_->{body} =~ /To=%2B(\d+)/)[0] // '' => 1 } @$reqs;
        last if keys(%to) >= $count;
        sleep 0.2;
    }
    my %first;
    $reqs = [ grep { !$first{$_->{body}}++ } @$reqs ];
    my @lat;
    for my $q (@$reqs) {
        my ($to) = $q->{body} =~ /To=%2B(\d+)/ or next;
        push @lat, ($q->{received_at_us} / 1e6 - $sent{"+$to"}) * 1000 if $sent{"+$to"};
    }
    @lat = sort { $a <=> $b } @lat;
    @resp = sort { $a <=> $b } @resp;
    printf "%-40s response p50 %6.2f ms p99 %7.2f ms | to Twilio p50 %6.2f ms p99 %7.2f ms max %7.2f ms (%d/%d texts matched in the fake's log%s)\n",
        "missed calls at $rate/s offered", pct(50, @resp), pct(99, @resp), pct(50, @lat), pct(99, @lat), $lat[-1] // 0,
        scalar @lat, $count, $bad ? ", $bad webhook errors" : "";
    my $jobs = join ', ', sql("SELECT status || ' ' || count(*) FROM nmc.jobs WHERE kind = 'twilio.sms.send' GROUP BY status ORDER BY status");
    my $decisions = join ', ', sql("SELECT d || ' ' || count(*) FROM (SELECT coalesce(decision, status) AS d FROM nmc.calls) x GROUP BY d ORDER BY d");
    print "    (so far — calls: $decisions; text jobs: $jobs)\n";
    $seq += $count;
}
