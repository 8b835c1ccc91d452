# 10_conversation_corpus.t — the built-in assistant (no OpenAI key) against a
# sample of the conversation corpus (test/conversations/, every eighth one),
# end to end: signed Twilio webhooks through the edge, a fresh business per
# conversation, each answer waited for in nmc.messages. Fails below 95 % of
# conversations with every check right, or on any repeated question. The
# whole corpus: bench/conversations.pl (docs/conversations.md).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib", "$FindBin::Bin/../../bench/lib";
use Test::More;
use NmcTest qw(sql);
use ConversationCorpus qw(load_corpus play_all summarize);

my $all = load_corpus("$FindBin::Bin/../conversations");
cmp_ok scalar(@$all), '>=', 150, 'the corpus holds at least 150 conversations';
my @sample = @$all[ grep { $_ % 8 == 0 } 0 .. $#$all ];

# Twilio is the fake; no OpenAI key, so the built-in assistant answers. What
# earlier tests configured is put back afterwards.
my @saved = sql(q{SELECT jsonb_object_agg(name, value) FROM nmc.settings
                   WHERE name IN ('openai_api_key', 'twilio_account_sid', 'twilio_auth_token', 'twilio_api_base')});
my $base = $ENV{NMC_TEST_FAKE_URL} or die "NMC_TEST_FAKE_URL is not set\n";
sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff","twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$base","openai_api_key":""}')});
my %ctx = (sql => \&sql, edge => $ENV{NMC_TEST_BASE_URL}, public => scalar sql("SELECT nmc.setting('public_url')"),
           token => scalar sql("SELECT nmc.webhook_signing_token()"));
my $played = play_all(\%ctx, \@sample, 4);
my ($text, $share, $repeated) = summarize($played, 0);
sql("SELECT nmc.configure('$saved[0]')") if $saved[0];

is scalar(@$played), scalar(@sample), 'every conversation of the sample was played';
cmp_ok $share * 100, '>=', 95, 'at least 95 % of the sample with every check right' or diag $text;
is $repeated, 0, 'the assistant never asks again for what the customer already wrote' or diag $text;
note $text;
done_testing;
