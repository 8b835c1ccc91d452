# 08_client_address.t — the client address the SQL side throttles by: the
# socket peer, whatever X-Forwarded-For a client sends; behind a proxy named in
# NMC_TRUSTED_PROXIES, the right-most address in that header that is not a
# trusted proxy (a malformed header: the peer).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../dispatcher/lib";
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use EdgeTest qw(unique_email base_url);
use NmcTest qw(sql);

# A failed log-in is recorded by client address (nmc.login_failures, scope source).
sub failed_login_from {
    my ($base, $xff) = @_;
    my $email = unique_email('xff');
    HTTP::Tiny->new(timeout => 10)->post("$base/api/auth/login", {
        headers => { 'Content-Type' => 'application/json', defined $xff ? ('X-Forwarded-For' => $xff) : () },
        content => encode_json({ email => $email, password => 'not the password' }) });
    return sql("SELECT string_agg(s.key, ',') FROM nmc.login_failures s JOIN nmc.login_failures e
                 ON e.scope = 'email' AND e.key = '$email' AND e.failed_at = s.failed_at WHERE s.scope = 'source'");
}

is failed_login_from(base_url(), '203.0.113.61'), '127.0.0.1', 'without trusted proxies, a client\'s X-Forwarded-For is ignored';

my $port = ($ENV{NMC_HTTP_PORT} // 18080) + 9;
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    $ENV{NMC_HTTP_PORT} = $port;
    $ENV{NMC_WS_PORT} = $port + 1;
    $ENV{NMC_EDGE_DB} = $ENV{NMC_TEST_EDGE_DB};
    $ENV{NMC_TRUSTED_PROXIES} = '10.0.0.1, 127.0.0.1';
    open STDOUT, '>', "$ENV{NMC_TEST_STATE}/log/edge-trusted-proxy.log" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec $ENV{NMC_TEST_EDGE_BIN};
    die "exec: $!";
}
my $test_pid = $$;
END { if ($$ == $test_pid && $pid) { local $?; kill TERM => $pid; waitpid $pid, 0 } }    # $? kept: it is the exit status
my $proxied = "http://127.0.0.1:$port";
my $up = 0;
for (1 .. 200) { if ((HTTP::Tiny->new->get("$proxied/healthz")->{status} // 0) == 200) { $up = 1; last } select undef, undef, undef, 0.05 }
ok $up, 'an edge behind a trusted proxy (127.0.0.1) answers';
is failed_login_from($proxied, '203.0.113.62'), '203.0.113.62', 'the address the trusted proxy reports';
is failed_login_from($proxied, '198.51.100.9, 203.0.113.63'), '203.0.113.63', 'the right-most one: what the proxy itself saw, not what the client claimed';
is failed_login_from($proxied, '203.0.113.64, 10.0.0.1'), '203.0.113.64', 'past further trusted proxies';
is failed_login_from($proxied, 'not an address'), '127.0.0.1', 'a malformed header: the peer';
is failed_login_from($proxied, undef), '127.0.0.1', 'no header: the peer';

my $out = qx{NMC_HTTP_PORT=$port NMC_WS_PORT=@{[$port + 1]} NMC_TRUSTED_PROXIES='127.0.0.1, my-proxy' $ENV{NMC_TEST_EDGE_BIN} 2>&1};
isnt $? >> 8, 0, 'NMC_TRUSTED_PROXIES with a name that is not an address: the edge refuses to start';
like $out, qr/NMC_TRUSTED_PROXIES must be IP addresses/, '… and says why';

done_testing;
