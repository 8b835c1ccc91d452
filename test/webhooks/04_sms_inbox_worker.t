# 04_sms_inbox_worker.t — the inbox worker through the real edge: texts
# accepted by the webhook are threaded right after commit without anyone
# asking; a text whose processing fails is marked in the inbox while the
# texts around it go through; once a DBA clears the mark the worker's poll
# processes it without a new webhook.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use NmcTest qw(sql wait_until);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my ($business) = sql("SELECT nmc_test.business_with_number('+15125550190')");

like sql('SELECT pid FROM nmc.inbox_process()'), qr/^\d+$/, 'the inbox worker is running';

# A bug stand-in: threading a text with this body raises.
sql(q{CREATE FUNCTION public.nmc_test_explode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.body = 'explode' THEN RAISE EXCEPTION 'processing exploded'; END IF; RETURN NEW; END $$});
sql('CREATE TRIGGER nmc_test_explode BEFORE INSERT ON nmc.messages FOR EACH ROW EXECUTE FUNCTION public.nmc_test_explode()');
END {
    sql('DROP TRIGGER IF EXISTS nmc_test_explode ON nmc.messages');
    sql('DROP FUNCTION IF EXISTS public.nmc_test_explode()');
}

my %sid = map { $_ => random_sid('SM') } qw(first explode last);
for my $body (qw(first explode last)) {
    my $r = post_twilio($edge, $public, '/webhooks/twilio/sms',
        { MessageSid => $sid{$body}, From => '+15125550191', To => '+15125550190', Body => $body }, $token);
    is $r->{status}, 200, "the webhook accepts \"$body\"";
}
my $in = join ',', map { "'$_'" } values %sid;
ok wait_until(sub { sql("SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key IN ($in) AND failed_at IS NULL") == 0 }, 10),
    'the worker takes all three from the inbox';
is join(' ', sql("SELECT body FROM nmc.messages WHERE twilio_sid IN ($in) ORDER BY created_at")), 'first last',
    'the texts around the failing one are threaded';
is sql("SELECT error FROM nmc.webhook_inbox WHERE webhook_key = '$sid{explode}'"), 'P0001: processing exploded',
    'the failing one is kept in the inbox with its error';

sql('DROP TRIGGER nmc_test_explode ON nmc.messages');
sql("UPDATE nmc.webhook_inbox SET failed_at = NULL, error = NULL WHERE webhook_key = '$sid{explode}'");
ok wait_until(sub { sql("SELECT count(*) FROM nmc.messages WHERE twilio_sid = '$sid{explode}'") == 1 }, 5),
    "cleared by a DBA, it is threaded at the worker's next look";
is sql("SELECT count(*) FROM nmc.webhook_inbox WHERE webhook_key = '$sid{explode}'"), 0, 'and leaves the inbox';

done_testing;
