# 09_connection_flood.t — a flood of slow connections from one address holds at
# most NMC_EDGE_MAX_CONNECTIONS_PER_CLIENT of the edge's connections; the rest
# are closed at once, and everyone else (/healthz, a signed Twilio webhook)
# keeps being answered while the flood stays. A second edge with small caps
# (20 per client, 60 in all); the flood comes from 127.0.0.2, the others from
# 127.0.0.1; a flood from many addresses leaves the reserve to Twilio's
# address; the same on the live-feed (WebSocket) port. Then a third edge with
# a request-head deadline of 1 s and a body deadline of 2 s: a client dripping
# a header line (or a byte of body) every 200 ms is cut off although it never
# goes idle, on both ports.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);
use NmcTest qw(sql);
use TwilioWebhook qw(post_twilio random_sid);
use WsClient;

my $port = ($ENV{NMC_HTTP_PORT} // 18080) + 11;
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $ENV{NMC_HTTP_PORT} = $port;
    $ENV{NMC_WS_PORT} = $port + 1;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_EDGE_THREADS} = 4;
    $ENV{NMC_EDGE_MAX_CONNECTIONS} = 60;
    $ENV{NMC_EDGE_MAX_CONNECTIONS_PER_CLIENT} = 20;
    $ENV{NMC_EDGE_TWILIO_RESERVE} = 10;
    open STDOUT, '>', "$ENV{NMC_TEST_STATE}/log/edge-flood.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $ENV{NMC_TEST_EDGE_BIN};
    die "exec: $!";
}
my $test_pid = $$;
END { if ($$ == $test_pid && $pid) { local $?; kill TERM => $pid; waitpid $pid, 0 } }    # $? kept: it is the exit status
my $base = "http://127.0.0.1:$port";
my $up = 0;
for (1 .. 200) { if ((HTTP::Tiny->new->get("$base/healthz")->{status} // 0) == 200) { $up = 1; last } sleep 0.05 }
ok $up, 'an edge with connection caps answers';

# 100 connections from one address, each sending half a request head and then
# nothing (a slow client that never finishes).
my @flood;
for (1 .. 100) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => '127.0.0.2', Proto => 'tcp', Timeout => 2) or next;
    syswrite $s, "GET /healthz HTTP/1.1\r\nHost: flood\r\n";
    push @flood, $s;
}
# The edge closes what is over the cap: those sockets read end-of-file.
my $deadline = time + 5;
my %closed;
while (time < $deadline && keys(%closed) < @flood - 20) {
    my $sel = IO::Select->new(grep { !$closed{fileno $_} } @flood);
    for my $s ($sel->can_read(0.2)) { my $buf; $closed{fileno $s} = 1 if !sysread($s, $buf, 4096) }
}
my $held = @flood - keys %closed;
diag sprintf '%d flood connections opened, %d held by the edge', scalar @flood, $held;
cmp_ok $held, '<=', 20, 'one address holds at most its 20 connections';

my $t0 = time;
my $h = HTTP::Tiny->new(timeout => 5)->get("$base/healthz");
is $h->{status}, 200, 'meanwhile /healthz answers from another address';
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
# (coalesce: the file also runs a second time, against the sanitized edge)
sql("SELECT coalesce((SELECT business_id FROM nmc.phone_numbers WHERE phone = '+15125550990'), nmc_test.business_with_number('+15125550990'))");
my $w = post_twilio($base, $public, '/webhooks/twilio/sms',
    { MessageSid => random_sid('SM'), From => '+15125550991', To => '+15125550990', Body => 'still there?' }, $token);
is $w->{status}, 200, '… and so does a signed Twilio webhook';
close $_ for @flood;

# A flood from many addresses (127.0.0.3-5, 20 each: 60, the whole cap) takes
# at most 50: the last 10 places are kept for addresses Twilio's webhooks came
# from lately (127.0.0.1 sent the signed webhook above).
sub half_open {
    my ($from) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => $from, Proto => 'tcp', Timeout => 2) or return;
    syswrite $s, "GET /healthz HTTP/1.1\r\nHost: flood\r\n";
    return $s;
}
my $settled = time + 5;    # the first flood's sockets close on the edge's side too
while (time < $settled && (HTTP::Tiny->new(timeout => 1)->get("$base/healthz")->{status} // 0) != 200) { sleep 0.05 }
my @many = grep { defined } map { my $a = $_; map { half_open("127.0.0.$a") } 1 .. 20 } 3 .. 5;
$deadline = time + 5;
%closed = ();
while (time < $deadline && keys(%closed) < 10) {
    my $sel = IO::Select->new(grep { !$closed{fileno $_} } @many);
    for my $s ($sel->can_read(0.2)) { my $buf; $closed{fileno $s} = 1 if !sysread($s, $buf, 4096) }
}
$held = @many - keys %closed;
diag sprintf '%d flood connections from three addresses, %d held by the edge', scalar @many, $held;
cmp_ok $held, '<=', 50, 'a flood from many addresses holds at most the cap less the reserve';
my $stranger = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => '127.0.0.6', Proto => 'tcp', Timeout => 2);
my $answer = '';
if ($stranger) {
    syswrite $stranger, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    my $sel = IO::Select->new($stranger);
    while ($sel->can_read(2)) { last unless sysread($stranger, $answer, 4096, length $answer) }
}
unlike $answer, qr{^HTTP/1\.1 200}, 'meanwhile a new address finds no room (the reserve is not for it)';
$w = post_twilio($base, $public, '/webhooks/twilio/sms',
    { MessageSid => random_sid('SM'), From => '+15125550991', To => '+15125550990', Body => 'and now?' }, $token);
is $w->{status}, 200, '… while a signed Twilio webhook from an address Twilio used lately gets in';
close $_ for @many;

# The live-feed port, the same flood: its own count, the same caps.
my @wsflood;
for (1 .. 100) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port + 1, LocalAddr => '127.0.0.2', Proto => 'tcp', Timeout => 2) or next;
    syswrite $s, "GET /ws HTTP/1.1\r\nHost: flood\r\n";
    push @wsflood, $s;
}
$deadline = time + 5;
%closed = ();
while (time < $deadline && keys(%closed) < @wsflood - 20) {
    my $sel = IO::Select->new(grep { !$closed{fileno $_} } @wsflood);
    for my $s ($sel->can_read(0.2)) { my $buf; $closed{fileno $s} = 1 if !sysread($s, $buf, 4096) }
}
$held = @wsflood - keys %closed;
diag sprintf 'live feed: %d flood connections opened, %d held by the edge', scalar @wsflood, $held;
cmp_ok $held, '<=', 20, 'on the live-feed port too, one address holds at most its 20 connections';
ok eval { WsClient->connect(port => $port + 1); 1 }, '… and a dashboard from another address still opens its WebSocket' or diag $@;
close $_ for @wsflood;

