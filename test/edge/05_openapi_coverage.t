# 05_openapi_coverage.t — docs/openapi.yaml and the routes agree: every route
# the API answers (nmc.api_routes, plus the edge's own /healthz and /metrics) has an entry,
# every entry is a real route, and GET /api/openapi.yaml serves that file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use EdgeTest qw(http base_url);
use NmcTest qw(sql);

my $file = "$FindBin::Bin/../../docs/openapi.yaml";
open my $fh, '<', $file or die "$file: $!";
my $text = do { local $/; <$fh> };
close $fh;

# paths:  /x:  then methods indented four spaces.
my (%documented, $path);
my $in_paths = 0;
for my $line (split /\n/, $text) {
    if ($line =~ /^paths:\s*$/) { $in_paths = 1; next }
    next unless $in_paths;
    last if $line =~ /^\S/;
    if ($line =~ m{^  (/\S*):\s*$}) { $path = $1; next }
    if (defined $path && $line =~ /^    (get|post|put|patch|delete):\s*$/) { $documented{uc($1) . " $path"} = 1 }
}
ok scalar(keys %documented) > 20, 'the document lists the routes (' . scalar(keys %documented) . ')';

my %routes = map { $_ => 1 } sql("SELECT route_method || ' ' || route_path FROM nmc.api_routes");
$routes{'GET /healthz'} = 1;
$routes{'GET /metrics'} = 1;

my @undocumented = sort grep { !$documented{$_} } keys %routes;
my @phantom = sort grep { !$routes{$_} } keys %documented;
is_deeply \@undocumented, [], 'every route has an OpenAPI entry';
is_deeply \@phantom, [], 'every OpenAPI entry is a route';

my $res = http()->get(base_url() . '/api/openapi.yaml');
is $res->{status}, 200, 'GET /api/openapi.yaml';
like $res->{headers}{'content-type'}, qr{^application/yaml}, '… as YAML';
is $res->{content}, $text, '… is docs/openapi.yaml';

done_testing;
