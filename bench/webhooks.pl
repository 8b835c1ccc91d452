#!/usr/bin/env perl
# bench/webhooks.pl — missed calls through the real edge, inbox worker and
# dispatcher to the fake Twilio: signed dial-action webhooks (no-answer) from
# distinct callers, to ONE business's number and spread over 1,000, at fixed
# offered rates (NMC_BENCH_RATES, default 10,100,200,500,1000 calls/s), then
# flat out. Prints, per run: the webhook's response time, webhook sent →
# Messages.json at the fake (p50/p99/max), the rate accepted and texted, what
# waited in the inbox when the senders stopped, and CPU per missed call (every
# process of the stack: accept, apply, send). Called by bench/run.sh (also
# against the previous version, bench/baseline.sh); never part of pass/fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../scripts/lib", "$FindBin::Bin/lib";
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);
use FastHttp qw(http_post_fast form_encode);
use TwilioWebhook qw(sign_twilio random_sid);
use BenchCpu qw(cpu_ms);

my $state = $ENV{NMC_BENCH_STATE} or die "run through make bench\n";
my $fake = $ENV{NMC_BENCH_FAKE_URL} or die "run through make bench\n";
my $label = $ENV{NMC_BENCH_LABEL} // 'this version';
my $port = $ENV{NMC_HTTP_PORT};
my @rates = split /,/, ($ENV{NMC_BENCH_RATES} // '10,100,200,500,1000');
my @spreads = split /,/, ($ENV{NMC_BENCH_SPREADS} // '1,1000');
my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 5;
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }
my $http = HTTP::Tiny->new(timeout => 60);
sub pct { my ($p, @s) = @_; return @s ? $s[ int(($#s) * $p / 100 + 0.5) ] : 0 }

sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$fake"}')});
if (sql(q{SELECT count(*) FROM nmc.businesses WHERE name ~ '^Bench [0-9]+$'}) == 0) {
    sql(q{WITH b AS (INSERT INTO nmc.businesses (name, trade_type, timezone, forward_to_phone)
                    SELECT 'Bench ' || g, 'plumbing', 'America/Chicago', '+15125550199' FROM generate_series(1, 1000) g RETURNING id, name)
          INSERT INTO nmc.phone_numbers (business_id, phone)
          SELECT id, format('+1737%s', 2000000 + substr(name, 7)::int) FROM b});
    sql(q{SELECT count(nmc.hours_replace(id, (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d)))
            FROM nmc.businesses WHERE name ~ '^Bench [0-9]+$'});
}
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $inbox_table = sql(q{SELECT coalesce(to_regclass('nmc.webhook_inbox'), to_regclass('nmc.sms_inbox'))});
my $seq = 0;

sub dial_params {
    my ($n, $spread) = @_;
    return (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
            From => sprintf('+1512%07d', 2000000 + $n), To => sprintf('+1737%07d', 2000001 + $n % $spread),
            DialCallStatus => 'no-answer', DialBridged => 'false', CallStatus => 'in-progress');
}

# Distinct recipients at the fake (a text retried after a transient failure is one text).
sub texts_at_fake {
    my $reqs = decode_json($http->get("$fake/_fake/requests?path=Messages.json")->{content});
    my %first;
    for my $q (@$reqs) {
        my ($to) = $q->{body} =~ /To=%2B(\d+)/ or next;
        $first{"+$to"} //= $q->{received_at_us} / 1e6;
    }
    return \%first;
}

sub wait_texted {
    my ($count, $deadline) = @_;
    my $texts;
    while (1) {
        $texts = texts_at_fake();
        last if keys(%$texts) >= $count || time > $deadline;
        sleep 0.1;
    }
    return ($texts, time);
}

sub inbox_waiting { $inbox_table ? sql("SELECT count(*) FROM $inbox_table WHERE failed_at IS NULL") : 0 }

printf "missed calls, %s (webhook → Messages.json at the fake Twilio; %d s per rate)\n", $label, $seconds;
for my $spread (@spreads) {
    for my $rate (@rates) {
        my $count = $rate * $seconds;
        $http->post("$fake/_fake/reset");
        my $workers = $rate >= 500 ? 16 : $rate >= 100 ? 8 : 2;
        my @cpu_before = cpu_ms($state);
        my $start = time + 0.2;
        my @pids;
        pipe(my $r, my $w) or die;
        for my $k (0 .. $workers - 1) {
            my $pid = fork // die;
            if ($pid == 0) {
                close $r;
                $w->autoflush(1);    # whole lines: sixteen writers share the pipe
                my $sock;
                for (my $i = $k; $i < $count; $i += $workers) {
                    my $due = $start + $i / $rate;
                    my $now = time;
                    sleep($due - $now) if $due > $now;
                    my %p = dial_params($seq + $i, $spread);
                    my $sig = sign_twilio("$public/webhooks/twilio/voice/dial", \%p, $token);
                    my $sent = time;
                    my $st = http_post_fast(\$sock, '127.0.0.1', $port, '/webhooks/twilio/voice/dial',
                        { 'Content-Type' => 'application/x-www-form-urlencoded', 'X-Twilio-Signature' => $sig }, form_encode(\%p));
                    my $done = time;
                    printf $w "%s %.6f %.6f %d\n", $p{From}, $sent, $done, $st;
                }
                exit 0;
            }
            push @pids, $pid;
        }
        close $w;
        my (%sent, @resp, $bad, $last_answer);
        while (my $line = <$r>) {
            my ($from, $t, $done, $st) = split ' ', $line;
            $sent{$from} = $t;
            push @resp, ($done - $t) * 1000;
            $last_answer = $done if !$last_answer || $done > $last_answer;
            $bad++ if $st != 200;
        }
        waitpid $_, 0 for @pids;
        my $waiting = inbox_waiting();
        my ($texts, $texted_at) = wait_texted($count, time + 60);
        my @cpu_after = cpu_ms($state);
        my @lat = sort { $a <=> $b } map { ($texts->{$_} - $sent{$_}) * 1000 } grep { $texts->{$_} } keys %sent;
        my $last_text = 0;
        $last_text = $_ > $last_text ? $_ : $last_text for values %$texts;
        @resp = sort { $a <=> $b } @resp;
        my $cpu = ($cpu_after[0] + $cpu_after[1] - $cpu_before[0] - $cpu_before[1]) / ($count || 1);
        printf "  %-5s %5d/s offered: accepted %5.0f/s, texted %5.0f/s (%d/%d)  response p50 %5.2f p99 %6.2f ms | to Twilio p50 %6.2f p99 %7.2f max %7.2f ms | inbox %4d at the end | CPU %.2f ms/call (database %.2f, inbox worker %.2f, edge %.2f)%s\n",
            $spread == 1 ? '1 biz' : "$spread", $rate, $count / (($last_answer // $start) - $start || 1), scalar(@lat) / (($last_text || $texted_at) - $start || 1),
            scalar @lat, $count, pct(50, @resp), pct(99, @resp), pct(50, @lat), pct(99, @lat), $lat[-1] // 0, $waiting, $cpu,
            (map { ($cpu_after[$_] - $cpu_before[$_]) / ($count || 1) } 0, 2, 1), $bad ? ", $bad webhook errors" : '';
        $seq += $count;
    }
}

# Flat out: pre-signed dial webhooks sent by wrk (bench/signed_requests.lua),
# 16 connections, to one number and spread over 1,000.
my $flat = $ENV{NMC_BENCH_FLAT_SECONDS} // 5;
exit 0 unless $flat;
sql('ANALYZE');
for my $spread (@spreads) {
    my $planned = ($ENV{NMC_BENCH_FLAT_MAX_RATE} // 5000) * $flat;
    my $file = "$state/bench-dial-requests.txt";
    open my $rf, '>', $file or die;
    for my $i (0 .. $planned - 1) {
        my %p = dial_params($seq + $i, $spread);
        print $rf sign_twilio("$public/webhooks/twilio/voice/dial", \%p, $token), "\t", form_encode(\%p), "\n";
    }
    close $rf;
    $http->post("$fake/_fake/reset");
    my @cpu_before = cpu_ms($state);
    my $start = time;
    my $wrk = qx{NMC_BENCH_REQUESTS=$file NMC_BENCH_PATH=/webhooks/twilio/voice/dial NMC_BENCH_WRK_THREADS=2 wrk -t 2 -c 16 -d ${flat}s -s $FindBin::Bin/signed_requests.lua http://127.0.0.1:$port/ 2>&1};
    my %w = $wrk =~ /(\w+)=([\d.]+)/g;
    die "wrk failed: $wrk\n" unless defined $w{requests};
    my $ok = $w{requests} - $w{non200};
    my $waiting = inbox_waiting();
    my ($texts, $texted_at) = wait_texted($ok, time + 120);
    my @cpu_after = cpu_ms($state);
    my $last_text = 0;
    $last_text = $_ > $last_text ? $_ : $last_text for values %$texts;
    my $cpu = ($cpu_after[0] + $cpu_after[1] - $cpu_before[0] - $cpu_before[1]) / ($ok || 1);
    printf "  flat out, %-14s accepted %5.0f/s (%d, %d errors%s; response p50 %.1f p99 %.1f ms), texted %5.0f/s (%d; inbox %d when the senders stopped), CPU %.2f ms/call (the inbox worker %.2f)\n",
        $spread == 1 ? 'one business:' : "$spread businesses:", $ok / $w{seconds}, $ok, $w{non200}, $w{ran_out} ? ', RAN OUT' : '',
        $w{p50_us} / 1000, $w{p99_us} / 1000, keys(%$texts) / (($last_text || $texted_at) - $start || 1), scalar(keys %$texts), $waiting, $cpu,
        ($cpu_after[2] - $cpu_before[2]) / ($ok || 1);
    $seq += $planned;
}
