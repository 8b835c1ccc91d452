# EdgeTest.pm — shared helpers for the edge's HTTP tests: JSON requests
# against the running edge (NMC_TEST_BASE_URL) and unique test identities.
package EdgeTest;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;

our @EXPORT_OK = qw(base_url http api register unique_email json post_big_body);

my $json = JSON::PP->new->canonical;
sub json { $json }

sub base_url { $ENV{NMC_TEST_BASE_URL} or die "NMC_TEST_BASE_URL is not set (run through make test)\n" }

sub http { HTTP::Tiny->new(timeout => 30, keep_alive => 0) }

# api(METHOD, PATH, BODY (ref → JSON, scalar → raw, undef → none), TOKEN, BASE)
# returns (status, decoded body or undef, response hash).
sub api {
    my ($method, $path, $body, $token, $base) = @_;
    my %headers;
    $headers{authorization} = "Bearer $token" if defined $token;
    my %opt = (headers => \%headers);
    if (defined $body) {
        $opt{content} = ref $body ? $json->encode($body) : $body;
        $headers{'content-type'} = 'application/json';
    }
    my $res = http()->request($method, ($base // base_url()) . $path, \%opt);
    my $decoded = eval { $json->decode($res->{content}) };
    return ($res->{status}, $decoded, $res);
}

# POSTs a JSON-ish body of `size` bytes with curl, which (unlike HTTP::Tiny)
# reads an early answer such as 413 instead of failing on the closed socket.
# chunked => 1 sends it without Content-Length. Returns (status, decoded body).
sub post_big_body {
    my ($path, $size, %opt) = @_;
    my $dir = $ENV{NMC_TEST_STATE} // '/tmp';
    my $file = "$dir/big-body-$$.json";
    open my $fh, '>', $file or die "$file: $!";
    print $fh '{"email":"', 'a' x ($size - 12), '"}';
    close $fh;
    my @cmd = ('curl', '-sS', '-o', "$file.out", '-w', '%{http_code}', '-H', 'Content-Type: application/json',
               ($opt{chunked} ? ('-H', 'Transfer-Encoding: chunked') : ()),
               '--data-binary', "\@$file", ($opt{base} // base_url()) . $path);
    open my $curl, '-|', @cmd or die "curl: $!";
    my $status = <$curl>;
    close $curl;
    my $out = do { local $/; open my $o, '<', "$file.out" or return ($status); <$o> };
    unlink $file, "$file.out";
    return ($status + 0, eval { $json->decode($out) });
}

my $counter = 0;
sub unique_email { sprintf '%s-%d-%d-%d@example.com', shift // 'user', $$, time, ++$counter }

sub register {
    my ($email, %extra) = @_;
    my ($status, $body) = api(POST => '/api/auth/register', {
        email => $email, password => 'correct horse battery', name => 'Test Owner',
        business_name => 'Test Plumbing', trade_type => 'plumbing', timezone => 'America/Denver', %extra,
    });
    die "registration failed: $status\n" unless $status == 201;
    return $body;
}

1;
