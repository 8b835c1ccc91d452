#!/usr/bin/env perl
# bench/feed.pl — the live feed under load: N WebSocket clients (100, 1,000,
# 5,000; bench/ws_clients) over 100 businesses while signed inbound-SMS
# webhooks arrive at a fixed rate; prints event-commit → frame-received
# latency (p50/p99/max); then, flat out, the webhooks per second the edge
# accepts, the texts per second the inbox worker threads, and the CPU per text,
# for customers' first texts and for replies. Called by bench/run.sh; never part of pass/fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../scripts/lib", "$FindBin::Bin/lib";
use Time::HiRes qw(time sleep);
use List::Util ();
use FastHttp qw(http_post_fast form_encode);
use TwilioWebhook qw(sign_twilio random_sid);
use BenchCpu qw(cpu_ms);

my $state = $ENV{NMC_BENCH_STATE} or die "run through make bench\n";
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }

my $rate = $ENV{NMC_BENCH_FEED_RATE} // 200;
my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 5;
my @sizes = split /,/, ($ENV{NMC_BENCH_WS_CLIENTS} // '100,1000,5000');

sql(q{WITH b AS (INSERT INTO nmc.businesses (name, trade_type) SELECT 'Feed ' || g, 'hvac' FROM generate_series(1, 100) g RETURNING id, name),
           p AS (INSERT INTO nmc.phone_numbers (business_id, phone) SELECT id, format('+1737%s', 3000000 + substr(name, 6)::int) FROM b RETURNING business_id)
      INSERT INTO nmc.users (business_id, email, password_hash, name) SELECT business_id, business_id || '@bench.example.com', 'not a login', 'Bench' FROM p});
# The system's health is first recorded by a cron job within a minute of a fresh
# install, as an event to every business; record it now, so that broadcast (a
# fresh cluster's, not the steady state's) does not land inside a measurement.
sql('SELECT nmc.report_system_health()');
my @tokens = sql(q{SELECT nmc.jwt_sign(jsonb_build_object('sub', id, 'business_id', business_id, 'exp', extract(epoch FROM now())::bigint + 86400),
                                       nmc.setting('jwt_secret')) FROM nmc.users WHERE email LIKE '%@bench.example.com' ORDER BY email});
my $tokens_file = "$state/bench-tokens.txt";
open my $tf, '>', $tokens_file or die; print $tf "$_\n" for @tokens; close $tf;
my @numbers = sql(q{SELECT p.phone FROM nmc.phone_numbers p JOIN nmc.users u ON u.business_id = p.business_id
                     WHERE u.email LIKE '%@bench.example.com' ORDER BY u.email});
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $port = $ENV{NMC_HTTP_PORT};

sub send_webhooks {
    my ($per_second, $duration, $workers, $offset, $out) = @_;
    my $start = time + 0.1;
    my @pids;
    for my $k (0 .. $workers - 1) {
        my $pid = fork // die;
        if ($pid == 0) {
            my ($sock, $sent, $bad) = (undef, 0, 0);
            for (my $i = $k; ; $i += $workers) {
                if ($per_second) {
                    my $due = $start + $i / $per_second;
                    last if $due > $start + $duration;
                    my $now = time;
                    sleep($due - $now) if $due > $now;
                } else {
                    last if time > $start + $duration;
                }
                my %p = (MessageSid => random_sid('SM'), From => sprintf('+1512%07d', 3000000 + ($offset + $i) % 5000),
                         To => $numbers[$i % @numbers], Body => "bench message $i", NumMedia => '0');
                my $st = http_post_fast(\$sock, '127.0.0.1', $port, '/webhooks/twilio/sms',
                    { 'Content-Type' => 'application/x-www-form-urlencoded',
                      'X-Twilio-Signature' => sign_twilio("$public/webhooks/twilio/sms", \%p, $token) }, form_encode(\%p));
                $st == 200 ? $sent++ : $bad++;
            }
            print {$out} "$sent $bad\n" if $out;
            exit 0;
        }
        push @pids, $pid;
    }
    return @pids;
}

my $offset = 0;
for my $n (@sizes) {
    my $pid = open(my $clients, '-|', "$FindBin::Bin/ws_clients", '127.0.0.1', $ENV{NMC_WS_PORT}, $n, $tokens_file) or die "ws_clients: $!\n";
    my $line = <$clients> // '';
    my ($ready, $errors) = $line =~ /^READY (\d+) (\d+)/ or die "ws_clients did not start: $line\n";
    my @notify_before = notify_to_send();
    my $since = sql('SELECT clock_timestamp()');
    my @w = send_webhooks($rate, $seconds, 4, $offset, undef);
    waitpid $_, 0 for @w;
    sleep 1.5;
    kill 'TERM', $pid;
    my $result = join '', <$clients>;
    close $clients;
    my %r = $result =~ /(\w+)=([\d.]+)/g;
    printf "%-44s p50 %6.2f ms  p99 %7.2f ms  max %7.2f ms  (%d/%d clients ready, %d errors, %d frames)\n",
        "feed latency, $n clients, $rate SMS/s", @r{qw(p50 p99 max)}, $ready, $n, $r{errors} // $errors, $r{frames} // 0;
    my @notify_after = notify_to_send();
    # In the database: from a text's acceptance to the start of the inbox
    # worker's transaction that threaded it (its events' created_at).
    my ($w50, $w99) = split /\|/, sql(qq{SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2)
        FROM (SELECT extract(epoch FROM e.created_at - m.created_at) * 1000 AS ms FROM nmc.messages m
                JOIN nmc.events e ON e.business_id = m.business_id AND e.type = 'message.created' AND e.body ->> 'id' = m.id::text
               WHERE m.created_at >= '$since' AND m.direction = 'inbound') d});
    printf "  %-42s p50 %6.2f ms  p99 %7.2f ms\n", 'of which accepted → inbox worker starts', $w50 // 0, $w99 // 0;
    printf "  %-42s p50 ≤ %s ms  p99 ≤ %s ms  (the edge's share: from the NOTIFY reaching it to the frame written; histogram bounds)\n",
        'of which NOTIFY → frame written', histogram_quantiles([map { $notify_after[$_] - $notify_before[$_] } 0 .. $#notify_after], 0.5, 0.99);
    $offset += $rate * $seconds;
}


# nmc_feed_notify_to_send_seconds from /metrics: cumulative bucket counts, in bound order.
my @notify_bounds;
sub notify_to_send {
    my $m = qx{curl -s http://127.0.0.1:$port/metrics};
    my @b = $m =~ /^nmc_feed_notify_to_send_seconds_bucket\{le="([^"]+)"\} (\d+)$/mg;
    my (@bounds, @counts);
    while (my ($le, $n) = splice @b, 0, 2) { push @bounds, $le eq '+Inf' ? 'inf' : $le * 1000; push @counts, $n }
    @notify_bounds = @bounds;
    return @counts;
}
# The upper bound of the bucket holding each quantile.
sub histogram_quantiles {
    my ($counts, @q) = @_;
    my $total = $counts->[-1] || return map { '-' } @q;
    return map { my $want = $_ * $total; my $i = List::Util::first { $counts->[$_] >= $want } 0 .. $#$counts; $notify_bounds[$i] } @q;
}

# Flat out: how many signed inbound-SMS webhooks per second the edge takes, and
# how fast the inbox worker threads them. The requests are signed beforehand and
# sent by wrk (bench/signed_requests.lua), so the load generator takes as little
# as possible of the two cores it shares with what it measures; each MessageSid
# is sent once. 16 connections (NMC_BENCH_WRK_CONNECTIONS): Twilio sends
# webhooks concurrently, and with N connections each waiting for its answer the
# rate can never pass N / response time (8 connections at 4 ms: 2,000/s).
# Customer k writes to business k % 100 (5,000 pairs), so the first
# run is every customer's first text (new customer, new conversation, human
# window: the costliest case) and the second is their replies in those conversations.
sub flat_out {
    my ($label, $pairs) = @_;
    my $threaded_before = sql(q{SELECT count(*) FROM nmc.messages WHERE direction = 'inbound'});
    my $requests_file = "$state/bench-requests.txt";
    my $planned = ($ENV{NMC_BENCH_FLAT_MAX_RATE} // 8000) * $seconds;
    open my $rf, '>', $requests_file or die;
    for my $i (0 .. $planned - 1) {
        my $k = $i % $pairs;
        my %p = (MessageSid => random_sid('SM'), From => sprintf('+1513%07d', 3000000 + $k),
                 To => $numbers[$k % @numbers], Body => "bench message $i", NumMedia => '0');
        print $rf sign_twilio("$public/webhooks/twilio/sms", \%p, $token), "\t", form_encode(\%p), "\n";
    }
    close $rf;
    my $connections = $ENV{NMC_BENCH_WRK_CONNECTIONS} // 16;
    my @cpu_before = cpu_ms($state);
    my $start = time;
    my $wrk = qx{NMC_BENCH_REQUESTS=$requests_file NMC_BENCH_WRK_THREADS=2 wrk -t 2 -c $connections -d ${seconds}s -s $FindBin::Bin/signed_requests.lua http://127.0.0.1:$port/ 2>&1};
    my $sent_end = time;
    my %w = $wrk =~ /(\w+)=([\d.]+)/g;
    die "wrk failed: $wrk\n" unless defined $w{requests};
    my ($ok, $bad) = ($w{requests} - $w{non200}, $w{non200});
    print "flat out, $label:\n";
    printf "  %-42s %8.0f webhooks/s  (%d in %.1f s, %d errors%s; response p50 %.1f ms, p99 %.1f ms)\n", "inbound-SMS webhooks ($connections connections)",
        $ok / $w{seconds}, $ok, $w{seconds}, $bad, $w{ran_out} ? ', RAN OUT of pre-signed requests' : '', $w{p50_us} / 1000, $w{p99_us} / 1000;
    # Accepted is not yet threaded: wait until the inbox is empty.
    my $backlog = sql('SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL');
    sleep 0.05 while sql('SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL') > 0 && time < $sent_end + 120;
    my $drained = time;
    my @cpu_after = cpu_ms($state);
    my $threaded = sql(q{SELECT count(*) FROM nmc.messages WHERE direction = 'inbound'}) - $threaded_before;
    printf "  %-42s %8.0f texts/s     (%d in %.1f s; %d waiting when the senders stopped, drained %.1f s later; %d failed)\n",
        'threaded (webhook → conversation)', $threaded / ($drained - $start), $threaded, $drained - $start,
        $backlog, $drained - $sent_end, sql('SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NOT NULL');
    my @per_text = map { ($cpu_after[$_] - $cpu_before[$_]) / $threaded } 0 .. 2;
    printf "  %-42s %8.2f ms      (Postgres %.2f ms, of which the inbox worker %.2f ms; the edge %.2f ms)\n",
        'CPU per text', $per_text[0] + $per_text[1], $per_text[0], $per_text[2], $per_text[1];
    return $ok;
}
# The tables grew from empty during the runs above; analyze them first, as
# autovacuum does within a minute in a running system (plans made on an empty
# table's estimates would measure the first minute of a new install, not the product).
# NMC_BENCH_FLAT_OUT=0: the latency runs only.
exit 0 if ($ENV{NMC_BENCH_FLAT_OUT} // 1) eq '0';
sql('ANALYZE');
my $first = flat_out("each customer's first text", 5000);
sql('ANALYZE');
# Only pairs the first run created (a multiple of the 100 businesses).
flat_out('replies in those conversations', List::Util::min(5000, 100 * int($first / 100)) || 100);

# NMC_BENCH_PROFILE=1 (with track_functions = all, which bench/run.sh then sets): where
# the database spent its time, per function, over the whole feed run.
if ($ENV{NMC_BENCH_PROFILE}) {
    print "\nfunctions by self time (ms total, calls, µs per call):\n";
    print "  $_\n" for sql(q{SELECT format('%-40s %9s ms %8s calls %8s µs', schemaname || '.' || funcname, round(self_time::numeric), calls,
                                          round((1000 * self_time / greatest(calls, 1))::numeric, 1))
                           FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 30});
}
