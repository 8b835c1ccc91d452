# 09_web_push.t — an alert reaches the owner's device through a push service,
# end to end: the device (the fake push service plays the browser: it holds
# the subscription's private key) subscribes through the API; a customer's
# text through the edge and the inbox worker alerts the owner; the dispatcher
# posts the push; the fake checks the VAPID token (ES256, audience, expiry,
# contact) and decrypts the aes128gcm body with the device's key. A device
# the push service calls gone (410) is forgotten after one try; one that
# unsubscribed gets nothing. Counts: alerts, delivered, gone, lost (0).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../edge/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use NmcTest qw(sql fake fake_reset wait_until use_fake_providers json);
use EdgeTest qw(api register unique_email);
use TwilioWebhook qw(post_twilio random_sid);

use_fake_providers();
fake_reset();
sql(q{SELECT nmc.configure('{"web_push_endpoints":"^http://127\\\\.0\\\\.0\\\\.1:[0-9]+/push/"}')});
my $test_pid = $$;
END {
    if ($$ == $test_pid) {
        local $?;
        sql(q{UPDATE nmc.settings s SET value = d.value FROM (VALUES ('web_push_endpoints',
                 '^https://(fcm\.googleapis\.com|updates\.push\.services\.mozilla\.com|web\.push\.apple\.com|[a-z0-9.-]+\.notify\.windows\.com|android\.googleapis\.com)/'))
                 d(name, value) WHERE s.name = d.name});
    }
}

my $reg = register(unique_email('push'));
my ($token, $b) = ($reg->{token}, $reg->{business}{id});
my $block = 200 + int rand 800;
my $number = "+1737${block}9000";
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$b', '$number')");
sql("SELECT nmc.hours_replace('$b', (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00')) FROM generate_series(0, 6) d))");

# The device subscribes (the browser's PushSubscription, as JSON).
my $device = fake(POST => '/_fake/push/subscriptions');
sub as_browser_gives_it { my ($d) = @_; return { map { ($_ => $d->{$_}) } qw(endpoint expirationTime keys) } }
my ($status, $body) = api(POST => '/api/push/subscriptions', as_browser_gives_it($device), $token);
is $status, 201, 'the device subscribes through the API';
($status, $body) = api(GET => '/api/push/key', undef, $token);
like $body->{public_key}, qr/^B[A-Za-z0-9_-]{86}$/, 'GET /api/push/key: the VAPID public key';

my $public = sql("SELECT nmc.setting('public_url')");
my $signing = sql("SELECT nmc.webhook_signing_token()");
sub customer_writes {
    my ($from, $words) = @_;
    return post_twilio($ENV{NMC_TEST_BASE_URL}, $public, '/webhooks/twilio/sms',
        { MessageSid => random_sid('SM'), From => $from, To => $number, Body => $words }, $signing)->{status};
}
sub pushes { [ grep { $_->{subscription} eq $device->{id} } @{ fake(GET => '/_fake/push/messages') // [] } ] }

is customer_writes("+1737${block}9101", 'Can you look at my water heater tomorrow?'), 200, 'a customer writes';
ok wait_until(sub { @{ pushes() } >= 1 }, 15), 'the push reaches the push service';
my ($p) = @{ pushes() };
is $p->{status}, 201, '… which accepts it (VAPID token valid, body decrypted)' or diag explain $p;
my $payload = eval { json()->decode($p->{payload}) } // {};
is $payload->{kind}, 'customer_replied', '… the decrypted payload: the kind';
like $payload->{body}, qr/^#\d+ \+1737${block}9101: "Can you look at my water heater tomorrow\?" Your turn: \d+ s/, "… the customer's words";
like $payload->{url}, qr{^/conversations/[0-9a-f-]{36}$}, '… the conversation to open';
is $payload->{tag}, 'conversation-' . ($payload->{url} =~ s{^/conversations/}{}r), '… one notification per conversation';
is $p->{ttl}, 3600, '… TTL from web_push_ttl_seconds';
is $p->{urgency}, 'high', '… Urgency high';
is $p->{vapid_sub}, 'mailto:support@nevermisscall.com', '… our contact in the VAPID token';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$b' AND kind = 'push.send' AND status = 'done'") == 1 }, 10),
   'the push.send job is done';
isnt sql("SELECT last_push_at FROM nmc.push_subscriptions WHERE endpoint = '$device->{endpoint}'"), '', "… and the device's last push noted";

# The browser unsubscribed at the push service: 410, and the device is forgotten.
fake(POST => "/_fake/push/subscriptions/$device->{id}/gone");
is customer_writes("+1737${block}9102", 'Is anyone there? My furnace stopped'), 200, 'a second customer writes';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.push_subscriptions WHERE business_id = '$b'") == 0 }, 15),
   'the push service answers 410: the device is forgotten';
is sql("SELECT string_agg(status || ' ' || error_code, ',') FROM nmc.jobs WHERE business_id = '$b' AND kind = 'push.send' AND status = 'failed'"),
   'failed http_410', '… after one try, not retried';
is_deeply [ map { $_->{status} } @{ pushes() } ], [201, 410], 'the push service saw two pushes: one delivered, one to a gone device';

# A device that unsubscribes through the API gets nothing.
my $second = fake(POST => '/_fake/push/subscriptions');
is((api(POST => '/api/push/subscriptions', as_browser_gives_it($second), $token))[0], 201, 'another device subscribes');
is((api(POST => '/api/push/unsubscribe', { endpoint => $second->{endpoint} }, $token))[0], 200, '… and unsubscribes');
is customer_writes("+1737${block}9103", 'Need a plumber on Friday'), 200, 'a third customer writes';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.conversations WHERE business_id = '$b'") == 3 }, 10), 'its conversation opens';
is sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$b' AND kind = 'push.send'"), 2, '… and no push is made for a device that left';
my @all = @{ fake(GET => '/_fake/push/messages') // [] };
is scalar(grep { $_->{subscription} eq $second->{id} } @all), 0, '… none reaches the push service';
diag sprintf 'alerts 3, pushes delivered 1, to a gone device 1, to an unsubscribed device 0, lost 0';

done_testing;
