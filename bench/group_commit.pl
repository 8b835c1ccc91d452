#!/usr/bin/env perl
# bench/group_commit.pl — one configuration's row of bench/group_commit.sh:
# signed missed-call webhooks (voice/dial, DialCallStatus=no-answer) and
# inbound texts from new customers, to ONE business and spread over 1,000, at
# fixed offered rates (NMC_BENCH_RATES, default 500,1000,2000 webhooks/s;
# NMC_BENCH_KINDS dial,sms and NMC_BENCH_SPREADS 1,1000 choose the rest).
# Prints per run: accepted/s, the webhook's answer time (p50/p99) and, p50/p99
# of those done within NMC_BENCH_TEXT_WAIT seconds (default 15) of the last
# webhook: for a missed call, webhook sent → the caller's text at the fake
# Twilio (Messages.json); for a text, webhook sent → threaded (its message row
# inserted by the inbox worker; the owner's alert is spaced per owner, so it
# measures no commit). Never part of pass/fail.
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

my $state = $ENV{NMC_BENCH_STATE} or die "run through bench/group_commit.sh\n";
my $fake = $ENV{NMC_BENCH_FAKE_URL} or die "run through bench/group_commit.sh\n";
my $label = $ENV{NMC_BENCH_LABEL} // '';
my $port = $ENV{NMC_HTTP_PORT};
my @rates = split /,/, ($ENV{NMC_BENCH_RATES} // '500,1000,2000');
my $seconds = $ENV{NMC_BENCH_RATE_SECONDS} // 3;
my @psql = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT}, '-U', 'postgres', '-d', $ENV{NMC_DB});
sub sql { open my $fh, '-|', @psql, '-c', shift or die; my @l = map { chomp; $_ } <$fh>; close $fh or die "psql failed\n"; wantarray ? @l : $l[0] }
my $http = HTTP::Tiny->new(timeout => 60);
sub pct { my ($p, @s) = @_; return @s ? $s[ int(($#s) * $p / 100 + 0.5) ] : 0 }

# 1,000 businesses open around the clock, each with a number (+1737500nnnn).
sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$fake"}')});
if (sql(q{SELECT count(*) FROM nmc.businesses WHERE name ~ '^Group bench [0-9]+$'}) == 0) {
    sql(q{WITH b AS (INSERT INTO nmc.businesses (name, trade_type, timezone, forward_to_phone)
                    SELECT 'Group bench ' || g, 'plumbing', 'America/Chicago', '+15125550199'
                      FROM generate_series(1, 1000) g RETURNING id, name)
          INSERT INTO nmc.phone_numbers (business_id, phone)
          SELECT id, format('+1737500%s', lpad(substr(name, 13), 4, '0')) FROM b});
    sql(q{SELECT count(nmc.hours_replace(id, (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d)))
            FROM nmc.businesses WHERE name ~ '^Group bench [0-9]+$'});
    sql('ANALYZE');
}
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $seq = $ENV{NMC_BENCH_SEQ} // int(time) % 10000 * 100;   # new callers and customers on every run

# kind => [path, params of webhook n to business (1-based) b, its customer's number]
my %kinds = (
    dial => ['/webhooks/twilio/voice/dial', sub {
        my ($n, $b) = @_;
        (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
         From => sprintf('+1214%07d', 2_000_000 + $n % 8_000_000), To => sprintf('+1737500%04d', $b),
         DialCallStatus => 'no-answer', DialBridged => 'false', CallStatus => 'in-progress') }],
    sms => ['/webhooks/twilio/sms', sub {
        my ($n, $b) = @_;
        (MessageSid => random_sid('SM'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
         From => sprintf('+1213%07d', 2_000_000 + $n % 8_000_000), To => sprintf('+1737500%04d', $b),
         Body => 'Water is coming through the ceiling, can you come today?', NumSegments => 1) }],
);

# When each webhook's work was done, by its key (see %kinds): a missed call's
# text at the fake (first request to the caller), a text's message row.
sub done_at {
    my ($kind, $since) = @_;
    if ($kind eq 'sms') {
        return { map { split /\|/ } sql(qq{SELECT twilio_sid || '|' || extract(epoch FROM created_at) FROM nmc.messages
                                            WHERE direction = 'inbound' AND created_at >= to_timestamp($since)}) };
    }
    my $reqs = decode_json($http->get("$fake/_fake/requests?path=Messages.json")->{content});
    my %first;
    for my $q (@$reqs) {
        my ($to) = $q->{body} =~ /To=%2B(1214\d+)/ or next;
        $first{"+$to"} //= $q->{received_at_us} / 1e6;
    }
    return \%first;
}

for my $kind (split /,/, ($ENV{NMC_BENCH_KINDS} // 'dial,sms')) {
    my ($path, $params) = @{ $kinds{$kind} or die "unknown kind $kind\n" };
    for my $spread (split /,/, ($ENV{NMC_BENCH_SPREADS} // '1,1000')) {
        for my $rate (@rates) {
            my $count = $rate * $seconds;
            $http->post("$fake/_fake/reset");
            my $workers = 16;
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
                        my %p = $params->($seq + $i, 1 + $i % $spread);
                        my $sig = sign_twilio("$public$path", \%p, $token);
                        my $sent = time;
                        my $st = http_post_fast(\$sock, '127.0.0.1', $port, $path,
                            { 'Content-Type' => 'application/x-www-form-urlencoded', 'X-Twilio-Signature' => $sig }, form_encode(\%p));
                        printf $w "%s %.6f %.6f %d\n", $p{MessageSid} // $p{From}, $sent, time, $st;
                    }
                    POSIX::_exit(0);
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
            my $texts;
            my $deadline = time + ($ENV{NMC_BENCH_TEXT_WAIT} // 15);
            while (1) {
                $texts = done_at($kind, int($start) - 1);
                last if keys(%$texts) >= $count || time > $deadline;
                sleep 0.2;
            }
            my @lat = sort { $a <=> $b } map { ($texts->{$_} - $sent{$_}) * 1000 } grep { $texts->{$_} } keys %sent;
            @resp = sort { $a <=> $b } @resp;
            printf "%-22s %-4s %-9s %5d/s offered: accepted %5.0f/s  answer p50 %6.2f p99 %7.2f ms | → %s p50 %7.1f p99 %7.1f ms (%d/%d)%s\n",
                $label, $kind, $spread == 1 ? '1 biz' : '1,000 biz', $rate, $count / (($last_answer // $start) - $start || 1),
                pct(50, @resp), pct(99, @resp), $kind eq 'sms' ? 'threaded' : 'Messages.json', pct(50, @lat), pct(99, @lat), scalar @lat, $count, $bad ? ", $bad errors" : '';
            $seq += $count;
        }
    }
}
