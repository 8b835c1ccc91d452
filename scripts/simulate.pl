#!/usr/bin/env perl
# simulate.pl — `make simulate`: plays Twilio against the running stack in
# sandbox mode, posting correctly signed webhooks to the edge: a missed call,
# a customer's reply, a STOP. See README.md ("Try the whole loop").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long;
use TwilioWebhook qw(post_twilio random_sid);

my $usage = <<'USAGE';
usage: scripts/simulate.pl missed-call [--from +15125550143] [--to BUSINESS_NUMBER] [--answered]
       scripts/simulate.pl sms --body "My sink is leaking" [--from ...] [--to ...]
       scripts/simulate.pl stop [--from ...] [--to ...]
--to defaults to the most recently added business number; --from to a fictional caller.
USAGE

my $command = shift @ARGV or die $usage;
my %opt = (from => '+15125550143');
GetOptions(\%opt, 'from=s', 'to=s', 'body=s', 'answered') or die $usage;

my $stack = "$FindBin::Bin/stack.sh";
sub sql {
    my ($q) = @_;
    open my $fh, '-|', $stack, 'psql', '-X', '-A', '-t', '-q', '-c', $q or die "cannot run psql: $!\n";
    my $out = do { local $/; <$fh> } // '';
    close $fh or die "the database did not answer (is `make run` up?)\n";
    chomp $out;
    return $out;
}

my $port = $ENV{NMC_HTTP_PORT} // 8080;
my $edge = "http://127.0.0.1:$port";
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $to = $opt{to} // sql("SELECT phone FROM nmc.phone_numbers ORDER BY created_at DESC LIMIT 1");
die "no business has a phone number yet: buy one first (POST /api/phone-numbers) or pass --to\n" unless $to;

sub post {
    my ($path, $params) = @_;
    my $res = post_twilio($edge, $public, $path, { AccountSid => 'AC' . ('0' x 32), ApiVersion => '2010-04-01', %$params }, $token);
    printf "POST %s → %s %s\n", $path, $res->{status}, $res->{content} // '';
    die "the edge refused the webhook\n" unless $res->{success};
    return $res->{content};
}

if ($command eq 'missed-call') {
    my $sid = random_sid('CA');
    my $twiml = post('/webhooks/twilio/voice', { CallSid => $sid, From => $opt{from}, To => $to, CallStatus => 'ringing', Direction => 'inbound' });
    if ($twiml =~ /<Dial/) {
        my $answered = $opt{answered};
        post('/webhooks/twilio/voice/dial', { CallSid => $sid, From => $opt{from}, To => $to, CallStatus => 'in-progress',
            DialCallStatus => $answered ? 'completed' : 'no-answer', DialCallDuration => $answered ? '42' : '0',
            DialBridged => $answered ? 'true' : 'false' });
    }
    post('/webhooks/twilio/voice/status', { CallSid => $sid, From => $opt{from}, To => $to, CallStatus => 'completed', CallDuration => '20' });
    print "call $sid from $opt{from} to $to: ", sql("SELECT decision || ' — ' || decision_reason FROM nmc.calls WHERE twilio_call_sid = '$sid'"), "\n";
} elsif ($command eq 'sms' || $command eq 'stop') {
    my $body = $command eq 'stop' ? 'STOP' : ($opt{body} // die $usage);
    my $sid = random_sid('SM');
    post('/webhooks/twilio/sms', { MessageSid => $sid, SmsSid => $sid, From => $opt{from}, To => $to, Body => $body, NumMedia => '0' });
    print "text $sid from $opt{from}: conversation ",
        sql("SELECT c.mode || coalesce(' until ' || to_char(c.human_window_deadline, 'HH24:MI:SS'), '') FROM nmc.messages m JOIN nmc.conversations c ON c.id = m.conversation_id WHERE m.twilio_sid = '$sid'"), "\n";
} else {
    die $usage;
}
