# WsClient.pm — a minimal WebSocket client for the edge's live-feed tests,
# core Perl only (IO::Socket::SSL for wss:// through a proxy): the opening
# handshake (with the Sec-WebSocket-Accept check), masked client frames, and
# server frames including ping and close.
package WsClient;
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Digest::SHA qw(sha1_base64);
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

# connect(port => P, path => '/ws', rcvbuf => bytes, tls => {IO::Socket::SSL
# options}) → client, or dies. A small rcvbuf (set before connecting, so the
# window stays small) lets a test play a client that stops reading without
# the kernel hiding it. With tls, the connection is wss:// (the certificate
# checked against the options' SSL_ca_file).
sub connect {
    my ($class, %opt) = @_;
    my $sock = IO::Socket::INET->new(Proto => 'tcp', Blocking => 1) or die "socket: $!";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $opt{rcvbuf}) or die "SO_RCVBUF: $!" if $opt{rcvbuf};
    my $addr = Socket::pack_sockaddr_in($opt{port}, Socket::inet_aton($opt{host} // '127.0.0.1'));
    $sock->connect($addr) or die "connect to $opt{port}: $!";
    if ($opt{tls}) {
        require IO::Socket::SSL;
        IO::Socket::SSL->start_SSL($sock, SSL_hostname => $opt{host} // '127.0.0.1', SSL_verifycn_name => $opt{host} // '127.0.0.1',
                                   SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_PEER(), %{ $opt{tls} })
            or die "TLS handshake: " . IO::Socket::SSL::errstr() . "\n";
    }
    $sock->autoflush(1);
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $path = $opt{path} // '/ws';
    my $host = $opt{host} // '127.0.0.1';
    print $sock "GET $path HTTP/1.1\r\nHost: $host:$opt{port}\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
    my $self = bless { sock => $sock, buf => '' }, $class;
    my $deadline = time + 5;
    until ($self->{buf} =~ /\r\n\r\n/) {
        $self->_fill($deadline) or die "no handshake answer\n";
    }
    my ($head, $rest) = split /\r\n\r\n/, $self->{buf}, 2;
    $self->{buf} = $rest;
    $self->{status_line} = (split /\r\n/, $head)[0];
    die "handshake refused: $self->{status_line}\n" unless $head =~ m{^HTTP/1\.1 101 };
    my ($accept) = $head =~ /^Sec-WebSocket-Accept:\s*(\S+)/mi;
    my $want = sha1_base64($key . $GUID) . '=';
    die "bad Sec-WebSocket-Accept\n" unless defined $accept && $accept eq $want;
    return $self;
}

sub _fill {
    my ($self, $deadline) = @_;
    my $left = $deadline - time;
    return 0 if $left <= 0;
    # TLS may hold decrypted bytes the socket no longer shows as readable.
    my $pending = $self->{sock}->can('pending') && $self->{sock}->pending;
    return 0 unless $pending || IO::Select->new($self->{sock})->can_read($left);
    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) { $self->{eof} = 1; return 0 }
    $self->{buf} .= $chunk;
    return 1;
}

sub _send_frame {
    my ($self, $op, $payload) = @_;
    my $len = length $payload;
    my $head = chr(0x80 | $op);
    if ($len < 126) { $head .= chr(0x80 | $len) }
    elsif ($len < 65536) { $head .= chr(0x80 | 126) . pack('n', $len) }
    else { $head .= chr(0x80 | 127) . pack('Q>', $len) }
    my $mask = join '', map { chr int rand 256 } 1 .. 4;
    my $masked = $payload ^ substr($mask x (int($len / 4) + 1), 0, $len);
    local $SIG{PIPE} = 'IGNORE';
    return defined syswrite($self->{sock}, $head . $mask . $masked);
}

sub send_text { my ($self, $text) = @_; utf8::encode($text) if utf8::is_utf8($text); $self->_send_frame(0x1, $text) }

# Next frame before the deadline: { op, payload, fin } or undef.
sub _frame {
    my ($self, $deadline) = @_;
    for (;;) {
        my $b = $self->{buf};
        if (length $b >= 2) {
            my ($b0, $b1) = unpack 'CC', $b;
            my $len = $b1 & 0x7f;
            my $off = 2;
            if ($len == 126) { $off = 4; $len = length $b >= 4 ? unpack('n', substr $b, 2, 2) : undef }
            elsif ($len == 127) { $off = 10; $len = length $b >= 10 ? unpack('Q>', substr $b, 2, 8) : undef }
            if (defined $len && length $b >= $off + $len) {
                $self->{buf} = substr $b, $off + $len;
                return { op => $b0 & 0x0f, fin => $b0 & 0x80, payload => substr($b, $off, $len) };
            }
        }
        $self->_fill($deadline) or return undef;
    }
}

# next_message(timeout) → { type => 'text', text } | { type => 'close', code, reason }
# | undef (timeout or connection gone without a close frame). Answers pings.
sub next_message {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $text = '';
    while (my $f = $self->_frame($deadline)) {
        if ($f->{op} == 0x9) { $self->_send_frame(0xA, $f->{payload}); next }
        next if $f->{op} == 0xA;
        if ($f->{op} == 0x8) {
            my ($code, $reason) = length $f->{payload} >= 2 ? (unpack('n', $f->{payload}), substr($f->{payload}, 2)) : (1005, '');
            $self->_send_frame(0x8, substr($f->{payload}, 0, 2)) unless $self->{closed}++;
            return { type => 'close', code => $code, reason => $reason };
        }
        $text .= $f->{payload};
        return { type => 'text', text => $text } if $f->{fin};
    }
    return undef;
}

sub eof { $_[0]{eof} }

sub close {
    my ($self) = @_;
    $self->_send_frame(0x8, pack('n', 1000)) unless $self->{closed}++;
    CORE::close($self->{sock});
}

1;
