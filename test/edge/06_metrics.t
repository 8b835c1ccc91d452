# 06_metrics.t — GET /metrics speaks Prometheus text and counts what happened:
# requests by route (ids folded) and status, latency histograms, live-feed
# clients, and the database's job queue and dispatcher state.
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

done_testing;
