# nginx_tls.t — the shipped nginx site (deploy/nginx/nevermisscall.conf), run
# by Debian's nginx in the foreground with a throwaway self-signed certificate
# in front of an edge that trusts it as its proxy: one https origin serves the
# dashboard, the API and the live feed (wss://…/ws); a missed call signed for
# the proxy's public URL is accepted and texted; a dashboard that logs in
# through the proxy finds the feed on the same origin and gets the call's live
# events; the client address the edge sees is the one nginx saw, whatever
# X-Forwarded-For the client sent; /metrics stays closed to proxied clients.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../edge/lib", "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use OpsTest qw(ops_port start_daemon start_edge wait_for http_up);
use NmcTest qw(sql fake_requests use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);
use WsClient;

my $state = $ENV{NMC_TEST_STATE} or BAIL_OUT('NMC_TEST_STATE is not set (run through make test)');
my $site = "$FindBin::Bin/../../deploy/nginx/nevermisscall.conf";
my ($tls_port, $plain_port, $edge_port) = (ops_port(0), ops_port(1), ops_port(2));
my $dir = "$state/nginx-$$";
system('rm', '-rf', $dir);
mkdir $dir or die "$dir: $!";
mkdir "$dir/$_" or die for qw(logs tmp);
chmod 01777, "$dir/tmp";    # nginx's workers drop to an unprivileged user

# A throwaway certificate for 127.0.0.1, which the clients below verify.
my $cert = "$dir/cert.pem";
open my $stderr, '>&', \*STDERR or die;
open STDERR, '>', "$dir/openssl.log" or die;    # openssl req prints a ruler even with -subj
is system('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', "$dir/key.pem", '-out', $cert) >> 8, 0, 'a self-signed certificate for 127.0.0.1';
open STDERR, '>&', $stderr or die;

# The shipped site with this machine's ports, certificate and log paths: each
# line rewritten must be there, so the test runs the file as it is shipped.
open my $in, '<', $site or die "$site: $!";
my $conf = do { local $/; <$in> };
close $in;
my %edit = (
    'server 127.0.0.1:8080;' => "server 127.0.0.1:$edge_port;",
    'server 127.0.0.1:8081;' => 'server 127.0.0.1:' . ($edge_port + 1) . ';',
    'listen 80;' => "listen 127.0.0.1:$plain_port;",
    'listen [::]:80;' => '',
    'listen 443 ssl http2;' => "listen 127.0.0.1:$tls_port ssl http2;",
    'listen [::]:443 ssl http2;' => '',
    'ssl_certificate /etc/letsencrypt/live/nevermisscall.example.com/fullchain.pem;' => "ssl_certificate $cert;",
    'ssl_certificate_key /etc/letsencrypt/live/nevermisscall.example.com/privkey.pem;' => "ssl_certificate_key $dir/key.pem;",
    'access_log /var/log/nginx/nevermisscall.access.log;' => "access_log $dir/logs/access.log;",
    'error_log /var/log/nginx/nevermisscall.error.log;' => "error_log $dir/logs/error.log;",
);
my @missing = grep { index($conf, $_) < 0 } sort keys %edit;
is "@missing", '', 'the shipped site has the lines a deployment adapts';
$conf =~ s/\Q$_\E/$edit{$_}/g for keys %edit;
open my $out, '>', "$dir/site.conf" or die;
print $out $conf;
close $out;
# What Debian's /etc/nginx/nginx.conf gives a site, with paths of our own.
open $out, '>', "$dir/nginx.conf" or die;
print $out <<"CONF";
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
CONF
close $out;
my $check = qx{nginx -t -p $dir -c $dir/nginx.conf 2>&1};
is $? >> 8, 0, 'nginx -t accepts the site' or diag $check;

# The edge behind it, trusting it for X-Forwarded-For; the settings say where
# Twilio and the browsers reach it: the proxy's https origin.
my $public = "https://127.0.0.1:$tls_port";
my %saved = map { $_ => sql("SELECT nmc.setting('$_')") } qw(public_url public_ws_url);
END { sql("SELECT nmc.configure(jsonb_build_object('public_url', '$saved{public_url}', 'public_ws_url', '$saved{public_ws_url}'))") if %saved }
sql("SELECT nmc.configure('{\"public_url\": \"$public\", \"public_ws_url\": \"wss://127.0.0.1:$tls_port/ws\"}')");
use_fake_providers();
start_edge('edge-behind-nginx', $edge_port, NMC_TRUSTED_PROXIES => '127.0.0.1');
start_daemon('nginx', {}, 'nginx', '-p', $dir, '-c', "$dir/nginx.conf");

local $ENV{SSL_CERT_FILE} = $cert;    # HTTP::Tiny verifies against it
my $https = HTTP::Tiny->new(timeout => 10, verify_SSL => 1);
ok http_up("$public/healthz", $https), 'the edge answers through nginx over verified TLS';
my $res = HTTP::Tiny->new(timeout => 5, max_redirect => 0)->get("http://127.0.0.1:$plain_port/api/realtime?x=1");
is $res->{status}, 301, 'plain http is redirected …';
is $res->{headers}{location}, "https://127.0.0.1/api/realtime?x=1", '… to https, path and query kept';
$res = $https->get("$public/");
is $res->{status}, 200, 'the dashboard is served on the origin';
like $res->{content}, qr/<html/i, '… as its HTML';
like $res->{headers}{'strict-transport-security'} // '', qr/max-age=/, '… with HSTS';

