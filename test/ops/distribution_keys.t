# distribution_keys.t — every key of a tenant table (schema nmc, a business_id
# column) carries business_id, so the table can be distributed by business, but
# for the exceptions scripts/distribution_keys.sql justifies. docs/scaling.md's
# list of keys still to do is empty and may not grow: a new key without
# business_id fails here unless it is justified as an exception.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use NmcTest qw(sql);

# No key is left to do (version 0.8.0): the list is empty and stays so.
use constant MAX_TO_DO => 0;

my $root = "$FindBin::Bin/../..";
my $query = do { local $/; open my $fh, '<', "$root/scripts/distribution_keys.sql" or die; <$fh> };
$query =~ s/^--.*\n//mg;
$query =~ s/;\s*\z//;
my @found = map { my @f = split /\|/; "$f[0].$f[1]" } sql($query);

open my $doc, '<', "$root/docs/scaling.md" or die;
my ($in, @listed) = (0);
while (<$doc>) {
    $in = 1, next if /<!-- distribution-keys:begin -->/;
    last if /<!-- distribution-keys:end -->/;
    push @listed, "$1.$2" if $in && /^\| ([a-z_]+) \| ([a-z0-9_]+) \|/;
}
is_deeply [sort @found], [sort @listed], 'every tenant key without business_id is an exception or on docs/scaling.md\'s list ('
    . scalar(@found) . ' to do)' or diag "found: @found\nlisted: @listed";
cmp_ok scalar(@listed), '<=', MAX_TO_DO, 'the keys still to do do not grow (at most ' . MAX_TO_DO . ')';

# Each exception names a key that exists and lacks business_id (a stale one would hide nothing).
my ($exceptions) = $query =~ /exceptions \(table_name, key_name, why\) AS \(VALUES(.*?)\n\),/s or die 'no exceptions list';
my @exceptions = $exceptions =~ /\('([a-z_]+)', '([a-z0-9_]+)',/g;
ok @exceptions >= 2, 'the exceptions are read from the query (' . @exceptions / 2 . ')';
while (my ($t, $k) = splice @exceptions, 0, 2) {
    is sql("SELECT count(*) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = 'nmc.$t'::regclass AND i.indisunique AND ic.relname = '$k'
               AND NOT ((SELECT attnum FROM pg_attribute WHERE attrelid = 'nmc.$t'::regclass AND attname = 'business_id') = ANY (i.indkey::int2[]))"),
       1, "exception $t.$k is a unique key without business_id";
}

# The query sees what it claims to: a new tenant table keyed by id alone is found.
my @probe = sql("BEGIN; CREATE TABLE nmc.distribution_probe (id uuid PRIMARY KEY, business_id uuid NOT NULL, ref text UNIQUE,
                 UNIQUE (business_id, ref)); $query; ROLLBACK;");
is_deeply [sort map { (split /\|/)[1] } grep { /^distribution_probe\|/ } @probe],
          ['distribution_probe_pkey', 'distribution_probe_ref_key'],
          'a tenant table keyed by id alone, with a global unique column, is found (its (business_id, ref) key is not)';
ok !scalar(grep { /^(event_counters|business_hours|appointments)\./ } @found), 'tables keyed by business are not';

done_testing;
