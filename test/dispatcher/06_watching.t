# 06_watching.t — what a DBA sees: the worker's heartbeat and queue health,
# and cancelling a job in flight (its late answer is recorded as stale and
# changes nothing).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use NmcTest qw(sql sql_row fake fake_requests fake_reset wait_until new_business use_fake_providers);

use_fake_providers();
fake_reset();
my ($pid, $age) = sql_row("SELECT worker_pid, extract(epoch FROM heartbeat_age) FROM nmc.dispatcher_health()");
ok $pid > 0, 'dispatcher_health shows the worker';
cmp_ok $age, '<', 5, 'its heartbeat is fresh';

fake(POST => '/_fake/faults', { match => 'Messages.json', delay_ms => 700 });
my ($b, $c) = new_business('+15125550601');
my ($m) = sql("SELECT id FROM nmc.sms_send('$b', '$c', '+15125550100', 'cancel me')");
ok wait_until(sub { sql("SELECT in_flight FROM nmc.dispatcher_health()") >= 1 }, 5), 'dispatcher_health counts the job in flight';
my ($job) = sql("SELECT id FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'");
is sql("SELECT status FROM nmc.job_cancel($job)"), 'cancelled', 'a DBA cancels it';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.job_attempts WHERE job_id = $job AND outcome = 'stale'") == 1 }, 5),
    'the late answer is recorded as stale';
is sql("SELECT status FROM nmc.jobs WHERE id = $job"), 'cancelled', 'the job stays cancelled';
is sql("SELECT status FROM nmc.messages WHERE id = '$m'"), 'pending', 'the message was not updated by the stale answer';
ok sql("SELECT count(*) FROM nmc.job_queue WHERE kind = 'twilio.sms.send'") >= 1, 'the job_queue view lists the kind';

fake_reset();
done_testing;
