# 05_lease_after_worker_kill.t — the worker is killed while a request is in
# flight: Postgres restarts it, the job's lease expires, and the job is sent
# again and completed. Nothing is lost (at-least-once: docs/dispatcher.md).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use NmcTest qw(sql fake fake_requests fake_reset wait_until new_business use_fake_providers);

use_fake_providers();
fake_reset();
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 1500 WHERE kind = 'twilio.sms.send'});
sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"100"}')});
fake(POST => '/_fake/faults', { match => 'Messages.json', delay_ms => 4000 });

my ($old_pid) = sql("SELECT pid FROM nmc.dispatcher_process()");
ok $old_pid, "the dispatcher runs (pid $old_pid)";
my ($b, $c) = new_business('+15125550501');
my ($m) = sql("SELECT id FROM nmc.sms_send('$b', '$c', '+15125550100', 'survive a crash')");
ok wait_until(sub { scalar @{ fake_requests(path => 'Messages.json') } }, 5), 'the request is in flight (the fake is holding it)';
is sql("SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'"), 'in_flight', 'the job is leased';

is sql("SELECT pg_terminate_backend($old_pid)"), 't', 'the worker is terminated mid-flight';
my $new_pid = wait_until(sub { my ($p) = sql("SELECT pid FROM nmc.dispatcher_process()"); ($p && $p != $old_pid) ? $p : undef }, 10);
ok $new_pid, 'Postgres starts a new dispatcher';

ok wait_until(sub { sql("SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'") eq 'done' }, 15),
    'after the lease expires the job runs again and completes';
is sql("SELECT attempts FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'"), 2, 'in its second attempt';
is scalar(@{ fake_requests(path => 'Messages.json') }), 2, 'Twilio saw the request twice (at-least-once)';
like sql("SELECT twilio_sid FROM nmc.messages WHERE id = '$m'"), qr/^SM/, 'the message has its SID';

sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 15000 WHERE kind = 'twilio.sms.send'});
sql(q{SELECT nmc.configure('{"dispatcher_lease_margin_ms":"5000"}')});
fake_reset();
done_testing;
