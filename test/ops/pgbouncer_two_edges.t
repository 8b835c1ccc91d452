# pgbouncer_two_edges.t — two edges sharing one database through a real
# PgBouncer in transaction pooling mode (docs/scaling.md): their HTTP pools go
# through the pooler with statements unprepared (NMC_EDGE_PREPARED_STATEMENTS=off),
# their feeds LISTEN on a direct session (NMC_EDGE_LISTEN_DB). Signed missed
# calls spread over both edges — a call's first webhook to one, its dial
# result to the other — are each texted once; a Twilio retry delivered to the
# other edge is not doubled; a dashboard on either edge's feed gets every
# call live; the pooler held no more server connections than its pool size.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../edge/lib", "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use OpsTest qw(ops_port ops_pg_port start_daemon start_edge wait_for http_up);
use NmcTest qw(sql fake_requests use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);
use WsClient;

plan skip_all => 'needs root (PgBouncer runs as postgres)' unless $> == 0;
my $state = $ENV{NMC_TEST_STATE} or BAIL_OUT('NMC_TEST_STATE is not set (run through make test)');
my $bouncer_port = ops_pg_port(1);
my @edges = (ops_port(2), ops_port(4));    # HTTP ports; each feed on the next port
my $pool_size = 3;
my $calls = 12;

# PgBouncer, as Debian ships it, with an ini of its own: transaction pooling, 3 server
# connections for 2 edges × 4 threads.
my $dir = "$state/pgbouncer-$$";
mkdir $dir or die "$dir: $!";
open my $ini, '>', "$dir/pgbouncer.ini" or die;
print $ini <<"INI";
[databases]
$ENV{NMC_DB} = host=$state/run port=$ENV{NMC_PG_PORT} dbname=$ENV{NMC_DB}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 200
pidfile = $dir/pgbouncer.pid
INI
close $ini;
open my $users, '>', "$dir/userlist.txt" or die;
print $users qq{"nmc_edge" ""\n"postgres" ""\n};
close $users;
system('chown', '-R', 'postgres:', $dir) == 0 or die;
start_daemon('pgbouncer', {}, 'setpriv', '--reuid=postgres', '--regid=postgres', '--clear-groups', 'pgbouncer', "$dir/pgbouncer.ini");
sub bouncer_admin {
    my ($cmd) = @_;
    open my $fh, '-|', 'psql', '-X', '-A', '-F', '|', '-h', $dir, '-p', $bouncer_port, '-U', 'postgres', '-d', 'pgbouncer', '-c', $cmd or die;
    my @rows = map { chomp; $_ } <$fh>;
    close $fh;
    return @rows;
}
ok wait_for(sub { scalar bouncer_admin('SHOW VERSION') }, 10), 'PgBouncer answers' or BAIL_OUT('no PgBouncer');

my $pooled = "host=127.0.0.1 port=$bouncer_port dbname=$ENV{NMC_DB} user=nmc_edge";
for my $i (0, 1) {
    start_edge("edge-pooled-$i", $edges[$i], NMC_EDGE_DB => $pooled, NMC_EDGE_LISTEN_DB => $ENV{NMC_TEST_EDGE_DB},
               NMC_EDGE_PREPARED_STATEMENTS => 'off', NMC_EDGE_THREADS => 4);
}
ok http_up("http://127.0.0.1:$edges[$_]/healthz"), "edge $_ answers through PgBouncer" for 0, 1;

use_fake_providers();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $http = HTTP::Tiny->new(timeout => 10);

# The owner signs up on one edge; the business gets a number and is always open.
my $email = 'pooled-' . $$ . '-' . time . '@example.com';
my $res = $http->post("http://127.0.0.1:$edges[0]/api/auth/register", { headers => { 'content-type' => 'application/json' },
    content => encode_json({ email => $email, password => 'correct horse battery', name => 'Pooled Owner',
                             business_name => 'Pooled Plumbing', trade_type => 'plumbing', timezone => 'America/Chicago' }) });
is $res->{status}, 201, 'sign-up through the pooler';
my $jwt = decode_json($res->{content})->{token};
my $business = decode_json($res->{content})->{user}{business_id};
my $number = '+1512557' . sprintf('%04d', $$ % 10000);
sql("UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = '$business'");
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$business', '$number')");
sql("SELECT nmc.hours_replace('$business', (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d))");
$res = $http->get("http://127.0.0.1:$edges[1]/api/business", { headers => { authorization => "Bearer $jwt" } });
is $res->{status}, 200, 'the token works on the other edge';

