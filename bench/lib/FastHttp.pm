# FastHttp.pm — benchmark client: keep-alive HTTP/1.1 POSTs.
package FastHttp;
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Exporter 'import';
our @EXPORT_OK = qw(http_post_fast form_encode);

sub form_encode {
    my ($p) = @_;
    return join '&', map { my $v = $p->{$_}; $v =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; "$_=$v" } sort keys %$p;
}

# A minimal keep-alive HTTP/1.1 client that writes each request in one
# segment with TCP_NODELAY: HTTP::Tiny writes headers and body separately,
# and Nagle plus delayed ACKs then add 40 ms to every POST — the client's
# latency, not ours.
sub http_post_fast {
    my ($sockref, $host, $port, $path, $headers, $body) = @_;
    for my $try (1 .. 2) {
        $$sockref //= do {
            my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp') or die "connect: $!\n";
            setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
            $s;
        };
        my $req = "POST $path HTTP/1.1\r\nHost: $host:$port\r\nContent-Length: " . length($body) . "\r\n"
            . join('', map { "$_: $headers->{$_}\r\n" } sort keys %$headers) . "\r\n" . $body;
        my $s = $$sockref;
        if (!defined syswrite($s, $req)) { undef $$sockref; next }
        my $buf = '';
        while ($buf !~ /\r\n\r\n/) { my $n = sysread($s, $buf, 65536, length $buf); if (!$n) { undef $$sockref; last } }
        next unless defined $$sockref;
        my ($status) = $buf =~ m{^HTTP/1\.1 (\d+)};
        my ($len) = $buf =~ /\r\nContent-Length: (\d+)/i;
        my $have = length($buf) - (index($buf, "\r\n\r\n") + 4);
        while ($have < ($len // 0)) { my $n = sysread($s, $buf, 65536, length $buf) or last; $have += $n }
        return $status;
    }
    return 0;
}

1;