# The client address: what nginx saw (127.0.0.2 here), not what the client claims.
my $from2 = HTTP::Tiny->new(timeout => 10, verify_SSL => 1, local_address => '127.0.0.2');
my $email = 'behind-nginx-' . $$ . '-' . time . '@example.com';
$from2->post("$public/api/auth/login", { headers => { 'content-type' => 'application/json', 'x-forwarded-for' => '203.0.113.77' },
                                          content => encode_json({ email => $email, password => 'not the password' }) });
is sql("SELECT string_agg(s.key, ',') FROM nmc.login_failures s JOIN nmc.login_failures e
         ON e.scope = 'email' AND e.key = '$email' AND e.failed_at = s.failed_at WHERE s.scope = 'source'"),
   '127.0.0.2', 'a failed log-in through nginx is counted against the address nginx saw, not the forged X-Forwarded-For';
is $https->get("$public/metrics")->{status}, 403, '/metrics is closed to a client coming through the proxy';

# The owner signs up and logs in through the proxy, as the dashboard does.
$email = 'owner-nginx-' . $$ . '-' . time . '@example.com';
$res = $https->post("$public/api/auth/register", { headers => { 'content-type' => 'application/json' }, content => encode_json({
    email => $email, password => 'correct horse battery', name => 'Proxy Owner', business_name => 'Proxy Plumbing',
    trade_type => 'plumbing', timezone => 'America/Chicago' }) });
is $res->{status}, 201, 'sign-up through nginx';
my $business = decode_json($res->{content})->{user}{business_id};
$res = $https->post("$public/api/auth/login", { headers => { 'content-type' => 'application/json' },
                                               content => encode_json({ email => $email, password => 'correct horse battery' }) });
is $res->{status}, 200, 'log-in through nginx';
my $jwt = decode_json($res->{content})->{token};
my $number = '+1512555' . sprintf('%04d', 1000 + $$ % 9000);
sql("UPDATE nmc.businesses SET forward_to_phone = '+15125550199' WHERE id = '$business'");
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$business', '$number')");
sql("SELECT nmc.hours_replace('$business', (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                              FROM generate_series(0, 6) d))");

$res = $https->get("$public/api/realtime", { headers => { authorization => "Bearer $jwt" } });
my $ws_url = eval { decode_json($res->{content})->{ws_url} } // '';
is $ws_url, "wss://127.0.0.1:$tls_port/ws", 'GET /api/realtime sends the dashboard to the feed on the same origin';
my ($ws_host, $ws_port, $ws_path) = $ws_url =~ m{^wss://([^:/]+):(\d+)(/.*)$};
my $feed = eval { WsClient->connect(host => $ws_host, port => $ws_port, path => $ws_path, tls => { SSL_ca_file => $cert }) };
ok $feed, 'the WebSocket opens at that wss:// URL through nginx' or diag $@;
$feed->send_text(encode_json({ token => $jwt, last_event_id => undef }));
my $hello = next_frame($feed, sub { 1 });
is $hello && $hello->{type}, 'hello', 'the feed says hello to the logged-in owner';

# A missed call, signed as Twilio signs it: for the proxy's public URL.
my $token = sql("SELECT nmc.webhook_signing_token()");
my $caller = '+1512556' . sprintf('%04d', 1000 + $$ % 9000);
my %call = (CallSid => random_sid('CA'), AccountSid => 'ACffffffffffffffffffffffffffffffff', From => $caller, To => $number);
{
    local $ENV{SSL_CERT_FILE} = $cert;
    $res = post_twilio($public, $public, '/webhooks/twilio/voice', { %call, CallStatus => 'ringing' }, $token);
    is $res->{status}, 200, 'the voice webhook through nginx is accepted (signed for the public https URL)';
    like $res->{content}, qr{action="\Q$public\E/webhooks/twilio/voice/dial"}, '… and its TwiML sends the dial result back through the proxy';
    $res = post_twilio($public, $public, '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token);
    is $res->{status}, 200, 'the dial result through nginx is accepted';
    $res = post_twilio($public, "http://127.0.0.1:$edge_port", '/webhooks/twilio/voice/dial', { %call, DialCallStatus => 'no-answer' }, $token);
    is $res->{status}, 403, 'a webhook signed for the edge\'s own address is refused: the proxy\'s URL is the one signed';
}
ok wait_for(sub { grep { $_->{body} =~ /To=\Q@{[uri($caller)]}\E/ } @{ fake_requests(path => 'Messages.json') } }, 10),
   'the text reaches the fake Twilio';
my $missed = next_frame($feed, sub { $_[0]{type} eq 'call.missed' });
ok $missed, 'the dashboard\'s feed receives the call.missed event through nginx';
is $missed && $missed->{data}{customer}{phone}, $caller, '… of that caller';
$feed->close;

# nginx logs a WebSocket request when it ends, a moment after the close.
ok wait_for(sub { my $log = do { local $/; open my $fh, '<', "$dir/logs/access.log" or die; <$fh> }; $log =~ m{"GET /ws HTTP/1\.1" 101 } }, 10),
   'nginx logged the WebSocket upgrade';

done_testing;

sub uri { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s }

# The next frame matching want (health pings skipped), within 10 s.
sub next_frame {
    my ($c, $want) = @_;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $m = $c->next_message($deadline - time) or return undef;
        return undef if $m->{type} eq 'close';
        my $f = decode_json($m->{text});
        return $f if $want->($f);
    }
    return undef;
}
