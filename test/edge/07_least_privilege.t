# 07_least_privilege.t — `make run`'s set-up (scripts/stack.sh up) on a
# throwaway cluster of its own, with provider secrets configured: no process
# ever shows a secret on its command line (/proc/*/cmdline is world-readable;
# watched all through the set-up), the secrets still reach the database, and
# the edge — the only process on the network — runs as its own user, not root,
# with no secret in its environment.
use strict;
use warnings;
use FindBin;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

plan skip_all => 'needs root (set-up creates the edge user)' unless $> == 0;

my %secret = (NMC_TWILIO_AUTH_TOKEN => 'tw-secret-' . int(rand 1e9), NMC_OPENAI_API_KEY => 'sk-secret-' . int(rand 1e9),
              NMC_MAPS_API_KEY => 'maps-secret-' . int(rand 1e9));
my $pg_port = ($ENV{NMC_PG_PORT} // 54340) + 9;
my $http_port = ($ENV{NMC_HTTP_PORT} // 18080) + 7;
my %env = (%secret, NMC_PG_PORT => $pg_port, NMC_HTTP_PORT => $http_port, NMC_WS_PORT => $http_port + 1, NMC_DB => 'nmc_privilege',
           NMC_TWILIO_ACCOUNT_SID => 'ACffffffffffffffffffffffffffffffff', NMC_PUBLIC_URL => "http://localhost:$http_port",
           NMC_PG_EXTRA_CONF => "fsync = off\nsynchronous_commit = off");
local @ENV{keys %env} = values %env;
my $stack = $ENV{NMC_TEST_STACK};
chomp(my $state = `$stack state-dir`);
# (END runs after the local above is undone: the throwaway stack's settings again.)
sub down { local @ENV{keys %env} = values %env; system("$stack stop >/dev/null 2>&1"); system('rm', '-rf', $state) if $state =~ m{/\d+$} }
END { down() }

# Watch every process's command line while the set-up runs.
pipe my $r, my $w or die;
my $watcher = fork // die;
if (!$watcher) {
    close $r;
    my %seen;
    my $deadline = time + 300;
    while (time < $deadline && getppid() > 1) {
        for my $f (glob '/proc/[0-9]*/cmdline') {
            open my $fh, '<', $f or next;
            my $cmd = do { local $/; <$fh> } // '';
            close $fh;
            for my $s (values %secret) { $seen{$f} = 1 if index($cmd, $s) >= 0 }
        }
        last if -e "$state/.watch-stop";
    }
    print $w scalar(keys %seen), "\n";
    close $w;
    POSIX::_exit(0);
}
close $w;
my $up = system("$stack up >/dev/null 2>&1") == 0;
open my $stop, '>', "$state/.watch-stop" or die;
close $stop;
my $seen = <$r> // 'none';
chomp $seen;
waitpid $watcher, 0;
ok $up, 'the set-up ran with provider secrets configured';
is $seen, 0, 'no process showed a secret on its command line during the set-up';

my $sql = sub { my $q = shift; my $v = `psql -X -q -A -t -h $state/run -p $pg_port -U postgres -d nmc_privilege -c "$q"`; chomp $v; $v };
is $sql->("SELECT nmc.setting('twilio_auth_token') = '$secret{NMC_TWILIO_AUTH_TOKEN}' AND nmc.setting('openai_api_key') = '$secret{NMC_OPENAI_API_KEY}'"
          . " AND nmc.setting('maps_api_key') = '$secret{NMC_MAPS_API_KEY}'"), 't', 'the secrets reached the database';

open my $pf, '<', "$state/edge.pid" or die "$state/edge.pid: $!";
chomp(my $pid = <$pf>);
close $pf;
open my $st, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!";
my ($uid) = map { /^Uid:\s+(\d+)/ ? $1 : () } <$st>;
close $st;
isnt $uid, 0, 'the edge does not run as root';
is scalar(getpwuid($uid)), 'nmc-edge', '… but as nmc-edge';
open my $en, '<', "/proc/$pid/environ" or die;
my $environ = do { local $/; <$en> };
close $en;
ok !(grep { index($environ, $_) >= 0 } values %secret), 'no secret in the edge\'s environment';
like `curl -s http://127.0.0.1:$http_port/healthz`, qr/ok/i, 'and it serves';
is `curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$http_port/`, 200, '… the dashboard too';

done_testing;
