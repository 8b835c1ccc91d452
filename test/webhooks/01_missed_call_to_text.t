# 01_missed_call_to_text.t — the whole loop through the real edge: signed
# Twilio webhooks in, the greeting out to the fake Twilio over HTTP; retries
# and concurrent deliveries of the same webhook send one text; unsigned or
# mis-signed webhooks are refused; the signature vectors made with Twilio's
# Node library (../shared/reference/twilio-signature-vectors.jsonl) pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use JSON::PP;
use NmcTest qw(sql fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
use_fake_providers();
fake_reset();
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
is $token, 'fake_auth_token_0123456789abcdef', 'with Twilio configured, webhooks are signed with its auth token';

# The vectors Twilio's own library produced for our webhook paths.
my $vectors = "$FindBin::Bin/../../../shared/reference/twilio-signature-vectors.jsonl";
SKIP: {
    skip "no $vectors", 1 unless -r $vectors;
    open my $fh, '<', $vectors or die;
    my ($n, $ok) = (0, 0);
    while (my $line = <$fh>) {
        next unless $line =~ /\S/;
        my $v = decode_json($line);
        my @pairs = map { ($_, $v->{params}{$_}) } sort keys %{ $v->{params} };
        my $array = 'ARRAY[' . join(',', map { my $s = $_; $s =~ s/'/''/g; "'$s'" } @pairs) . ']::text[]';
        (my $url = $v->{url}) =~ s/'/''/g;
        (my $tok = $v->{auth_token}) =~ s/'/''/g;
        $n++;
        $ok++ if sql("SELECT nmc.twilio_signature_valid('$url', $array, '$tok', '$v->{signature}')") eq 't';
    }
    is "$ok/$n", "$n/$n", 'every vector from the reference validates';
}

my ($business) = sql("SELECT nmc_test.business_with_number('+15125550170')");
my $caller = '+15125550171';
my $sid = random_sid('CA');
my %call = (CallSid => $sid, AccountSid => 'ACffffffffffffffffffffffffffffffff', From => $caller, To => '+15125550170');

my $res = post_twilio($edge, $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $token);
is $res->{status}, 200, 'the voice webhook is answered';
like $res->{headers}{'content-type'}, qr{^text/xml}, '… with TwiML';
like $res->{content}, qr{<Dial timeout="20" action="http://localhost:\d+/webhooks/twilio/voice/dial"}, '… forwarding the call';

# Five concurrent deliveries of the same dial result.
my @pids;
for (1 .. 5) {
    my $pid = fork // die;
    if ($pid == 0) {
        my $r = post_twilio($edge, $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer', DialBridged => 'false' }, $token);
        exit($r->{status} == 200 && $r->{content} =~ /<Say>/ ? 0 : 1);
    }
    push @pids, $pid;
}
my $all_ok = 1;
for (@pids) { waitpid $_, 0; $all_ok &&= $? == 0 }
ok $all_ok, 'five concurrent deliveries of the dial webhook all get the missed-call TwiML';

ok wait_until(sub { scalar @{ fake_requests(path => 'Messages.json') } }, 10), 'the fake Twilio receives the text';
# Every delivery applied and every job finished: no further text can still come.
ok wait_until(sub { sql("SELECT (SELECT count(*) FROM nmc.webhook_inbox WHERE failed_at IS NULL)
                              + (SELECT count(*) FROM nmc.jobs WHERE status IN ('queued', 'in_flight'))") == 0 }, 10),
   'the inbox and the outbox are empty';
my @texts = grep { $_->{body} =~ /To=%2B15125550171/ } @{ fake_requests(path => 'Messages.json') };
is scalar(@texts), 1, 'exactly one text for one missed call';
like $texts[0]{body}, qr/Body=Sorry(%20|\+)we(%20|\+)missed(%20|\+)your(%20|\+)call/, 'the greeting is the text';
is sql("SELECT decision FROM nmc.calls WHERE twilio_call_sid = '$sid'"), 'texted', 'the call says texted';
like sql("SELECT twilio_sid FROM nmc.messages m JOIN nmc.calls c ON c.message_id = m.id WHERE c.twilio_call_sid = '$sid'"),
    qr/^SM[0-9a-f]{32}$/, 'the message has the SID the fake Twilio gave';

$res = post_twilio($edge, $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token, '');
is $res->{status}, 403, 'no signature: 403';
$res = post_twilio($edge, $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token, 'bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==');
is $res->{status}, 403, 'a wrong signature: 403';
$res = post_twilio($edge, 'http://elsewhere.example.com', '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token);
is $res->{status}, 403, 'signed for another host: 403';

# STOP, then another missed call: no text.
my $stop = random_sid('SM');
$res = post_twilio($edge, $public, '/webhooks/twilio/sms', { MessageSid => $stop, From => $caller, To => '+15125550170', Body => 'STOP' }, $token);
is $res->{status}, 200, 'STOP is accepted';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid = '$stop'") == 1 }, 10),
    'the inbox worker threads the STOP into the conversation';
is sql("SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = '$stop'"), 0, 'and removes it from the inbox';
$res = post_twilio($edge, $public, '/webhooks/twilio/sms', { MessageSid => $stop, From => $caller, To => '+15125550170', Body => 'STOP' }, $token);
is $res->{status}, 200, 'Twilio retrying the STOP after it was threaded gets 200';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = '$stop'") == 0 }, 10), 'the retry leaves the inbox';
is sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid = '$stop'"), 1, 'and is not threaded twice';
my $sid2 = random_sid('CA');
post_twilio($edge, $public, '/webhooks/twilio/voice', { %call, CallSid => $sid2 }, $token);
post_twilio($edge, $public, '/webhooks/twilio/voice/dial', { %call, CallSid => $sid2, DialCallStatus => 'busy' }, $token);
ok wait_until(sub { sql("SELECT decision FROM nmc.calls WHERE twilio_call_sid = '$sid2'") eq 'suppressed_opted_out' }, 10), 'after STOP a missed call is not texted';

done_testing;
