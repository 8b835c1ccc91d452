#!/usr/bin/env perl
# bench/conversations.pl — the conversation corpus (test/conversations/*.txt)
# played end to end against a running stack, through SIGNED Twilio webhooks to
# the edge, with the built-in assistant (no OpenAI key): a fresh business per
# conversation (Mon-Sat 8-18, Sun 10-16, a ZIP service area, human window 0), a missed
# call, then the customer's texts, each answer waited for in nmc.messages.
# Prints every failure with its thread, then: booked where expected, fields
# right, repeated questions, language right, hand-offs, and the share of
# conversations with every check right. Exits 1 below --target (default 95 %)
# or with any repeated question.
#
#   NMC_PG_PORT=… NMC_HTTP_PORT=… NMC_TEST_STATE=<stack state dir> NMC_TEST_FAKE_URL=http://127.0.0.1:<fake> \
#       bench/conversations.pl [--jobs 6] [--sample N] [--only ID-REGEX] [--verbose] [--target 95]
# (the environment scripts/test.sh exports; see docs/conversations.md).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../scripts/lib", "$FindBin::Bin/../test/dispatcher/lib";
use Getopt::Long;
use NmcTest qw(sql);
use ConversationCorpus qw(load_corpus play_all summarize);

binmode STDOUT, ':encoding(UTF-8)';
my %opt = (jobs => 6, target => 95);
GetOptions(\%opt, 'jobs=i', 'sample=i', 'only=s', 'verbose', 'target=f') or die "bad options\n";
$ENV{NMC_DB} //= 'nmc_test';

my $convs = load_corpus("$FindBin::Bin/../test/conversations");
$convs = [ grep { $_->{id} =~ /$opt{only}/ } @$convs ] if $opt{only};
if ($opt{sample} && $opt{sample} < @$convs) {
    # An even spread over the corpus, the same every run.
    my $step = @$convs / $opt{sample};
    $convs = [ map { $convs->[int($_ * $step)] } 0 .. $opt{sample} - 1 ];
}

# Twilio is the fake (texts really go out over HTTP); no OpenAI key: the built-in assistant answers.
my $fake = $ENV{NMC_TEST_FAKE_URL} or die "NMC_TEST_FAKE_URL is not set\n";
my ($saved) = sql(q{SELECT jsonb_object_agg(name, value) FROM nmc.settings
                      WHERE name IN ('openai_api_key', 'twilio_account_sid', 'twilio_auth_token', 'twilio_api_base')});
sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$fake","openai_api_key":""}')});
my %ctx = (sql => \&sql, edge => "http://127.0.0.1:$ENV{NMC_HTTP_PORT}", public => scalar sql("SELECT nmc.setting('public_url')"),
           token => scalar sql("SELECT nmc.webhook_signing_token()"));
my $t0 = time;
my $played = play_all(\%ctx, $convs, $opt{jobs});
my ($text, $share, $repeated) = summarize($played, $opt{verbose});
sql("SELECT nmc.configure('$saved')") if $saved;    # the providers as they were
print $text;
printf "played in %d s, %d at a time\n", time - $t0, $opt{jobs};
exit($share * 100 >= $opt{target} && $repeated == 0 ? 0 : 1);
