# 08_provider_outage.t — Twilio answers 500 to every send for as long as it
# takes: no text is lost. After circuit_failure_threshold failures in a row the
# twilio circuit opens, the texts wait behind it (held, retry budget unspent),
# only one probe at a time reaches Twilio, /api/status says so; when Twilio is
# back the held texts go out once each, oldest first — except those no longer
# wanted at that moment: a customer who replied STOP, an assistant text in a
# conversation the owner took over, and a text past stale_text_seconds (the
# owner is texted to call back instead). Counts: acknowledged, delivered,
# dropped as designed, lost (0), duplicated (0).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use NmcTest qw(sql fake fake_requests fake_reset wait_until use_fake_providers);

use_fake_providers();
fake_reset();
sql(q{SELECT nmc.configure('{"job_backoff_base_ms":"20","job_backoff_max_ms":"100","circuit_failure_threshold":"3",
                             "circuit_probe_base_ms":"200","circuit_probe_max_ms":"400"}')});
my $test_pid = $$;
END {
    if ($$ == $test_pid) {
        local $?;
        fake_reset();
        sql(q{SELECT nmc.configure('{"job_backoff_base_ms":"1000","job_backoff_max_ms":"300000","circuit_failure_threshold":"5",
                                     "circuit_probe_base_ms":"2000","circuit_probe_max_ms":"60000","stale_text_seconds":"3600"}')});
    }
}

# One business, 40 customers; one conversation in the assistant's hands.
# (Numbers drawn per run, so the file can run again on the same database.)
my $block = 200 + int rand 800;
my ($owner, $number) = ("+1737${block}8800", "+1737${block}8000");
my ($b) = sql("INSERT INTO nmc.businesses (name, trade_type, forward_to_phone) VALUES ('Outage Plumbing', 'plumbing', '$owner') RETURNING id");
my ($pn) = sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$b', '$number') RETURNING id");
my @phones = map { sprintf '+1737%s%04d', $block, 8100 + $_ } 1 .. 40;
my @cust = map { scalar sql("SELECT id FROM nmc.customer_upsert('$b', '$_')") } @phones;
my ($conv) = sql("INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, mode) VALUES ('$b', '$cust[39]', '$pn', 'ai') RETURNING id");
my ($conv2) = sql("INSERT INTO nmc.conversations (business_id, customer_id, phone_number_id, mode) VALUES ('$b', '$cust[38]', '$pn', 'waiting') RETURNING id");

fake(POST => '/_fake/faults', { match => 'Messages.json', status => 500, count => 0 });    # until reset: Twilio is down
my @msg;
for my $i (0 .. 37) {
    push @msg, scalar sql("SELECT id FROM nmc.sms_send('$b', '$cust[$i]', '$number', 'Sorry we missed your call ($i)')");
}
push @msg, scalar sql("SELECT id FROM nmc.sms_send('$b', '$cust[38]', '$number', 'Sorry we missed your call (38)', 'system', '$conv2')");
push @msg, scalar sql("SELECT id FROM nmc.sms_send('$b', '$cust[39]', '$number', 'What is the address?', 'ai', '$conv')");
is scalar(@msg), 40, '40 texts acknowledged (queued)';

ok wait_until(sub { sql("SELECT state = 'open' FROM nmc.provider_circuits WHERE provider = 'twilio'") eq 't' }, 10),
   'the twilio circuit opens';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$b' AND held_at IS NOT NULL AND status = 'queued'") >= 39 }, 10),
   'the texts wait behind it (at most the probe is out)';
is sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$b' AND status = 'failed'"), 0, 'none has failed';
my $status = sql("SELECT nmc.provider_circuit_status() -> 'twilio' ->> 'state'");
is $status, 'open', 'the status page shows Twilio down';

# While it is down, only probes reach Twilio: a few per second, not 40 × retries.
my $before = scalar @{ fake_requests(path => 'Messages.json') };
sleep 1.5;
my $during = scalar(@{ fake_requests(path => 'Messages.json') }) - $before;
diag "requests to Twilio in 1.5 s of outage with the circuit open: $during";
cmp_ok $during, '<=', 10, 'one probe at a time, spaced out';
my $max_attempts = sql("SELECT max(attempts - retry_budget_from) FROM nmc.jobs WHERE business_id = '$b'");
cmp_ok $max_attempts, '<', 8, 'no text is near the end of its retry budget';

# Meanwhile: customer 0 replies STOP, the owner takes over customer 39's
# conversation, and customer 38's text has waited past the staleness limit.
sql("UPDATE nmc.customers SET opted_out_at = now() WHERE id = '$cust[0]'");
sql("SET nmc.business_id = '$b'; SELECT nmc.conversation_takeover('$conv')");
sql("UPDATE nmc.messages SET created_at = now() - interval '2 hours' WHERE id = '$msg[38]'");

fake_reset();    # Twilio is back
ok wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$b' AND status IN ('queued', 'in_flight')") == 0 }, 20),
   'every text is settled once Twilio is back';
is sql("SELECT state FROM nmc.provider_circuits WHERE provider = 'twilio'"), 'closed', 'the circuit closed';

my %texted;
for my $r (@{ fake_requests(path => 'Messages.json') }) {
    my ($to) = $r->{body} =~ /(?:^|&)To=%2B(\d+)/;
    $texted{"+$to"}++ if $to;
}
my $delivered = grep { $texted{$_} } @phones[1 .. 37];
my $duplicated = grep { ($texted{$_} // 0) > 1 } @phones;
diag sprintf 'acknowledged 40, delivered %d of the 37 still wanted, dropped as designed 3, duplicated %d', $delivered, $duplicated;
is $delivered, 37, 'every text still wanted went out';
is $duplicated, 0, '… once each';
ok !$texted{$phones[0]}, 'not to the customer who replied STOP meanwhile';
ok !$texted{$phones[39]}, 'not the assistant text of a conversation the owner took over';
ok !$texted{$phones[38]}, 'not the text that waited two hours';
is $texted{$owner}, 1, 'the owner is texted to call that customer back instead';
is join(',', sql("SELECT status || ':' || coalesce(error_message, '') FROM nmc.messages WHERE id IN ('$msg[0]', '$msg[38]', '$msg[39]') ORDER BY to_phone")),
   join(',', 'dropped:the customer replied STOP before this text went out',
        'dropped:this text could not go out for 120 minutes (a provider outage); too late to send',
        'dropped:the owner took the conversation over before this assistant text went out'),
   'the three dropped texts say why';
is sql("SELECT count(*) FROM nmc.events WHERE business_id = '$b' AND type = 'message.stale'"), 1, 'the dashboard is told about the stale one';
is sql("SELECT count(*) FROM nmc.messages WHERE business_id = '$b' AND to_phone <> '$owner' AND status NOT IN ('queued', 'sent', 'delivered', 'dropped')"), 0,
   'lost: 0 (every text is queued, sent or delivered at Twilio, or dropped with a reason)';

done_testing;
