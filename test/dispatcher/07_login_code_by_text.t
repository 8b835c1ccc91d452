# 07_login_code_by_text.t — an owner whose email is being guessed, on a new
# device, asks for a sign-in code: it reaches the fake Twilio as a text to the
# business's forward-to phone from its number, and with the right password it
# lets her in at once (and the browser becomes a known device). The text with
# the code is forgotten once sent: no job or code row keeps it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../edge/lib";
use Test::More;
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers);
use EdgeTest qw(api register unique_email);

use_fake_providers();
fake_reset();
my $email = unique_email('code');
my $reg = register($email);
my $business = $reg->{business}{id};
my $block = 200 + int rand 800;    # numbers drawn per run: the file can run again on the same database
my ($owner_phone, $number) = ("+1737${block}7171", "+1737${block}7170");
sql("UPDATE nmc.businesses SET forward_to_phone = '$owner_phone' WHERE id = '$business'");
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$business', '$number')");

# Someone guesses; five failures, then the right password must wait.
api(POST => '/api/auth/login', { email => $email, password => "guess $_" }) for 1 .. 5;
my ($status, $body) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery' });
is $status, 429, 'the account is throttled after five wrong passwords';

($status, $body) = api(POST => '/api/auth/unlock', { email => $email });
is $status, 202, 'asking for a sign-in code: 202';
my $texts = wait_until(sub { my $r = fake_requests(path => 'Messages.json'); @$r ? $r : undef }, 10);
ok $texts, 'a text reached the fake Twilio';
my %form = map { my ($k, $v) = split /=/, $_, 2; $v =~ tr/+/ /; $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; ($k => $v) }
           split /&/, ($texts->[0]{body} // '');
is $form{To}, $owner_phone, "to the business's forward-to phone";
is $form{From}, $number, 'from its number';
my ($code) = ($form{Body} // '') =~ /code: (\d{6})/;
ok $code, 'with a 6-digit code';
ok !exists $form{StatusCallback}, 'no status callback (there is no message row to update)';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE kind = 'twilio.sms.login_code' AND business_id = '$business' AND status = 'done'") }, 10),
   'the job is done';
is sql("SELECT count(*) FROM nmc.login_codes WHERE business_id = '$business' AND text_to_send IS NOT NULL"), 0,
   'the text with the code is forgotten once sent';
is sql("SELECT count(*) FROM nmc.jobs WHERE business_id = '$business' AND (payload::text || coalesce(result::text, '')) LIKE '%$code%'"), 0,
   'no job keeps the code';

($status, $body) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery', login_code => $code });
is $status, 200, 'the code and the right password let her in';
like $body->{device} // '', qr/^nmcd_/, '… and the browser gets a device token';
my $device = $body->{device};

api(POST => '/api/auth/login', { email => $email, password => "guess again $_" }) for 1 .. 5;
($status) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery' });
is $status, 429, 'the guessing goes on: an unknown device waits again';
($status) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery', device => $device });
is $status, 200, 'her known device is let in all the same';

# The guesser's failures here came from 127.0.0.1, like every test's logins:
# leave that address's allowance to the tests after this one.
sql("DELETE FROM nmc.login_failures WHERE scope = 'source' AND key = '127.0.0.1'");
done_testing;
