# 03_wake_at_commit.t — with the dispatcher's idle poll at one hour, a job is
# picked up promptly only because its commit wakes the worker: nothing is
# sent before the commit, and nothing ever for a rolled-back transaction.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use NmcTest qw(sql fake_requests fake_reset wait_until new_business use_fake_providers psql_session);

use_fake_providers();
is sql("SELECT value FROM nmc.settings WHERE name = 'dispatcher_idle_poll_ms'"), '3600000', 'the test cluster polls only once an hour';
# No other work may be pending, or its due time would wake the worker instead.
ok wait_until(sub { sql("SELECT count(*) = 0 FROM nmc.jobs WHERE status IN ('queued', 'in_flight')") eq 't' }, 20), 'no other job is pending';
sql("UPDATE nmc.timers SET cancelled_at = now() WHERE fired_at IS NULL AND cancelled_at IS NULL");
fake_reset();

my ($b, $c) = new_business('+15125550301');
my $session = psql_session();
print $session "SET application_name = 'wake_at_commit';\nBEGIN;\nSELECT nmc.sms_send('$b', '$c', '+15125550100', 'wake test');\n";
# The fact to wait for: the text is queued and its transaction still open.
ok wait_until(sub { sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wake_at_commit' AND state = 'idle in transaction'") == 1 }, 10),
   'the text is queued in an open transaction';
is scalar(@{ fake_requests(path => 'Messages.json') }), 0, 'nothing is sent while the transaction is open';
print $session "COMMIT;\n";
close $session;
ok wait_until(sub { scalar @{ fake_requests(path => 'Messages.json') } }, 5), 'the commit wakes the worker: the text is sent';

my ($b2, $c2) = new_business('+15125550302');
$session = psql_session();
print $session "BEGIN;\nSELECT nmc.sms_send('$b2', '$c2', '+15125550100', 'rolled back');\nROLLBACK;\n";
close $session;
# A text committed after the rollback goes out: a wrong implementation would have
# sent the rolled-back one by then (jobs go out in order).
my ($b3, $c3) = new_business('+15125550303');
sql("SELECT nmc.sms_send('$b3', '$c3', '+15125550100', 'committed after')");
ok wait_until(sub { grep { $_->{body} =~ /To=%2B15125550303/ } @{ fake_requests(path => 'Messages.json') } }, 5),
   'a text committed after the rollback is sent';
my @to = grep { $_->{body} =~ /To=%2B15125550302/ } @{ fake_requests(path => 'Messages.json') };
is scalar(@to), 0, 'a job from a rolled-back transaction is never sent';
is sql("SELECT count(*) FROM nmc.messages WHERE to_phone = '+15125550302'"), 0, '… and left nothing behind';

done_testing;
