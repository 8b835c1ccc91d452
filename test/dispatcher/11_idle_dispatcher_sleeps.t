# 11_idle_dispatcher_sleeps.t — once its texts are sent, the dispatcher sleeps:
# libcurl keeps a timer for its idle connections, and a timer left unhandled
# because nothing was running made every later wait a zero-length one (a busy
# loop on a core, found on the bench). Counted in CPU clock ticks of the
# dispatcher's process over a quiet stretch: sleeping costs none, spinning
# costs the whole stretch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX qw(sysconf _SC_CLK_TCK);
use Time::HiRes qw(sleep);
use NmcTest qw(sql fake_requests fake_reset wait_until new_business use_fake_providers);

use_fake_providers();
fake_reset();
my ($business, $customer) = new_business('+15125550144');
# Rounds of texts sent together and one alone, over kept-alive connections: each
# leaves libcurl's last timer request wherever its transfers ended.
for my $round (1 .. 5) {
    my @ids = sql("SELECT (nmc.sms_send('$business', '$customer', '+15125550100', 'Round $round #' || g)).id FROM generate_series(1, $round * 10) g");
    my $list = join ',', map { "'$_'" } @ids;
    wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE payload ->> 'message_id' IN ($list) AND status = 'done'") == @ids }, 20)
        or BAIL_OUT("round $round was not sent");
}
pass 'texts are sent over kept-alive connections, in rounds of 10 to 50';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.jobs WHERE status IN ('queued', 'in_flight') AND next_attempt_at <= now() + interval '1 minute'") == 0 }, 10),
   'nothing else is due';

my $pid = sql("SELECT pid FROM nmc.dispatcher_process()");
like $pid, qr/^\d+$/, "the dispatcher runs (pid $pid)";
sub cpu_ticks {
    open my $fh, '<', "/proc/$pid/stat" or return;
    my @f = split ' ', (split /\) /, scalar <$fh>, 2)[1];
    return $f[11] + $f[12];   # utime + stime (fields 14 and 15)
}
my $hz = sysconf(_SC_CLK_TCK) || 100;
my $before = cpu_ticks();
# The quiet stretch is the measurement itself (as long as the idle connection's
# upkeep timer takes to come due and be missed), not a wait for something.
sleep 2;
my $used = cpu_ticks() - $before;
cmp_ok $used, '<', $hz / 5, "the idle dispatcher used $used clock ticks in 2 s (a busy loop uses about " . 2 * $hz . ')';

done_testing();
