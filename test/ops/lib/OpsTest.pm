# OpsTest.pm — helpers for the operations tests (test/ops): ports of their
# own beside make test's, extra edges and other daemons started as children
# and stopped at exit whatever happens, and waiting for a daemon to answer.
package OpsTest;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use POSIX ();
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../../dispatcher/lib';
use NmcTest ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(ops_port ops_pg_port start_daemon start_edge stop_daemon wait_for http_up);

# make test's HTTP port + 40..45 belong to test/ops (the edge tests use +1..+13,
# the sanitized phase +20..+31); its Postgres port + 1..+3 too (+7, +9 are taken).
sub ops_port { ($ENV{NMC_HTTP_PORT} // 18080) + 40 + shift }
sub ops_pg_port { ($ENV{NMC_PG_PORT} // 54340) + shift }

my @daemons;    # [pid, name]
my $owner = $$;
# Interrupted (make test stopped, a CI timeout): exit through END, which stops the daemons.
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { exit 1 };

# start_daemon(name, {env}, command...) → pid; output to <state>/log/<name>.log.
sub start_daemon {
    my ($name, $env, @cmd) = @_;
    my $log = "$ENV{NMC_TEST_STATE}/log/$name.log";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setsid();
        @ENV{keys %$env} = values %$env;
        open STDIN, '<', '/dev/null' or die;
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT or die;
        { exec @cmd }
        POSIX::_exit(127);
    }
    push @daemons, [$pid, $name];
    return $pid;
}

# An edge of make test's build on its own ports; env adds to or overrides the test edge's.
sub start_edge {
    my ($name, $http_port, %env) = @_;
    return start_daemon($name, { NMC_HTTP_PORT => $http_port, NMC_WS_PORT => $http_port + 1,
                                 NMC_EDGE_DB => $ENV{NMC_TEST_EDGE_DB}, %env }, $ENV{NMC_TEST_EDGE_BIN});
}

sub stop_daemon {
    my ($pid) = @_;
    kill TERM => $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.02;
    }
    kill KILL => $pid;
    waitpid $pid, 0;
}

END {
    if ($$ == $owner) {
        local $?;    # the test's exit status
        for (reverse @daemons) { stop_daemon($_->[0]) if kill 0, $_->[0] }
    }
}

# wait_for: NmcTest's wait_until (polls a condition until it holds or the time is up).
*wait_for = \&NmcTest::wait_until;

sub http_up {
    my ($url, $http) = @_;
    $http //= HTTP::Tiny->new(timeout => 2);
    return wait_for(sub { ($http->get($url)->{status} // 0) == 200 }, 10);
}

1;
