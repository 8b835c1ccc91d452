# 04_websocket_feed.t — the live feed on NMC_WS_PORT/ws: the hello and its
# refusals, isolation between businesses, live delivery, resume after an id
# with no gap and no duplicate, a client that stops reading is dropped with
# 4408 while the edge stays healthy, and a client stays connected and loses
# nothing across a Postgres restart (a hello sent meanwhile waits for it).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use JSON::PP;
use EdgeTest qw(api register unique_email http base_url);
use NmcTest qw(sql wait_until);
use WsClient;

my $port = $ENV{NMC_WS_PORT} or BAIL_OUT('NMC_WS_PORT is not set (run through make test)');
my $json = JSON::PP->new->canonical;

sub ws { WsClient->connect(port => $port, @_) }

# Next text message decoded (undef on close/timeout); the close is kept in $last_close.
my $last_close;
# The next frame this test is about: system.health, which pg_cron sends to
# every business within a minute of the dispatcher restarting (as it does in
# 03_database_restart.t), may arrive at any moment and is skipped.
sub next_json {
    my ($c, $timeout) = @_;
    for (;;) {
        my $m = $c->next_message($timeout // 5) or return undef;
        if ($m->{type} eq 'close') { $last_close = $m; return undef }
        my $frame = $json->decode($m->{text});
        return $frame unless ref $frame eq 'HASH' && ($frame->{type} // '') eq 'system.health';
    }
}

# Reads until the close frame (skipping data frames); returns it or undef.
sub wait_close {
    my ($c, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $m = $c->next_message($deadline - time) or return undef;
        return $m if $m->{type} eq 'close';
    }
    return undef;
}

sub hello {
    my ($token, $last) = @_;
    my $c = ws();
    $c->send_text($json->encode({ token => $token, last_event_id => $last }));
    my $h = next_json($c);
    return ($c, $h);
}

# Events are numbered by the events worker after they commit: emit() writes one
# (marked with a key of its own) and returns its number once it has one.
my $emitted = 0;
sub emit_sql {
    my ($business, $n) = @_;
    my $k = "$$-" . ++$emitted;
    return ("nmc.emit_event('$business', 'test.ping', '{\"n\":$n,\"k\":\"$k\"}')", $business, $k);
}
sub numbered {
    my ($business, $k) = @_;
    return wait_until(sub { sql("SELECT seq FROM nmc.events WHERE business_id = '$business' AND body ->> 'k' = '$k'") }, 15);
}
sub emit {
    my ($call, $business, $k) = emit_sql(@_);
    sql("SELECT $call");
    return numbered($business, $k);
}

sub new_owner {
    my $body = register(unique_email(shift));
    return ($body->{token}, $body->{user}{business_id});
}

# --- refusals -----------------------------------------------------------
{
    my $c = ws();
    $c->send_text('{"last_event_id": null}');
    my $err = next_json($c);
    is $err->{error}{code}, 'bad_hello', 'no token: error frame bad_hello';
    my $close = wait_close($c, 5);
    is $close && $close->{code}, 4400, '… then closed with 4400';
    is $close && $close->{reason}, 'bad_hello', '… reason bad_hello';

    $c = ws();
    $c->send_text('{"token": "abc.def.ghi", "last_event_id": null}');
    $err = next_json($c);
    like $err->{error}{code} // '', qr/^jwt_/, "bad token: error frame ($err->{error}{code})";
    ok length($err->{error}{message} // ''), '… with a message';
    $close = wait_close($c, 5);
    is $close && $close->{code}, 4401, '… then closed with 4401';
    is $close && $close->{reason}, $err->{error}{code}, '… reason = the code';

    ok !eval { WsClient->connect(port => $port, path => '/elsewhere'); 1 }, 'only /ws is a WebSocket';
}

my ($token_a, $biz_a) = new_owner('ws-a');
my ($token_b, $biz_b) = new_owner('ws-b');

# --- live delivery and isolation ----------------------------------------
my ($ca, $ha) = hello($token_a, undef);
is $ha->{type}, 'hello', 'hello accepted';
is $ha->{business_id}, $biz_a, '… for the right business';
my $base = $ha->{resume_after};
like $base, qr/^\d+$/, "… resume_after is the latest id ($base)";
my ($cb, $hb) = hello($token_b, undef);
is $hb->{business_id}, $biz_b, 'second business connected';
{
    my ($st, $status) = api(GET => '/api/status', undef, $token_a);
    cmp_ok $status->{websocket}{clients} // -1, '>=', 2, 'GET /api/status counts the edge\'s WebSocket clients';
    ok $status->{inbox}{running} && defined $status->{inbox}{waiting} && defined $status->{inbox}{failed},
        '… and shows the inbound-text inbox and its worker';
    my $res = http()->get(base_url() . '/api/status',
        { headers => { authorization => "Bearer $token_a", 'x-nmc-edge-ws-clients' => '999999',
                       'x-nmc-edge-spool-waiting' => '777' } });
    my $forged = $json->decode($res->{content});
    isnt $forged->{websocket}{clients}, 999999, '… and a client cannot forge the figure with a header';
    isnt $forged->{edge_spool}{waiting} // -1, 777, '… nor the spool\'s';
}

my $idb = emit($biz_b, 1);
my $eb = next_json($cb);
is $eb && $eb->{id}, $idb, 'B receives its live event';
my $ida = emit($biz_a, 1);
my $ea = next_json($ca);
is $ea && $ea->{id}, $ida, 'A receives its live event (and nothing of B before it)';
is $ea && $ea->{type}, 'test.ping', '… frame carries the type';
is $ea && $ea->{data}{n}, 1, '… and the data';
ok $ea && $ea->{created_at}, '… and created_at';
my @more = map { emit($biz_a, $_) } 2 .. 3;
is_deeply [map { my $e = next_json($ca); $e && $e->{id} } 1 .. 2], \@more, 'A receives further events in order';
emit($biz_a, 4);
my $late = next_json($ca);
is next_json($cb, 0.3), undef, "B never sees A's events";
{
    # Both businesses notified by one commit: the edge reads them in one round
    # trip (ws_events_many), and each client still gets only its own, in order.
    my @four = (emit_sql($biz_a, 5), emit_sql($biz_b, 2), emit_sql($biz_a, 6), emit_sql($biz_b, 3));
    sql('SELECT ' . join(', ', map { $four[3 * $_] } 0 .. 3));
    my ($a1, $b1, $a2, $b2) = map { numbered(@four[3 * $_ + 1, 3 * $_ + 2]) } 0 .. 3;
    is_deeply [map { my $e = next_json($ca); $e && $e->{id} } 1 .. 2], [$a1, $a2], 'two businesses notified together: A gets its two, in order';
    is_deeply [map { my $e = next_json($cb); $e && [$e->{id}, $e->{data}{n}] } 1 .. 2], [[$b1, 2], [$b2, 3]], '… and B its two';
    is next_json($ca, 0.3), undef, '… and nothing of the other';
    $late = { id => $a2 + 0 };
}
$cb->close;

# --- resume ---------------------------------------------------------------
my $seen = $late->{id};
$ca->close;
my @missed = map { emit($biz_a, 10 + $_) } 1 .. 3;
($ca, $ha) = hello($token_a, $seen);
is $ha->{resume_after}, $seen, "resume after $seen";
my @got = map { my $e = next_json($ca); $e && $e->{id} } 1 .. 3;
is_deeply \@got, \@missed, 'exactly the 3 missed events, in order';
my $live = emit($biz_a, 20);
my $e = next_json($ca);
is $e && $e->{id}, $live, '… then the live one, no duplicate';
$ca->close;

{
    my $c = ws();
    $c->send_text($json->encode({ token => $token_a, last_event_id => $live + 100 }));
    my $err = next_json($c);
    is $err && $err->{error}{code}, 'resync', 'resume from an id that never existed: resync';
    my $close = wait_close($c, 5);
    is $close && $close->{code}, 4409, '… closed with 4409';
}

# --- a client that never reads ---------------------------------------------
{
    my ($token_s, $biz_s) = new_owner('ws-slow');
    my $slow = ws(rcvbuf => 4096);
    $slow->send_text($json->encode({ token => $token_s, last_event_id => undef }));
    is next_json($slow)->{type}, 'hello', 'slow client connected';
    my $pad = 'x' x 3000;
    my $t0 = time;
    sql(qq{DO \$\$ BEGIN FOR i IN 1..3000 LOOP PERFORM nmc.emit_event('$biz_s', 'test.bulk', jsonb_build_object('i', i, 'pad', '$pad')); COMMIT; END LOOP; END \$\$});
    diag sprintf 'emitted 3000 events in %.1f s', time - $t0;
    my $close = wait_close($slow, 20);
    is $close && $close->{code}, 4408, 'the slow client is closed with 4408';
    is $close && $close->{reason}, 'resync', '… reason resync';
    my ($status) = api(GET => '/healthz');
    is $status, 200, 'the edge is healthy';
    my ($c, $h) = hello($token_s, undef);
    is $h->{type}, 'hello', 'another client of that business connects';
    my $id = emit($biz_s, 1);
    # The relay may still be working through the 3,000 notifications above.
    my $ev = next_json($c, 15);
    is $ev && $ev->{id}, $id, '… and receives live events';
    $c->close;
}

# --- Postgres restart with a client connected ------------------------------
{
    my ($c, $h) = hello($token_a, undef);
    is $h->{type}, 'hello', 'client connected before the restart';
    system($ENV{NMC_TEST_STACK}, 'pg-stop') == 0 or BAIL_OUT('could not stop Postgres');
    # A hello sent while the database is down waits for it (up to the 10 s hello limit).
    my $waiting = ws();
    $waiting->send_text($json->encode({ token => $token_a, last_event_id => undef }));
    system($ENV{NMC_TEST_STACK}, 'pg-start') == 0 or BAIL_OUT('could not start Postgres');
    my $wh = next_json($waiting, 8);
    is $wh && $wh->{type}, 'hello', 'a hello sent during the outage is answered once Postgres is back';
    $waiting->close;
    my $first = emit($biz_a, 31);
    my $back = 0;
    for (1 .. 100) {
        my ($status) = api(GET => '/healthz');
        if ($status == 200) { $back = 1; last }
        sleep 0.1;
    }
    ok $back, '/healthz is 200 again';
    my $second = emit($biz_a, 32);
    # (Only our pings: a system.health event may come too, if pg_cron's health check runs now.)
    my @ids;
    while (@ids < 2) {
        my $ev = next_json($c, 10) or last;
        push @ids, $ev->{id} if ($ev->{type} // '') eq 'test.ping';
    }
    is_deeply \@ids, [$first, $second], 'the same connection receives the events from during and after the reconnect, in order';
    ok !$last_close, 'the client was never closed';
    $c->close;
}

done_testing;
