# 01_sms_over_http.t — a text queued in SQL reaches the fake Twilio over real
# HTTP exactly as Twilio documents the request (Basic auth, form body), and the
# answer lands on the message row; no secret is ever stored with the job.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(decode_base64);
use NmcTest qw(sql fake_requests fake_reset wait_until new_business use_fake_providers);

use_fake_providers();
fake_reset();
my ($business, $customer) = new_business('+15125550143');
my ($message) = sql("SELECT id FROM nmc.sms_send('$business', '$customer', '+15125550100', 'Sorry we missed you & hi: café?')");

my $status = wait_until(sub {
    my ($s) = sql("SELECT status FROM nmc.jobs WHERE payload ->> 'message_id' = '$message' AND status IN ('done', 'failed')");
    $s;
}, 10);
is $status, 'done', 'the twilio.sms.send job is done';

my $reqs = fake_requests(path => 'Messages.json');
is scalar(@$reqs), 1, 'the fake Twilio received exactly one request';
my $r = $reqs->[0];
is $r->{method}, 'POST', 'POST';
is $r->{path}, '/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json', 'to Messages.json of the account';
like $r->{headers}{'content-type'} // $r->{headers}{'Content-Type'}, qr{^application/x-www-form-urlencoded}, 'form-encoded';
my ($auth) = ($r->{headers}{authorization} // $r->{headers}{Authorization}) =~ /^Basic (\S+)$/;
is decode_base64($auth // ''), 'ACffffffffffffffffffffffffffffffff:fake_auth_token_0123456789abcdef', 'HTTP Basic with SID and token';
my %form = map { my ($k, $v) = split /=/, $_, 2; $v =~ tr/+/ /; $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; ($k => $v) } split /&/, $r->{body};
is $form{To}, '+15125550143', 'To is the customer';
is $form{From}, '+15125550100', 'From is the business number';
is $form{Body}, 'Sorry we missed you & hi: café?', 'Body is the text, UTF-8 intact';
like $form{StatusCallback}, qr{/webhooks/twilio/sms/status$}, 'StatusCallback is our webhook';

my ($sid, $mstatus) = split /\|/, sql("SELECT twilio_sid, status FROM nmc.messages WHERE id = '$message'");
like $sid, qr/^SM[0-9a-f]{32}$/, 'the message row has the SID Twilio returned';
is $mstatus, 'queued', "… and Twilio's status";
is sql("SELECT result ->> 'sid' FROM nmc.jobs WHERE payload ->> 'message_id' = '$message'"), $sid, "the job result is Twilio's answer";
is sql("SELECT count(*) FROM nmc.jobs WHERE (payload::text || coalesce(result::text, '') || coalesce(last_error, '')) ~ 'fake_auth_token|sk-fake|fake-maps-key'"),
    0, 'no provider secret in any job';
is sql("SELECT outcome || ' ' || http_status FROM nmc.job_attempts a JOIN nmc.jobs j ON j.id = a.job_id WHERE j.payload ->> 'message_id' = '$message'"),
    'done 201', 'the attempt is recorded';

done_testing;
