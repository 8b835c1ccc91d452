# 04_timers.t — committed timers fire once, on time (never early; the median
# lateness is reported and must stay under the 100 ms promise), and a timer
# cancelled before its time never fires.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use NmcTest qw(sql wait_until new_business);

sql(q{CREATE TABLE IF NOT EXISTS nmc_test.timer_log (timer_id bigint PRIMARY KEY, fired_at timestamptz NOT NULL)});
sql(q{CREATE OR REPLACE FUNCTION nmc.test_timer_log(t nmc.timers) RETURNS void LANGUAGE sql
      AS $$ INSERT INTO nmc_test.timer_log VALUES (t.id, clock_timestamp()) $$});
sql(q{COMMENT ON FUNCTION nmc.test_timer_log(nmc.timers) IS 'Test timer handler (test/dispatcher/04_timers.t).'});
sql(q{INSERT INTO nmc.timer_kinds VALUES ('test.log', 'test_timer_log', 'test timers') ON CONFLICT DO NOTHING});

my ($b) = new_business('+15125550401');
my @ids = map { scalar sql("SELECT id FROM nmc.timer_set('$b', 'test.log', NULL, clock_timestamp() + interval '${_}00 ms')") } (2, 4, 6, 8, 10);
my ($cancelled) = sql("SELECT id FROM nmc.timer_set('$b', 'test.log', NULL, clock_timestamp() + interval '500 ms')");
ok sql("SELECT nmc.timer_cancel($cancelled)") eq 't', 'a timer is cancelled before its time';

my $list = join ',', @ids;
ok wait_until(sub { sql("SELECT count(*) FROM nmc_test.timer_log WHERE timer_id IN ($list)") == 5 }, 10), 'all five timers fired';
my @late = sql("SELECT round(extract(epoch FROM l.fired_at - t.due_at) * 1000, 1) FROM nmc.timers t
                JOIN nmc_test.timer_log l ON l.timer_id = t.id WHERE t.id IN ($list) ORDER BY 1");
diag "timer lateness (ms): @late";
ok $late[0] >= 0, 'no timer fired before its due time';
cmp_ok $late[2], '<', 100, 'median lateness under 100 ms';
is sql("SELECT count(*) FROM nmc.timers WHERE id IN ($list) AND fired_at IS NOT NULL"), 5, 'each is marked fired';
# The cancelled one was due (500 ms) before three that fired (600–1000 ms): timers
# fire in due order, so had it not been cancelled it would have fired by now.
is sql("SELECT count(*) FROM nmc_test.timer_log WHERE timer_id = $cancelled"), 0, 'the cancelled timer never fired';
is sql("SELECT count(*) FROM nmc_test.timer_log WHERE timer_id IN ($list)"), 5, 'and none fired twice';

done_testing;
