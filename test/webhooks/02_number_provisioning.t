# 02_number_provisioning.t — an owner searches and buys a number through the
# API; both run as dispatcher jobs against the fake Twilio, the purchase
# points the number's webhooks at our public URL, and failures are reported.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../edge/lib";
use Test::More;
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers);
use EdgeTest qw(api register unique_email);

use_fake_providers();
fake_reset();
my $token = register(unique_email('numbers'))->{token};

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

my ($status, $body) = api(POST => '/api/phone-numbers/search', { area_code => '217' }, $token);
is $status, 202, 'search: 202 with a job';
my $job = poll_job($body->{job}{id});
is $job->{status}, 'done', 'the search job completes';
ok scalar @{ $job->{result}{numbers} } > 0, 'it lists numbers';
like $job->{result}{numbers}[0]{phone_number}, qr/^\+1217/, '… in the area code';
my ($search) = @{ fake_requests(path => 'AvailablePhoneNumbers') };
like $search->{query}, qr/AreaCode=217/, 'the fake Twilio was asked for that area code';

my $number = $job->{result}{numbers}[0]{phone_number};
($status, $body) = api(POST => '/api/phone-numbers', { phone_number => $number }, $token);
is $status, 202, 'buy: 202 with a job';
$job = poll_job($body->{job}{id});
is $job->{status}, 'done', 'the purchase completes';
($status, $body) = api(GET => '/api/phone-numbers', undef, $token);
is $body->{phone_numbers}[0]{phone}, $number, 'the number now belongs to the business';
my ($buy) = @{ fake_requests(path => 'IncomingPhoneNumbers.json') };
like $buy->{body}, qr{VoiceUrl=http%3A%2F%2Flocalhost%3A\d+%2Fwebhooks%2Ftwilio%2Fvoice(&|$)}, 'its VoiceUrl is our voice webhook';
like $buy->{body}, qr{SmsUrl=http%3A%2F%2Flocalhost%3A\d+%2Fwebhooks%2Ftwilio%2Fsms(&|$)}, 'its SmsUrl is our SMS webhook';

($status, $body) = api(POST => '/api/phone-numbers', { phone_number => $number }, $token);
is $status, 409, 'buying a number that is already ours: 409';

($status, $body) = api(POST => '/api/phone-numbers', { phone_number => '+15005550000' }, $token);
$job = poll_job($body->{job}{id});
is $job->{status}, 'failed', 'a number that is not available: the job fails';
is $job->{error_code}, '21422', "… with Twilio's code";

($status, $body) = api(POST => '/api/phone-numbers/search', { area_code => '12' }, $token);
is $status, 400, 'a malformed area code: 400';

done_testing;
