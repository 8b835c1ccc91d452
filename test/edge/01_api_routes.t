# 01_api_routes.t — every foundation route through the running edge, with the
# JSON error shape and status for each failure the issue lists.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use EdgeTest qw(api register unique_email http base_url post_big_body);

my ($status, $body, $res);

($status, $body, $res) = api(GET => '/healthz');
is $status, 200, 'GET /healthz answers 200 while the database is up';
is $body->{status}, 'ok', '/healthz says ok';

my $email = unique_email('owner');
($status, $body, $res) = api(POST => '/api/auth/register', {
    email => uc($email), password => 'correct horse battery', name => 'Joe Pipes',
    business_name => "Joe's Plumbing", trade_type => 'plumbing', timezone => 'America/Denver' });
is $status, 201, 'register answers 201';
like $res->{headers}{'content-type'}, qr{^application/json}, 'API answers are application/json';
is $res->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff on API answers';
ok $body->{token}, 'register returns a token';
is $body->{user}{email}, $email, 'register returns the user, email lower-cased';
is $body->{business}{name}, "Joe's Plumbing", 'register returns the business';

($status, $body) = api(POST => '/api/auth/register', {
    email => $email, password => 'another password', name => 'X', business_name => 'Y', trade_type => 'hvac' });
is $status, 409, 'registering the same email again: 409';
is $body->{error}{code}, 'email_taken', '… code email_taken';

($status, $body) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery' });
is $status, 200, 'login answers 200';
my $token = $body->{token};
like $token, qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'login returns a JWT';
is $body->{user}{name}, 'Joe Pipes', 'login returns the user';

($status, $body) = api(GET => '/api/me', undef, $token);
is $status, 200, 'GET /api/me with the token';
is $body->{user}{email}, $email, '… is the logged-in user';

($status, $body) = api(PATCH => '/api/me', { name => 'Joe P.', preferences => { sound => JSON::PP::false } }, $token);
is $status, 200, 'PATCH /api/me';
is $body->{user}{name}, 'Joe P.', '… changes the name';

($status, $body) = api(GET => '/api/business', undef, $token);
is $status, 200, 'GET /api/business';
is $body->{business}{timezone}, 'America/Denver', '… has the time zone given at sign-up';

($status, $body) = api(PATCH => '/api/business', { forward_to_phone => '303-555-0199', city => 'Denver' }, $token);
is $status, 200, 'PATCH /api/business';
is $body->{business}{forward_to_phone}, '+13035550199', '… normalises the forward-to phone to E.164';

($status, $body) = api(PATCH => '/api/business', { forward_to_phone => '555-0199' }, $token);
is $status, 400, 'an invalid field: 400';
is_deeply [ @{ $body->{error} }{qw(code field)} ], [ 'invalid_phone', 'forward_to_phone' ], '… naming the code and the field';
ok length($body->{error}{message}) > 10, '… with a message a person can act on';

($status, $body) = api(GET => '/api/me');
is $status, 401, 'no token: 401';
is $body->{error}{code}, 'missing_token', '… missing_token';

($status, $body) = api(GET => '/api/me', undef, $token . 'x');
is $status, 401, 'a tampered token: 401';
is $body->{error}{code}, 'jwt_bad_signature', '… jwt_bad_signature';

($status, $body) = api(POST => '/api/auth/login', '{"email": "x@example.com", "password": ');
is $status, 400, 'malformed JSON: 400';
is $body->{error}{code}, 'malformed_json', '… malformed_json';

($status, $body) = api(GET => '/api/no/such/route', undef, $token);
is $status, 404, 'unknown API route: 404';
is $body->{error}{code}, 'not_found', '… not_found as JSON';

($status, $body, $res) = api(DELETE => '/api/business', undef, $token);
is $status, 405, 'wrong method: 405';
is $body->{error}{code}, 'method_not_allowed', '… method_not_allowed';
is $res->{headers}{allow}, 'GET, PATCH', '… with an Allow header';

($status, $body) = post_big_body('/api/auth/login', 1024 * 1024 + 1);
is $status, 413, 'a body over 1 MiB (Content-Length): 413';
is $body->{error}{code}, 'payload_too_large', '… payload_too_large';
($status, $body) = post_big_body('/api/auth/login', 2 * 1024 * 1024, chunked => 1);
is $status, 413, 'a chunked body growing over 1 MiB: 413';
($status, $body) = post_big_body('/api/auth/login', 1024 * 1024);
is $status, 400, 'a body of exactly 1 MiB is read and answered by the API (here: 400, no such field)';

# Rate limiting: 5 failures per email, then 429 even for the right password.
for my $i (1 .. 5) {
    ($status) = api(POST => '/api/auth/login', { email => $email, password => "guess $i" });
}
is $status, 401, 'wrong passwords: 401';
($status, $body, $res) = api(POST => '/api/auth/login', { email => $email, password => 'correct horse battery' });
is $status, 429, 'after 5 failures: 429';
is $body->{error}{code}, 'rate_limited', '… rate_limited';
like $res->{headers}{'retry-after'}, qr/^\d+$/, '… with Retry-After';

# Static dashboard files.
$res = http()->get(base_url() . '/');
is $res->{status}, 200, 'GET / serves the dashboard';
like $res->{headers}{'content-type'}, qr{^text/html}, '… as HTML';
$res = http()->get(base_url() . '/conversations/123');
is $res->{status}, 200, 'a client-side route falls back to index.html';
like $res->{content}, qr/NeverMissCall/, '… with the dashboard page';
$res = http()->get(base_url() . '/missing-asset.js');
is $res->{status}, 404, 'a missing asset: 404';
$res = http()->request(POST => base_url() . '/index.html');
is $res->{status}, 405, 'POST to a static file: 405';

# The access log has one line per request and never a token or body.
my $log = $ENV{NMC_TEST_EDGE_LOG} // "$ENV{NMC_TEST_STATE}/log/edge.log";
open my $fh, '<', $log or die "cannot read $log: $!";
my @lines = <$fh>;
close $fh;
# One JSON object a line (docs/operations.md "Logs").
my @access = grep { ($_->{type} // '') eq 'access' } map { my $l = $_; eval { JSON::PP::decode_json($l) } // {} } @lines;
ok((grep { $_->{method} eq 'GET' && $_->{path} eq '/api/me' && $_->{status} == 200 && $_->{duration_ms} =~ /^[\d.]+$/
           && $_->{bytes} > 0 && $_->{client} eq '127.0.0.1' && $_->{time} =~ /^\d{4}-\d\d-\d\dT[\d:.]+Z$/ } @access),
   'the access log records time, method, path, status, duration, bytes and client as JSON');
ok(!(grep { index($_, $token) >= 0 || /correct horse/ } @lines), 'the access log holds no token and no body');

done_testing;
