# 06_metrics.t — GET /metrics speaks Prometheus text and counts what happened:
# requests by route (ids folded) and status, latency histograms, live-feed
# clients, and the database's job queue and dispatcher state. Its figures are
# platform-wide: without NMC_METRICS_TOKEN only a direct client on this machine
# reads them (not one through a proxy); with it, only a client sending it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use EdgeTest qw(api register unique_email http base_url);

my $token = register(unique_email('metrics'))->{token};
api(GET => '/api/me', undef, $token) for 1 .. 3;
api(GET => '/api/jobs/123456', undef, $token);

# A request is counted when it completes, just after its answer was sent: the
# answer can reach us first, so wait (briefly) until the last one is counted.
my $res;
for (1 .. 100) {
    $res = http()->get(base_url() . '/metrics');
    last if $res->{content} =~ m{route="/api/jobs/\{id\}"};
    select undef, undef, undef, 0.02;
}
is $res->{status}, 200, 'GET /metrics';
like $res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'Prometheus text format';
my $m = $res->{content};
like $m, qr/^nmc_http_requests_total\{method="GET",route="\/api\/me",status="200"\} ([3-9]|\d\d+)$/m, 'requests are counted by route and status';
like $m, qr/^nmc_http_requests_total\{method="GET",route="\/api\/jobs\/\{id\}",status="404"\} \d+$/m, 'ids in paths are folded into {id}';
like $m, qr/^nmc_http_request_duration_seconds_bucket\{method="GET",route="\/api\/me",le="\+Inf"\} \d+$/m, 'latency histograms';
like $m, qr/^nmc_feed_clients \d+$/m, 'live-feed clients';
like $m, qr/^nmc_feed_notify_to_send_seconds_count\{\} \d+$/m, 'NOTIFY-to-send latency';
like $m, qr/^nmc_dispatcher_up 1$/m, 'the dispatcher is up';
like $m, qr/^nmc_inbox_worker_up 1$/m, 'the inbox worker is up';
like $m, qr/^nmc_webhook_inbox\{state="waiting"\} \d+\nnmc_webhook_inbox\{state="failed"\} \d+$/m, 'webhooks waiting and failed in the inbox';
like $m, qr/^nmc_webhook_inbox_oldest_seconds [\d.]+$/m, 'how long the oldest waiting webhook has waited';
like $m, qr/^# TYPE nmc_jobs gauge$/m, 'jobs by kind and status';
like $m, qr/^nmc_database_up 1$/m, 'the database answered';
unlike $m, qr/Bearer|\Q$token\E/, 'no token in the metrics';

my $proxied = http()->get(base_url() . '/metrics', { headers => { 'X-Forwarded-For' => '203.0.113.9' } });
is $proxied->{status}, 403, 'through a proxy (X-Forwarded-For) and without a token: 403';
like $proxied->{content}, qr/"code": ?"metrics_forbidden"/, '… metrics_forbidden';
is http()->get(base_url() . '/metrics', { headers => { 'Forwarded' => 'for=203.0.113.9' } })->{status}, 403, '… also with Forwarded';

# A second edge with a metrics token: only the token opens /metrics, from anywhere.
my $port = ($ENV{NMC_HTTP_PORT} // 18080) + 5;
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $ENV{NMC_HTTP_PORT} = $port;
    $ENV{NMC_WS_PORT} = $port + 1;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_METRICS_TOKEN} = 'a-long-metrics-token-0123456789';
    open STDOUT, '>', "$ENV{NMC_TEST_STATE}/log/edge-metrics-token.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $ENV{NMC_TEST_EDGE_BIN};
    die "exec: $!";
}
my $second = "http://127.0.0.1:$port";
my $up = 0;
for (1 .. 200) { if (http()->get("$second/healthz")->{status} == 200) { $up = 1; last } select undef, undef, undef, 0.05 }
ok $up, 'a second edge with NMC_METRICS_TOKEN answers';
is http()->get("$second/metrics")->{status}, 403, 'with a token configured, a loopback client without it: 403';
is http()->get("$second/metrics", { headers => { Authorization => 'Bearer a-long-metrics-token-012345678X' } })->{status}, 403,
    'a wrong token: 403';
my $ok = http()->get("$second/metrics", { headers => { Authorization => 'Bearer a-long-metrics-token-0123456789',
                                                       'X-Forwarded-For' => '203.0.113.9' } });
is $ok->{status}, 200, 'the right token: 200, through a proxy too';
like $ok->{content}, qr/^nmc_database_up 1$/m, '… with the figures';
kill TERM => $pid;
waitpid $pid, 0;

# A setting the edge does not understand stops it at once, saying why.
my $out = qx{NMC_HTTP_PORT=$port NMC_WS_PORT=@{[$port + 1]} NMC_EDGE_PREPARED_STATEMENTS=sometimes $ENV{NMC_TEST_EDGE_BIN} 2>&1};
isnt $? >> 8, 0, 'NMC_EDGE_PREPARED_STATEMENTS=sometimes: the edge refuses to start';
like $out, qr/NMC_EDGE_PREPARED_STATEMENTS must be on or off/, '… and says why';

done_testing;
