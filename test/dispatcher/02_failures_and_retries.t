# 02_failures_and_retries.t — transient failures (5xx, 429 with Retry-After,
# dropped connections, timeouts) are retried until they succeed; permanent
# Twilio errors fail the job with the provider's code and their domain effect.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use NmcTest qw(sql fake fake_requests fake_reset wait_until new_business use_fake_providers);

use_fake_providers();
sql(q{SELECT nmc.configure('{"job_backoff_base_ms":"20","job_backoff_max_ms":"200"}')});

sub send_text {
    my ($to, $body) = @_;
    my ($b, $c) = new_business($to);
    my ($m) = sql("SELECT id FROM nmc.sms_send('$b', '$c', '+15125550100', '$body')");
    my $final = wait_until(sub {
        my ($s) = sql("SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = '$m' AND status IN ('done', 'failed')");
        $s;
    }, 20);
    return ($m, $final // 'timeout');
}
sub outcomes {
    my ($m) = @_;
    return join ',', sql("SELECT a.outcome || ':' || coalesce(a.http_status::text, '-') FROM nmc.job_attempts a JOIN nmc.jobs j ON j.id = a.job_id
                          WHERE j.payload ->> 'message_id' = '$m' ORDER BY a.id");
}

fake_reset();
fake(POST => '/_fake/faults', { match => 'Messages.json', status => 503, count => 2 });
my ($m, $s) = send_text('+15125550201', 'five hundred twice');
is $s, 'done', '503 twice, then success: done';
is outcomes($m), 'retry:503,retry:503,done:201', '… after two retries';

fake_reset();
fake(POST => '/_fake/faults', { match => 'Messages.json', status => 429, retry_after => 1 });
($m, $s) = send_text('+15125550202', 'rate limited');
is $s, 'done', '429 with Retry-After, then success: done';
my @at = map { $_->{received_at_us} } @{ fake_requests(path => 'Messages.json') };
is scalar(@at), 2, '… in two requests';
cmp_ok $at[1] - $at[0], '>=', 950_000, '… the second no sooner than Retry-After: 1 allows';

fake_reset();
# Three drops: when a reused keep-alive connection dies without an answer,
# libcurl itself re-sends once on a fresh connection, so one drop per attempt
# may never reach the dispatcher; the others do, as transport errors.
fake(POST => '/_fake/faults', { match => 'Messages.json', drop => 1, count => 3 });
($m, $s) = send_text('+15125550203', 'dropped');
is $s, 'done', 'a dropped connection is retried: done';
# How many drops libcurl absorbs depends on how many kept-alive connections it
# holds (it re-sends on another one): the attempts that did fail are
# transport errors, and all three drops plus the success reached the fake.
like outcomes($m), qr/^(retry:-,)*done:201$/, '… any failed attempt recorded as a transport error';
is scalar(@{ fake_requests(path => 'Messages.json') }), 4, '… after the three dropped requests';

fake_reset();
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 300 WHERE kind = 'twilio.sms.send'});
fake(POST => '/_fake/faults', { match => 'Messages.json', delay_ms => 1500 });
($m, $s) = send_text('+15125550204', 'slow');
sql(q{UPDATE nmc.job_kinds SET total_timeout_ms = 15000 WHERE kind = 'twilio.sms.send'});
is $s, 'done', 'a timed-out request is retried: done';
like sql("SELECT error FROM nmc.job_attempts a JOIN nmc.jobs j ON j.id = a.job_id WHERE j.payload ->> 'message_id' = '$m' ORDER BY a.id LIMIT 1"),
    qr/timed out/i, '… the first attempt says it timed out';

fake_reset();
($m, $s) = send_text('+15005550004', 'to someone who said STOP');
is $s, 'failed', 'Twilio 21610: failed at once';
is sql("SELECT error_code FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'"), '21610', "… with Twilio's code";
is sql("SELECT opted_out_at IS NOT NULL FROM nmc.customers c JOIN nmc.messages m ON m.customer_id = c.id WHERE m.id = '$m'"), 't',
    '… and the customer is marked opted out';
is scalar(@{ fake_requests(path => 'Messages.json') }), 1, 'a permanent failure is not retried';

($m, $s) = send_text('+15005550009', 'to a landline');
is $s, 'failed', 'Twilio 21614 (not SMS-capable): failed';
is sql("SELECT sms_unreachable_at IS NOT NULL FROM nmc.customers c JOIN nmc.messages m ON m.customer_id = c.id WHERE m.id = '$m'"), 't',
    '… the number is marked unable to receive texts';

sql(q{SELECT nmc.configure('{"twilio_auth_token":"wrong-token-xyz"}')});
($m, $s) = send_text('+15125550205', 'bad credentials');
is $s, 'failed', 'wrong credentials (20003): failed';
my ($code, $err) = split /\|/, sql("SELECT error_code, last_error FROM nmc.jobs WHERE payload ->> 'message_id' = '$m'");
is $code, '20003', '… with code 20003';
unlike $err, qr/wrong-token-xyz/, '… and the token is not in the error';
use_fake_providers();

fake_reset();
sql(q{UPDATE nmc.job_kinds SET max_attempts = 2 WHERE kind = 'twilio.sms.send'});
fake(POST => '/_fake/faults', { match => 'Messages.json', status => 500, count => 5 });
($m, $s) = send_text('+15125550206', 'never works');
sql(q{UPDATE nmc.job_kinds SET max_attempts = 8 WHERE kind = 'twilio.sms.send'});
is $s, 'failed', 'a transient failure that never clears fails after max_attempts';
is outcomes($m), 'retry:500,failed:500', '… after exactly max_attempts requests';
is sql("SELECT status FROM nmc.messages WHERE id = '$m'"), 'failed', 'the message is marked failed';

sql(q{SELECT nmc.configure('{"job_backoff_base_ms":"1000","job_backoff_max_ms":"300000"}')});
fake_reset();
done_testing;
