# distribution_keys.t — the distribution work docs/scaling.md lists is the
# work still to do: scripts/distribution_keys.sql (tenant tables whose primary
# key or unique indexes lack business_id, which Citus would refuse to
# distribute by business) finds exactly the keys the list names. A key fixed
# or a new one added without the list following fails here.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use NmcTest qw(sql);

my $root = "$FindBin::Bin/../..";
my $query = do { local $/; open my $fh, '<', "$root/scripts/distribution_keys.sql" or die; <$fh> };
$query =~ s/^--.*\n//mg;
my @found = map { my @f = split /\|/; "$f[0].$f[1]" } sql($query);

open my $doc, '<', "$root/docs/scaling.md" or die;
my ($in, @listed) = (0);
while (<$doc>) {
    $in = 1, next if /<!-- distribution-keys:begin -->/;
    last if /<!-- distribution-keys:end -->/;
    push @listed, "$1.$2" if $in && /^\| ([a-z_]+) \| ([a-z0-9_]+) \|/;
}
is_deeply [sort @found], [sort @listed], 'docs/scaling.md lists exactly the keys still lacking business_id ('
    . scalar(@found) . ')' or diag "found: @found\nlisted: @listed";

# The query sees what it claims to: every tenant table's unique keys.
my @tables = sql(q{SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'business_id'
                    WHERE c.relnamespace = 'nmc'::regnamespace AND c.relkind = 'r' AND NOT a.attisdropped});
ok scalar(grep { $_ eq 'calls' } @tables), 'calls is a tenant table';
ok scalar(grep { $_ eq 'calls.calls_twilio_call_sid_key' } @found), '… and its CallSid key, without business_id, is found';
ok !scalar(grep { /^event_counters\./ } @found), 'a table keyed by business_id (event_counters) is not';

done_testing;