my $port3 = $port + 2;
my $pid3 = fork // die "fork: $!";
if ($pid3 == 0) {
    $ENV{NMC_HTTP_PORT} = $port3;
    $ENV{NMC_WS_PORT} = $port3 + 1;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_EDGE_HEAD_DEADLINE_SECONDS} = 1;
    $ENV{NMC_EDGE_BODY_DEADLINE_SECONDS} = 2;
    open STDOUT, '>', "$ENV{NMC_TEST_STATE}/log/edge-head-deadline.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $ENV{NMC_TEST_EDGE_BIN};
    die "exec: $!";
}
END { if ($$ == $test_pid && $pid3) { local $?; kill TERM => $pid3; waitpid $pid3, 0 } }
my $base3 = "http://127.0.0.1:$port3";
$up = 0;
for (1 .. 200) { if ((HTTP::Tiny->new->get("$base3/healthz")->{status} // 0) == 200) { $up = 1; last } sleep 0.05 }
ok $up, 'an edge with a 1 s request-head deadline answers';
my $drip = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port3, Proto => 'tcp') or die "connect: $!";
syswrite $drip, "GET /healthz HTTP/1.1\r\nHost: drip\r\n";
my ($lines, $cut) = (0, 0);
for (1 .. 150) {    # up to 30 s of dripping; the deadline is 1 s
    last unless defined syswrite($drip, "X-Drip-$lines: still here\r\n");
    $lines++;
    my $sel = IO::Select->new($drip);
    if ($sel->can_read(0.2)) { my $buf; if (!sysread($drip, $buf, 4096)) { $cut = 1; last } }
}
diag "the dripping client sent $lines header lines before it was cut off";
ok $cut, 'a client dripping header lines without pause is cut off at the deadline';
is(HTTP::Tiny->new(timeout => 5)->get("$base3/healthz")->{status}, 200, 'an ordinary request is answered as before');
# A whole head, then a body dripping one byte every 200 ms: cut at the body's
# deadline (2 s), although the head was in time and the client never goes idle.
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port3, Proto => 'tcp') or die "connect: $!";
syswrite $slow, "POST /api/auth/login HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
my ($bytes, $bodycut, $bt0) = (0, 0, time);
for (1 .. 150) {
    last unless defined syswrite($slow, ' ');
    $bytes++;
    my $sel = IO::Select->new($slow);
    if ($sel->can_read(0.2)) { my $buf; if (!sysread($slow, $buf, 4096)) { $bodycut = 1; last } }
}
diag sprintf 'the dripping body was cut after %.1f s (%d bytes)', time - $bt0, $bytes;
ok $bodycut && time - $bt0 < 6, 'a body dripping a byte at a time is cut off at its deadline';
my $post = HTTP::Tiny->new(timeout => 5)->post("$base3/api/auth/login", { headers => { 'content-type' => 'application/json' },
    content => sprintf('{"email":"nobody-%d-%d@example.com","password":"x"}', $$, time) });    # its own email: failures on another would slow it
is $post->{status}, 401, 'an ordinary request with a body is answered as before';
# The live-feed port's handshake has the same deadline (libwebsockets' own
# default would be 10 s): cut well before 5 s.
my $wsdrip = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port3 + 1, Proto => 'tcp') or die "connect: $!";
syswrite $wsdrip, "GET /ws HTTP/1.1\r\nHost: drip\r\n";
my ($wslines, $wscut, $wst0) = (0, 0, time);
for (1 .. 150) {
    last unless defined syswrite($wsdrip, "X-Drip-$wslines: still here\r\n");
    $wslines++;
    my $sel = IO::Select->new($wsdrip);
    if ($sel->can_read(0.2)) { my $buf; if (!sysread($wsdrip, $buf, 4096)) { $wscut = 1; last } }
}
diag sprintf 'live feed: the dripping client was cut after %.1f s', time - $wst0;
ok $wscut && time - $wst0 < 5, 'a WebSocket handshake dripping header lines is cut off at the 1 s deadline';
ok eval { WsClient->connect(port => $port3 + 1); 1 }, '… while an ordinary WebSocket opens' or diag $@;
# One connection kept alive across an idle pause longer than the deadline (a
# raw socket: HTTP::Tiny would quietly reconnect and hide a cut).
my $kept = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port3, Proto => 'tcp') or die "connect: $!";
sub ask_healthz {
    my ($s) = @_;
    defined syswrite($s, "GET /healthz HTTP/1.1\r\nHost: kept\r\n\r\n") or return '';
    my $buf = '';
    my $sel = IO::Select->new($s);
    while ($buf !~ /"ok"/ && $sel->can_read(5)) { last unless sysread($s, $buf, 4096, length $buf) }
    return $buf;
}
like ask_healthz($kept), qr{^HTTP/1\.1 200}, 'a kept-alive connection: a first request';
sleep 1.5;    # idle longer than the 1 s deadline: between requests only the idle timeout applies
like ask_healthz($kept), qr{^HTTP/1\.1 200}, '… and, on the same connection, one after an idle pause longer than the deadline';

done_testing;
