#!/usr/bin/env perl
# bench/dispatcher.pl — dispatcher figures: twilio.sms.send jobs committed in
# SQL until the fake Twilio receives them over real loopback HTTP (keep-alive).
# Prints sustained throughput at an unlimited rate, and enqueue→received
# latency (p50/p99/max) at fixed offered rates. Called by bench/run.sh with
# the bench cluster's NMC_* environment; never part of pass/fail.
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);

my $state = $ENV{NMC_BENCH_STATE} or die "run through make bench\n";
my $fake = $ENV{NMC_BENCH_FAKE_URL} or die "run through make bench\n";
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
my $http = HTTP::Tiny->new(timeout => 60);

sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }
sub fake_post { my $r = $http->post("$fake$_[0]"); die "fake: $r->{status}\n" unless $r->{success} }
sub received {
    my $r = $http->get("$fake/_fake/requests?path=Messages.json");
    die "fake: $r->{status}\n" unless $r->{success};
    return decode_json($r->{content});
}
sub wait_for_count {
    my ($n, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $r = $http->get("$fake/_fake/requests/count?path=Messages.json");
        return 1 if decode_json($r->{content})->{count} >= $n;
        sleep 0.05;
    }
    return 0;
}
sub pct { my ($p, @s) = @_; return $s[ int(($#s) * $p / 100 + 0.5) ] }

my $base = $fake;
sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$base"}')});
my $business = sql("INSERT INTO nmc.businesses (name, trade_type) VALUES ('Bench Co', 'plumbing') RETURNING id");
my $customer = sql("SELECT id FROM nmc.customer_upsert('$business', '+15125550143')");

# Unlimited rate: N jobs committed in batches as fast as one client can.
my $n = $ENV{NMC_BENCH_JOBS} // 20000;
fake_post('/_fake/reset');
my $t0 = time;
open my $w, '|-', @psql, '-o', '/dev/null' or die;
for (my $i = 0; $i < $n; $i += 500) {
    print $w "SELECT count(nmc.sms_send('$business', '$customer', '+15125550100', 'bench ' || g)) FROM generate_series($i, " . ($i + 499) . ") g;\n";
}
close $w;
my $committed = time;
wait_for_count($n, 300) or die "the fake did not receive all $n requests\n";
my $reqs = received();
my $last = (sort { $a <=> $b } map { $_->{received_at_us} } @$reqs)[-1] / 1e6;
my $first = (sort { $a <=> $b } map { $_->{received_at_us} } @$reqs)[0] / 1e6;
my $after = grep { $_->{received_at_us} / 1e6 >= $committed } @$reqs;
printf "%-52s %8.0f jobs/s  (%d jobs, enqueued in %.2f s while sending)\n",
    'dispatcher throughput, enqueue and send together', $n / ($last - $t0), $n, $committed - $t0;
printf "%-52s %8.0f jobs/s  (the %d jobs left when enqueueing ended)\n",
    'dispatcher throughput, draining a backlog', $after / ($last - $committed), $after;
sleep 1 while sql("SELECT count(*) FROM nmc.jobs WHERE status IN ('queued', 'in_flight')") > 0;

# A true backlog: N jobs committed in ONE transaction (they all become due at its
# commit), then the time from that commit to the fake's last receipt.
fake_post('/_fake/reset');
sql("SET client_min_messages = warning; TRUNCATE nmc.jobs CASCADE; DELETE FROM nmc.messages");
my $commit_at = (sql("BEGIN; SELECT count(nmc.sms_send('$business', '$customer', '+15125550100', 'backlog ' || g)) FROM generate_series(1, $n) g; COMMIT; SELECT extract(epoch FROM clock_timestamp())"))[-1];
wait_for_count($n, 300) or die "the fake did not receive all $n backlog requests\n";
my $drained = (sort { $a <=> $b } map { $_->{received_at_us} } @{ received() })[-1] / 1e6;
printf "%-52s %8.0f jobs/s  (%d jobs committed at once, all received %.2f s after the commit)\n",
    'dispatcher throughput, a backlog committed at once', $n / ($drained - $commit_at), $n, $drained - $commit_at;
sleep 1 while sql("SELECT count(*) FROM nmc.jobs WHERE status IN ('queued', 'in_flight')") > 0;

# Fixed offered rates: one job per transaction, paced; latency from the
# enqueueing transaction's start (messages.created_at) to the fake's receipt.
for my $rate (100, 500, 1000) {
    my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 5;
    my $count = $rate * $seconds;
    fake_post('/_fake/reset');
    sql("SET client_min_messages = warning; TRUNCATE nmc.jobs CASCADE; DELETE FROM nmc.messages");
    # Several sessions, round-robin: one session alone cannot offer 1,000 commits/s.
    my @sessions = map { open my $p, '|-', @psql, '-o', '/dev/null' or die; my $o = select $p; $| = 1; select $o; $p } 1 .. 4;
    my $start = time;
    for my $i (0 .. $count - 1) {
        my $due = $start + $i / $rate;
        my $now = time;
        sleep($due - $now) if $due > $now;
        print { $sessions[$i % @sessions] } "SELECT nmc.sms_send('$business', '$customer', '+15125550100', 'rate $i') IS NULL;\n";
    }
    close $_ for @sessions;
    my $elapsed = time - $start;
    wait_for_count($count, 120) or die "the fake did not receive all $count requests\n";
    my %created = map { split /\|/ } sql("SELECT body, extract(epoch FROM created_at) FROM nmc.messages");
    my @lat;
    for my $r (@{ received() }) {
        my ($i) = $r->{body} =~ /Body=rate(?:%20|\+)(\d+)/ or next;
        push @lat, ($r->{received_at_us} / 1e6 - $created{"rate $i"}) * 1000;
    }
    @lat = sort { $a <=> $b } @lat;
    printf "%-52s p50 %6.2f ms   p99 %6.2f ms   max %7.2f ms  (%d jobs, achieved %.0f/s)\n",
        "enqueue→Twilio latency at $rate jobs/s offered", pct(50, @lat), pct(99, @lat), $lat[-1], scalar @lat, $count / $elapsed;
}
