# 03_database_restart.t — with Postgres down the edge answers 503 (JSON) and
# stays up; when Postgres is back, the same edge serves again by itself.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use EdgeTest qw(api unique_email register);

my $email = unique_email('restart');
my $token = register($email)->{token};

my ($status, $body) = api(GET => '/api/me', undef, $token);
is $status, 200, 'the API answers before the restart';

system($ENV{NMC_TEST_STACK}, 'pg-stop') == 0 or BAIL_OUT('could not stop Postgres');

($status, $body) = api(GET => '/healthz');
is $status, 503, '/healthz: 503 while the database is down';
($status, $body) = api(GET => '/api/me', undef, $token);
is $status, 503, 'API: 503 while the database is down';
is $body->{error}{code}, 'database_unavailable', '… database_unavailable';

system($ENV{NMC_TEST_STACK}, 'pg-start') == 0 or BAIL_OUT('could not start Postgres');

my $back = 0;
for (1 .. 100) {
    ($status) = api(GET => '/healthz');
    if ($status == 200) { $back = 1; last }
    sleep 0.1;
}
ok $back, '/healthz is 200 again without restarting the edge';
($status, $body) = api(GET => '/api/me', undef, $token);
is $status, 200, 'the API serves again with the same token';
is $body->{user}{email}, $email, '… the right user';

done_testing;
