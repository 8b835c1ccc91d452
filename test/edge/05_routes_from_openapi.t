# 05_routes_from_openapi.t — the route table is made from docs/openapi.json: the
# routes the API answers (nmc.api_routes) are exactly the document's operations
# (method, path, handler = operationId, auth from security, summary), read here
# with Perl's own JSON parser; the operations the edge answers itself (x-nmc-edge)
# answer; and GET /api/openapi.yaml serves that file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use EdgeTest qw(http base_url);
use NmcTest qw(sql json);

my $file = "$FindBin::Bin/../../docs/openapi.json";
open my $fh, '<:raw', $file or die "$file: $!";
my $text = do { local $/; <$fh> };
close $fh;
my $doc = json()->decode($text);

my %auth_of = ('[]' => 'public', '[{"bearer":[]}]' => 'jwt', '[{"twilioSignature":[]}]' => 'twilio');
my (@operations, @edge_own);
for my $path (sort keys %{ $doc->{paths} }) {
    for my $method (sort keys %{ $doc->{paths}{$path} }) {
        my $op = $doc->{paths}{$path}{$method};
        if ($op->{'x-nmc-edge'}) { push @edge_own, uc($method) . " $path"; next }
        push @operations, join ' ', uc($method), $path, $op->{operationId} // '-',
                                    (defined $op->{security} ? $auth_of{ json()->encode($op->{security}) } : undef) // '-',
                                    $op->{summary} // '-';
    }
}
ok @operations > 20, 'the document lists the operations answered in SQL (' . scalar(@operations) . ')';

my @routes = sort { $a cmp $b } sql("SELECT route_method || ' ' || route_path || ' ' || handler || ' ' || auth || ' ' || summary FROM nmc.api_routes");
is_deeply \@routes, [sort { $a cmp $b } @operations], "nmc.api_routes is the document's operations, one route each";
is sql("SELECT count(*) FROM nmc.api_routes WHERE to_regprocedure(format('nmc.%s(jsonb)', handler)) IS NULL"), 0,
   'every handler is a function nmc.<operationId>(jsonb)';

is_deeply \@edge_own, ['GET /healthz', 'GET /metrics'], 'the edge answers two operations itself';
is http()->get(base_url() . '/healthz')->{status}, 200, 'GET /healthz';

my $res = http()->get(base_url() . '/api/openapi.yaml');
is $res->{status}, 200, 'GET /api/openapi.yaml';
like $res->{headers}{'content-type'}, qr{^application/yaml}, '… as YAML (JSON is YAML)';
is $res->{content}, $text, '… is docs/openapi.json';

done_testing;
