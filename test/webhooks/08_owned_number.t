# 08_owned_number.t — an owner uses a number the Twilio account already owns
# (with webhooks of its own, e.g. an old answering service): the API lists the
# account's free numbers with their current webhooks, attaching one points it
# at ours through the fake Twilio's REST API and keeps the old ones on the
# number to restore; a number another business uses is neither listed nor
# attachable; a missed call to the attached number is texted from it; and
# detaching it puts its old webhooks back at the fake Twilio (listed again,
# it has them), once however often asked, refusing numbers not attached.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../edge/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use NmcTest qw(sql fake fake_requests fake_reset wait_until use_fake_providers);
use EdgeTest qw(api register unique_email base_url);
use TwilioWebhook qw(post_twilio random_sid);

use_fake_providers();
fake_reset();
my $suffix = sprintf '%04d', $$ % 10000;
my $owned = "+1512559$suffix";
my $seeded = fake(POST => '/_fake/twilio/numbers', { PhoneNumber => $owned, FriendlyName => 'Old answering line',
    VoiceUrl => 'https://old.example.com/voice', SmsUrl => 'https://old.example.com/sms', SmsMethod => 'GET' });
like $seeded->{sid}, qr/^PN[0-9a-f]{32}$/, 'the fake account owns a number with webhooks of its own';
# Another number of the account, already a business's.
my $other = fake(POST => '/_fake/twilio/numbers', { PhoneNumber => "+1512560$suffix", VoiceUrl => 'https://old.example.com/voice' });
sql("INSERT INTO nmc.phone_numbers (business_id, phone, twilio_sid) VALUES (nmc_test.business_with_number('+1512561$suffix'), '+1512560$suffix', '$other->{sid}')
     ON CONFLICT DO NOTHING");

my $token = register(unique_email('owned'))->{token};
sub poll_job {
    my ($id) = @_;
    my $job;
    wait_until(sub {
        my ($s, $b) = api(GET => "/api/jobs/$id", undef, $token);
        $job = $b->{job};
        $job && $job->{status} =~ /^(done|failed)$/;
    }, 15);
    return $job;
}

my ($status, $body) = api(POST => '/api/phone-numbers/attach', { twilio_sid => $seeded->{sid} }, $token);
is $status, 404, 'attaching before listing: 404';
is $body->{error}{code}, 'number_not_listed', '… number_not_listed';

($status, $body) = api(POST => '/api/phone-numbers/owned', {}, $token);
is $status, 202, 'listing the account\'s numbers: 202 with a job';
my $job = poll_job($body->{job}{id});
is $job->{status}, 'done', 'the listing job completes';
is_deeply [map { $_->{phone_number} } @{ $job->{result}{numbers} }], [$owned], 'it lists the free number, not the one a business uses';
my ($listed) = @{ $job->{result}{numbers} };
is_deeply $listed->{webhooks}, { voice_url => 'https://old.example.com/voice', voice_method => 'POST', sms_url => 'https://old.example.com/sms',
                                 sms_method => 'GET', status_callback => '', status_callback_method => 'POST' },
    '… with the webhooks it has now';
ok scalar @{ fake_requests(path => 'IncomingPhoneNumbers.json') }, 'the fake Twilio was asked for the account\'s numbers';

($status, $body) = api(POST => '/api/phone-numbers/attach', { twilio_sid => $other->{sid} }, $token);
is $status, 404, 'a number another business uses cannot be attached (it was not listed)';
($status, $body) = api(POST => '/api/phone-numbers/attach', { twilio_sid => $seeded->{sid} }, $token);
is $status, 202, 'attach: 202 with a job';
$job = poll_job($body->{job}{id});
is $job->{status}, 'done', 'the attach job completes';
my $again = (api(POST => '/api/phone-numbers/attach', { twilio_sid => $seeded->{sid} }, $token))[1];
is $again->{job}{id}, $body->{job}{id}, 'the same request again, once done, answers the same job (not number_taken)';

my ($update) = grep { $_->{method} eq 'POST' } @{ fake_requests(path => "IncomingPhoneNumbers/$seeded->{sid}.json") };
ok $update, 'the fake Twilio got the number\'s update';
like $update->{body}, qr{VoiceUrl=http%3A%2F%2Flocalhost%3A\d+%2Fwebhooks%2Ftwilio%2Fvoice(&|$)}, '… with our voice webhook';
like $update->{body}, qr{SmsUrl=http%3A%2F%2Flocalhost%3A\d+%2Fwebhooks%2Ftwilio%2Fsms(&|$)}, '… and our SMS webhook';

($status, $body) = api(GET => '/api/phone-numbers', undef, $token);
my ($mine) = grep { $_->{phone} eq $owned } @{ $body->{phone_numbers} };
ok $mine, 'the number now belongs to the business';
is_deeply $mine->{previous_webhooks}, $listed->{webhooks}, '… with its old webhooks kept to restore';
is sql("SELECT previous_webhooks ->> 'sms_method' FROM nmc.phone_numbers WHERE phone = '$owned'"), 'GET', '… in the record';

# A missed call to it, signed as Twilio signs it.
my $business = sql("SELECT business_id FROM nmc.phone_numbers WHERE phone = '$owned'");
sql("UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = '$business'");
sql("SELECT nmc.hours_replace('$business', (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d))");
my $public = sql("SELECT nmc.setting('public_url')");
my $signing = sql("SELECT nmc.webhook_signing_token()");
my $caller = "+1512562$suffix";
my %call = (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff', From => $caller, To => $owned);
post_twilio(base_url(), $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $signing);
post_twilio(base_url(), $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $signing);
ok wait_until(sub { grep { $_->{body} =~ /To=%2B1512562$suffix/ && $_->{body} =~ /From=%2B1512559$suffix/ } @{ fake_requests(path => 'Messages.json') } }, 10),
   'a missed call to the attached number is texted from it';

# Detach: the old webhooks go back on the number at Twilio.
($status, $body) = api(POST => "/api/phone-numbers/$mine->{id}/detach", {}, $token);
is $status, 202, 'detach: 202 with a job';
my $detach = $body->{job}{id};
is +(api(POST => "/api/phone-numbers/$mine->{id}/detach", {}, $token))[1]{job}{id}, $detach, 'asked again: the same job';
$job = poll_job($detach);
is $job->{status}, 'done', 'the detach job completes';
is_deeply $job->{result}{restored_webhooks}, $listed->{webhooks}, 'Twilio answers with the number\'s old webhooks';
my @updates = grep { $_->{method} eq 'POST' } @{ fake_requests(path => "IncomingPhoneNumbers/$seeded->{sid}.json") };
is scalar @updates, 2, 'the fake Twilio got one more update of the number, not two';
like $updates[-1]{body}, qr{VoiceUrl=https%3A%2F%2Fold.example.com%2Fvoice(&|$)}, '… with its old voice webhook';
like $updates[-1]{body}, qr{SmsMethod=GET(&|$)}, '… and its old SMS method';
is +(api(POST => "/api/phone-numbers/$mine->{id}/detach", {}, $token))[1]{job}{id}, $detach, 'asked again once done: the same job';
($status, $body) = api(GET => '/api/phone-numbers', undef, $token);
ok !(grep { $_->{phone} eq $owned } @{ $body->{phone_numbers} }), 'the number is no longer the business\'s';
($status, $body) = api(POST => '/api/phone-numbers/owned', {}, $token);
$job = poll_job($body->{job}{id});
my ($back) = grep { $_->{phone_number} eq $owned } @{ $job->{result}{numbers} };
is_deeply $back && $back->{webhooks}, $listed->{webhooks}, 'listed again from the fake account: free, with its old webhooks';

# Refusals, with stable codes.
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$business', '+1512563$suffix')");
my $bought = sql("SELECT id FROM nmc.phone_numbers WHERE phone = '+1512563$suffix'");
($status, $body) = api(POST => "/api/phone-numbers/$bought/detach", {}, $token);
is "$status $body->{error}{code}", '409 number_not_attached', 'a number bought here: 409 number_not_attached';
my $others = sql("SELECT id FROM nmc.phone_numbers WHERE phone = '+1512560$suffix'");
($status, $body) = api(POST => "/api/phone-numbers/$others/detach", {}, $token);
is "$status $body->{error}{code}", '404 not_found', 'another business\'s number: 404 not_found';

done_testing;
