# BenchCpu.pm — CPU time of a stack under load, in milliseconds: the
# database (postmaster and its children, the inbox worker also apart) and the
# edge. A figure per unit of work that a noisy host disturbs less than a rate.
package BenchCpu;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(cpu_ms);

my $tick_ms = 1000 / (`getconf CLK_TCK` || 100);

# cpu_ms(state dir) → (database, edge, inbox worker) milliseconds so far.
sub cpu_ms {
    my ($state) = @_;
    my ($pg, $edge, $inbox) = (0, 0, 0);
    open my $pm, '<', "$state/data/postmaster.pid" or return (0, 0, 0);
    my $postmaster = <$pm> + 0;
    close $pm;
    my $edge_pid = -1;
    if (open my $ep, '<', "$state/edge.pid") { $edge_pid = <$ep> + 0; close $ep }
    for my $f (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $f or next;
        my $line = <$fh> // next;
        close $fh;
        my ($pid, $rest) = $line =~ /^(\d+) \(.*\) (.*)$/ or next;
        my @x = split ' ', $rest;    # $x[1] is ppid, $x[11] utime, $x[12] stime
        if ($pid == $postmaster || $x[1] == $postmaster) {
            $pg += $x[11] + $x[12];
            if (open my $cl, '<', "/proc/$pid/cmdline") { my $cmd = <$cl> // ''; close $cl; $inbox += $x[11] + $x[12] if $cmd =~ /nevermisscall inbox/ }
        }
        elsif ($pid == $edge_pid) { $edge += $x[11] + $x[12] }
    }
    return map { $_ * $tick_ms } ($pg, $edge, $inbox);
}

1;
