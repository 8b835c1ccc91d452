# TwilioWebhook.pm — posts webhooks to the edge exactly as Twilio does:
# form-encoded, signed with X-Twilio-Signature (HMAC-SHA1 over the public URL
# followed by the sorted parameters). Used by scripts/simulate.pl and tests.
package TwilioWebhook;
use strict;
use warnings;
use Digest::SHA qw(hmac_sha1_base64);
use HTTP::Tiny;
use Exporter 'import';

our @EXPORT_OK = qw(sign_twilio post_twilio random_sid);

sub sign_twilio {
    my ($url, $params, $token) = @_;
    my $data = $url;
    for my $k (sort keys %$params) {
        $data .= $k . $params->{$k};
    }
    my $sig = hmac_sha1_base64($data, $token);
    $sig .= '=' while length($sig) % 4;    # Digest::SHA leaves out base64 padding
    return $sig;
}

sub random_sid {
    my ($prefix) = @_;
    return $prefix . join '', map { sprintf '%x', int rand 16 } 1 .. 32;
}

sub _encode {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# post_twilio(edge_base, public_url, path, {params}, token [, signature override])
# → HTTP::Tiny response.
sub post_twilio {
    my ($edge, $public, $path, $params, $token, $signature) = @_;
    $public =~ s{/$}{};
    my $sig = $signature // sign_twilio($public . $path, $params, $token);
    my $body = join '&', map { _encode($_) . '=' . _encode($params->{$_}) } sort keys %$params;
    return HTTP::Tiny->new(timeout => 30)->request(POST => $edge . $path, {
        headers => {
            'content-type' => 'application/x-www-form-urlencoded',
            'user-agent' => 'TwilioProxy/1.1',
            ($sig eq '' ? () : ('x-twilio-signature' => $sig)),
        },
        content => $body,
    });
}

1;
