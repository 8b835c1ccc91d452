#!/usr/bin/env perl
# bench/alerts.pl — the owner's alert when a customer writes: signed inbound
# SMS webhooks from new customers, each opening the human window of its own
# conversation, through the real edge, inbox worker and dispatcher to the fake
# Twilio; latency = the customer's text sent → the alert's Messages.json
# request (To = the owner's verified alert phone) at the fake. Offered rates
# NMC_BENCH_ALERT_RATES (default 10,100,200 texts/s) to ONE business and
# spread over 1,000, then a burst of 1,000 missed calls to the one business
# (bench/webhooks.pl's dial webhooks) with texts at 10/s meanwhile: alerts
# under load. Called by bench/run.sh (NMC_BENCH_ONLY=alerts runs it alone);
# never part of pass/fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../scripts/lib", "$FindBin::Bin/lib";
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);
use POSIX ();
use FastHttp qw(http_post_fast form_encode);
use TwilioWebhook qw(sign_twilio random_sid);

my $state = $ENV{NMC_BENCH_STATE} or die "run through make bench\n";
my $fake = $ENV{NMC_BENCH_FAKE_URL} or die "run through make bench\n";
my $port = $ENV{NMC_HTTP_PORT};
my @rates = split /,/, ($ENV{NMC_BENCH_ALERT_RATES} // '10,100,200');
my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 5;
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }
my $http = HTTP::Tiny->new(timeout => 60);
sub pct { my ($p, @s) = @_; return @s ? $s[ int(($#s) * $p / 100 + 0.5) ] : 0 }

# 1,000 businesses, each with a number (+1737400nnnn) and a verified alert
# phone (+1512300nnnn); no alert spacing across conversations is involved:
# every text comes from a new customer.
sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$fake"}')});
if (sql(q{SELECT count(*) FROM nmc.businesses WHERE name ~ '^Alert bench [0-9]+$'}) == 0) {
    sql(q{WITH b AS (INSERT INTO nmc.businesses (name, trade_type, timezone, forward_to_phone, alert_phone, alert_phone_verified_at)
                    SELECT 'Alert bench ' || g, 'plumbing', 'America/Chicago', '+15125550199', format('+1512300%s', lpad(g::text, 4, '0')), now()
                      FROM generate_series(1, 1000) g RETURNING id, name)
          INSERT INTO nmc.phone_numbers (business_id, phone)
          SELECT id, format('+1737400%s', lpad(substr(name, 13), 4, '0')) FROM b});
    sql(q{SELECT count(nmc.hours_replace(id, (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d)))
            FROM nmc.businesses WHERE name ~ '^Alert bench [0-9]+$'});
    sql('ANALYZE');
}
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $seq = int(time) % 100000 * 100;   # new customers on every run

sub text_params {
    my ($n, $spread) = @_;
    my $biz = 1 + $n % $spread;
    return (MessageSid => random_sid('SM'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
            # A North American exchange never starts with 0 or 1 (nmc.normalize_phone refuses it).
            From => sprintf('+1213%07d', 2_000_000 + $n % 8_000_000), To => sprintf('+1737400%04d', $biz),
            Body => 'Water is coming through the ceiling, can you come today?', NumSegments => 1);
}

sub unescape { my $v = ($_[0] // '') =~ tr/+/ /r; $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $v }

# Alerts at the fake: the customer each names (its number is in the alert), first request.
sub alerts_at_fake {
    my $reqs = decode_json($http->get("$fake/_fake/requests?path=Messages.json")->{content});
    my %first;
    for my $q (@$reqs) {
        my %f = map { my ($k, $v) = split /=/, $_, 2; (unescape($k), unescape($v)) } split /&/, $q->{body};
        next unless ($f{To} // '') =~ /^\+1512300\d{4}$/;
        my ($customer) = ($f{Body} // '') =~ /^#\d+ (\+1213\d{7}):/ or next;
        $first{$customer} //= $q->{received_at_us} / 1e6;
    }
    return \%first;
}

# Sends $count texts at $rate/s (workers in parallel); returns {customer => sent at}.
sub send_texts {
    my ($count, $rate, $spread) = @_;
    my $workers = $rate >= 100 ? 8 : 2;
    my $start = time + 0.2;
    pipe(my $r, my $w) or die;
    my @pids;
    for my $k (0 .. $workers - 1) {
        my $pid = fork // die;
        if ($pid == 0) {
            close $r;
            $w->autoflush(1);
            my $sock;
            for (my $i = $k; $i < $count; $i += $workers) {
                my $due = $start + $i / $rate;
                my $now = time;
                sleep($due - $now) if $due > $now;
                my %p = text_params($seq + $i, $spread);
                my $sig = sign_twilio("$public/webhooks/twilio/sms", \%p, $token);
                my $sent = time;
                my $st = http_post_fast(\$sock, '127.0.0.1', $port, '/webhooks/twilio/sms',
                    { 'Content-Type' => 'application/x-www-form-urlencoded', 'X-Twilio-Signature' => $sig }, form_encode(\%p));
                printf $w "%s %.6f %d\n", $p{From}, $sent, $st;
            }
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $w;
    my (%sent, $bad);
    while (my $line = <$r>) {
        my ($from, $t, $st) = split ' ', $line;
        $sent{$from} = $t;
        $bad++ if $st != 200;
    }
    waitpid $_, 0 for @pids;
    $seq += $count;
    return (\%sent, $bad // 0);
}

sub report {
    my ($what, $sent, $bad) = @_;
    my $deadline = time + 60;
    my $alerts;
    while (1) {
        $alerts = alerts_at_fake();
        last if keys(%$alerts) >= keys(%$sent) || time > $deadline;
        sleep 0.1;
    }
    my @lat = sort { $a <=> $b } map { ($alerts->{$_} - $sent->{$_}) * 1000 } grep { $alerts->{$_} } keys %$sent;
    printf "  %-34s alerted %5d of %5d   customer's text → alert at Twilio p50 %6.1f p99 %7.1f max %7.1f ms%s\n",
        $what, scalar @lat, scalar keys %$sent, pct(50, @lat), pct(99, @lat), $lat[-1] // 0, $bad ? "  ($bad webhook errors)" : '';
}

print "alerts to the owner's phone (a new customer's text → the alert's Messages.json at the fake Twilio; $seconds s per rate)\n";
for my $spread (1, 1000) {
    for my $rate (@rates) {
        $http->post("$fake/_fake/reset");
        my ($sent, $bad) = send_texts($rate * $seconds, $rate, $spread);
        report(sprintf('%-13s %4d texts/s', $spread == 1 ? 'one business,' : '1,000 businesses,', $rate), $sent, $bad);
    }
}

# Under load: the one business gets 1,000 missed calls at 200/s (5 s) while
# customers write to it at 10/s.
$http->post("$fake/_fake/reset");
my $calls = fork // die;
if ($calls == 0) {
    my $sock;
    my $start = time;
    for my $i (0 .. 999) {
        my $due = $start + $i / 200;
        my $now = time;
        sleep($due - $now) if $due > $now;
        my %p = (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
                 From => sprintf('+1214%07d', 2_000_000 + ($seq + $i) % 8_000_000), To => '+17374000001',
                 DialCallStatus => 'no-answer', DialBridged => 'false', CallStatus => 'in-progress');
        my $sig = sign_twilio("$public/webhooks/twilio/voice/dial", \%p, $token);
        http_post_fast(\$sock, '127.0.0.1', $port, '/webhooks/twilio/voice/dial',
            { 'Content-Type' => 'application/x-www-form-urlencoded', 'X-Twilio-Signature' => $sig }, form_encode(\%p));
    }
    POSIX::_exit(0);
}
my ($sent, $bad) = send_texts(10 * $seconds, 10, 1);
waitpid $calls, 0;
report('one business, 10 texts/s + 200 missed calls/s', $sent, $bad);
