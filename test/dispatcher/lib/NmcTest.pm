# NmcTest.pm — helpers for tests that need committed data and the running
# dispatcher: SQL through psql as the superuser, the fake providers' admin
# API, and polling for a condition (never sleeping for a fixed time).
package NmcTest;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(sql sql_row psql_session fake fake_requests fake_reset wait_until new_business use_fake_providers json);

my $json = JSON::PP->new->canonical;
sub json { $json }

sub _psql_args {
    my $state = $ENV{NMC_TEST_STATE} or die "NMC_TEST_STATE is not set (run through make test)\n";
    return ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', "$state/run", '-p', $ENV{NMC_PG_PORT},
            '-U', 'postgres', '-d', $ENV{NMC_DB});
}

# Runs SQL in its own transaction; returns the output lines (fields split on |).
sub sql {
    my ($query) = @_;
    open my $fh, '-|', _psql_args(), '-c', $query or die "psql: $!";
    my @lines = map { chomp; $_ } <$fh>;
    close $fh or die "psql failed ($?) on: $query\n";
    return wantarray ? @lines : $lines[0];
}

sub sql_row { my @f = split /\|/, (sql(@_) // ''), -1; return @f }

# A psql process reading statements from a pipe: lets a test hold a
# transaction open across other actions. Returns the pipe; close it to end.
sub psql_session {
    open my $fh, '|-', _psql_args() or die "psql: $!";
    my $old = select $fh; $| = 1; select $old;
    return $fh;
}

my $http = HTTP::Tiny->new(timeout => 10);
sub fake_url { $ENV{NMC_TEST_FAKE_URL} or die "NMC_TEST_FAKE_URL is not set\n" }

# fake(METHOD, PATH, {query params}, body) → decoded JSON answer.
sub fake {
    my ($method, $path, $params, $body) = @_;
    my $url = fake_url() . $path;
    $url .= '?' . $http->www_form_urlencode($params) if $params && %$params;
    my $res = $http->request($method, $url, defined $body ? { content => $body } : {});
    die "fake $method $path: $res->{status} $res->{content}\n" unless $res->{success};
    return eval { $json->decode($res->{content}) };
}

sub fake_reset { fake(POST => '/_fake/reset') }

sub fake_requests {
    my (%filter) = @_;
    return fake(GET => '/_fake/requests', \%filter) // [];
}

sub wait_until {
    my ($cond, $timeout, $what) = @_;
    my $deadline = time + ($timeout // 10);
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.02;
    }
    return;
}

# A fresh business and customer; returns (business_id, customer_id).
sub new_business {
    my ($phone) = @_;
    my ($b) = sql("INSERT INTO nmc.businesses (name, trade_type) VALUES ('Dispatch Test', 'plumbing') RETURNING id");
    my ($c) = sql("SELECT id FROM nmc.customer_upsert('$b', '" . ($phone // '+15125550143') . "')");
    return ($b, $c);
}

# Points every provider at the fake, with the fake's credentials.
sub use_fake_providers {
    my $base = fake_url();
    sql(qq{SELECT nmc.configure('{"twilio_account_sid":"ACffffffffffffffffffffffffffffffff",
        "twilio_auth_token":"fake_auth_token_0123456789abcdef","twilio_api_base":"$base",
        "openai_api_key":"sk-fake-0123456789","openai_api_base":"$base/v1",
        "maps_api_key":"fake-maps-key","maps_api_base":"$base"}')});
}

1;
