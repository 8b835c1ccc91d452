# 10_events_take_no_turns.t — writing an event locks nothing of its business
# (sql/feed/events.sql): while one transaction that wrote an event for a
# business stays open, the business's missed calls are still decided and
# texted, its other writers commit without waiting, and the events worker
# numbers the events in the order they committed, without a gap.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers psql_session);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
use_fake_providers();
fake_reset();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
# Numbers of their own each run (the test can run again on the same database).
my $number = sprintf('+1512555%04d', 1000 + $$ % 4000);
my $caller = sprintf('+1512555%04d', 5000 + $$ % 4000);
my ($business) = sql("SELECT nmc_test.business_with_number('$number')");
my $last = sub { sql("SELECT coalesce((SELECT last_seq FROM nmc.event_counters WHERE business_id = '$business'), 0)") };
ok wait_until(sub { sql("SELECT count(*) FROM nmc.events_pending WHERE business_id = '$business'") == 0 }, 10),
   'the set-up\'s events are numbered';
my $before = $last->();

# A writer of the business holds its transaction open (an owner's reply, a
# dispatcher's completion: anything that wrote an event).
my $held = psql_session();
print $held "BEGIN;\nSELECT nmc.emit_event('$business', 'test.held', '{}');\nSELECT pg_advisory_lock(4711);\n";
ok wait_until(sub { sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4711 AND granted") == 1 }, 10),
   'a transaction that wrote an event for the business is open';

# Its other writers do not wait for it: a lock wait would end in an error here.
ok eval { sql("SET lock_timeout = '100ms'; SELECT nmc.emit_event('$business', 'test.other_writer', '{}')"); 1 },
   'another transaction writes an event for the same business without waiting';

# A missed call to the business is texted meanwhile.
my $sid = random_sid('CA');
my %call = (CallSid => $sid, AccountSid => 'ACffffffffffffffffffffffffffffffff', From => $caller, To => $number);
is post_twilio($edge, $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $token)->{status}, 200, 'a call comes in';
is post_twilio($edge, $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token)->{status}, 200,
   '… and is not answered';
ok wait_until(sub { grep { $_->{body} =~ /To=%2B\Q${\ substr($caller, 1)}\E/ } @{ fake_requests(path => 'Messages.json') } }, 15),
   'the caller is texted while the other transaction stays open';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.events WHERE business_id = '$business' AND type = 'call.missed' AND body ->> 'from' = '$caller'") == 1 }, 10),
   '… and the dashboard hears of the call';
is sql("SELECT count(*) FROM nmc.events WHERE business_id = '$business' AND type = 'test.held'"), 0, 'the open transaction\'s event is not in the feed';

print $held "COMMIT;\nSELECT pg_advisory_unlock(4711);\n";
close $held;
ok wait_until(sub { sql("SELECT count(*) FROM nmc.events WHERE business_id = '$business' AND type = 'test.held'") == 1 }, 10),
   'once it commits, its event is numbered too';
my @after = sql("SELECT type FROM nmc.events WHERE business_id = '$business' AND seq > $before ORDER BY seq");
is $after[0], 'test.other_writer', 'events are numbered in the order they committed';
is $after[-1], 'test.held', '… the held one last';
is sql("SELECT max(seq) - min(seq) + 1 = count(*) AND max(seq) = (SELECT last_seq FROM nmc.event_counters WHERE business_id = '$business') FROM nmc.events WHERE business_id = '$business'"),
   't', 'the business\'s numbers have no gap';

done_testing();