# A dashboard on each edge's feed.
my @feeds = map { WsClient->connect(port => $edges[$_] + 1) } 0, 1;
for my $f (@feeds) { $f->send_text(encode_json({ token => $jwt, last_event_id => undef })) }
is_deeply [map { my $h = next_frame($_, sub { $_[0]{type} eq 'hello' }); $h && $h->{type} } @feeds], ['hello', 'hello'],
    'both edges\' feeds say hello (their LISTEN on a direct session)';

# The missed calls, all at once: each call's voice webhook to one edge, its dial result to the other.
my @call = map { { CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff',
                   From => '+1512558' . sprintf('%04d', ($$ + $_) % 10000), To => $number } } 1 .. $calls;
my @pids;
for my $i (0 .. $#call) {
    my $pid = fork // die;
    if (!$pid) {
        my ($first, $second) = map { "http://127.0.0.1:$edges[($i + $_) % 2]" } 0, 1;
        my $v = post_twilio($first, $public, '/webhooks/twilio/voice', { %{ $call[$i] }, CallStatus => 'ringing' }, $token);
        my $d = post_twilio($second, $public, '/webhooks/twilio/voice/dial', { %{ $call[$i] }, DialCallStatus => 'no-answer' }, $token);
        POSIX::_exit($v->{status} == 200 && $v->{content} =~ /<Dial/ && $d->{status} == 200 ? 0 : 1);
    }
    push @pids, $pid;
}
my $answered = 0;
for (@pids) { waitpid $_, 0; $answered++ if $? == 0 }
is $answered, $calls, "$calls missed calls, each over both edges at once: every webhook answered";
# Twilio retries one dial result, to the edge that did not get it the first time.
$res = post_twilio("http://127.0.0.1:$edges[0]", $public, '/webhooks/twilio/voice/dial', { %{ $call[0] }, DialCallStatus => 'no-answer' }, $token);
is $res->{status}, 200, 'a retry of a dial result to the other edge is answered';

ok wait_for(sub { sql("SELECT count(*) FROM nmc.calls WHERE business_id = '$business' AND decision = 'texted'") == $calls
                  && sql("SELECT (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL)
                               + (SELECT count(*) FROM nmc.jobs WHERE status IN ('queued', 'in_flight'))") == 0 }, 20),
   'every call is recorded as texted, and nothing is left to send';
my %texts;
for (@{ fake_requests(path => 'Messages.json') }) { $texts{$1}++ if $_->{body} =~ /(?:^|&)To=%2B(\d+)/ }
is_deeply [map { $texts{substr $_->{From}, 1} // 0 } @call], [(1) x $calls], 'the fake Twilio got exactly one text per caller, the retried one too';

# Each dashboard sees every call live, whichever edge took its webhooks.
for my $i (0, 1) {
    my %seen;
    next_frame($feeds[$i], sub { $seen{ $_[0]{data}{customer}{phone} } = 1 if $_[0]{type} eq 'call.missed'; keys %seen == $calls });
    is scalar(keys %seen), $calls, "the feed of edge $i delivered all $calls call.missed events";
}
$_->close for @feeds;

my @servers = grep { /\|nmc_edge\|/ } bouncer_admin('SHOW SERVERS');
cmp_ok scalar(@servers), '<=', $pool_size, 'PgBouncer served both edges with at most its pool size of server connections (' . scalar(@servers) . ')';
my ($stats) = grep { /^\Q$ENV{NMC_DB}\E\|/ } bouncer_admin('SHOW STATS');
my $xacts = (split /\|/, $stats // '')[1] // 0;
cmp_ok $xacts, '>=', 2 * $calls, "… which carried the edges' transactions ($xacts)";

done_testing;

# Reads frames until want returns true (health pings included), within 15 s; the last frame or undef.
sub next_frame {
    my ($c, $want) = @_;
    my $deadline = time + 15;
    while (time < $deadline) {
        my $m = $c->next_message($deadline - time) or return undef;
        return undef if $m->{type} eq 'close';
        my $f = decode_json($m->{text});
        return $f if $want->($f);
    }
    return undef;
}
