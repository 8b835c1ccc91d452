# ConversationCorpus.pm — plays the conversation corpus (test/conversations/,
# format in its README.md) end to end against a running stack: for each
# conversation a fresh business (hours, ZIP service area, human window 0, the
# built-in assistant), a missed call and the customer's texts as SIGNED Twilio
# webhooks through the edge, each answer waited for in nmc.messages (never a
# fixed sleep); then the checks: booked or not as expected, the fields
# captured, repeated questions, the language of every assistant text,
# hand-offs. Used by bench/conversations.pl and test/webhooks/10_conversation_corpus.t.
package ConversationCorpus;
use strict;
use warnings;
use utf8;
use Exporter 'import';
use Time::HiRes qw(time sleep);
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../../test/dispatcher/lib';
use NmcTest ();
use TwilioWebhook qw(post_twilio random_sid);

our @EXPORT_OK = qw(load_corpus play_all summarize);

my @AREA = qw(78701 78702 78703 78704 78705 78721 78722 78723 78741 78745 78751 78756);

# load_corpus(dir) → [{id, file, start, trade, expect => {...}, lines => [...]}]
sub load_corpus {
    my ($dir) = @_;
    my @convs;
    for my $file (sort glob "$dir/*.txt") {
        open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!";
        my $c;
        while (my $line = <$fh>) {
            chomp $line;
            $line =~ s/\r$//;
            next if $line =~ /^#/;
            if ($line =~ /^===\s*(\S+)/) {
                push @convs, $c if $c;
                $c = { id => $1, file => $file, expect => {}, lines => [], start => 'call', trade => 'plumbing' };
            } elsif (!$c) {
                next;
            } elsif ($line =~ /^>\s?(.*)$/) {
                push @{ $c->{lines} }, $1;
            } elsif ($line =~ /^(outcome|name|address|zip|problem|lang|start|trade|when):\s*(.*?)\s*$/) {
                if ($1 eq 'start' || $1 eq 'trade') { $c->{$1} = $2 } else { $c->{expect}{$1} = $2 }
            } elsif ($line =~ /\S/) {
                die "$file: cannot read line: $line\n";
            }
        }
        push @convs, $c if $c;
    }
    for my $c (@convs) {
        die "$c->{file}: $c->{id} has no outcome\n" unless $c->{expect}{outcome};
        die "$c->{file}: $c->{id}: unknown outcome $c->{expect}{outcome}\n"
            unless $c->{expect}{outcome} =~ /^(booked|handoff|out_of_area|closed|emergency|stopped)$/;
        $c->{expect}{lang} //= 'en';
    }
    return \@convs;
}

sub literal { my $s = shift; $s =~ s/'/''/g; return "'$s'" }

# The business of one conversation: Mon-Sat 8-18 and Sun 10-16 in Austin (so that "tomorrow" is open
# whatever day the corpus runs), ZIPs of central Austin.
sub setup_business {
    my ($ctx, $c, $n) = @_;
    my $number = sprintf '+1737%07d', $ctx->{run} * 1000 + $n;
    my $caller = sprintf '+1512%07d', $ctx->{run} * 1000 + $n;
    my $area = 'ARRAY[' . join(',', map { "'$_'" } @AREA) . ']';
    my $hours = '[' . join(',', qq({"weekday":0,"opens_at":"10:00","closes_at":"16:00"}),
                                map { qq({"weekday":$_,"opens_at":"08:00","closes_at":"18:00"}) } 1 .. 6) . ']';
    my $trade = literal($c->{trade});
    my $b = join '-', map { join '', map { sprintf '%x', int rand 16 } 1 .. $_ } 8, 4, 4, 4, 12;
    substr($b, 14, 1) = '4';
    $ctx->{sql}->(qq{INSERT INTO nmc.businesses (id, name, trade_type, timezone, forward_to_phone, human_window_seconds, service_postal_codes, city)
                     VALUES ('$b', 'Rivera Home Services', $trade, 'America/Chicago', '+17372220199', 0, $area, 'Austin');
                     INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$b', '$number');
                     SELECT nmc.hours_replace('$b', '$hours')});
    return ($b, $number, $caller);
}

sub outbound_count {
    my ($ctx, $b, $caller) = @_;
    return scalar $ctx->{sql}->(qq{SELECT count(*) FROM nmc.messages WHERE business_id = '$b' AND to_phone = '$caller'
                                     AND direction = 'outbound' AND author IN ('ai', 'system')});
}

# NmcTest's wait_until: polls a condition until it holds or the time is up.
*wait_for = \&NmcTest::wait_until;

# The offered slots of the assistant's latest text: [{day, hour, minute, pm}].
sub offered_slots {
    my ($text) = @_;
    my @slots;
    while ($text =~ /(\d)\) (\S+) (?:\S+ \d+|\d+ \S+) (?:at|a las|a la) (\d{1,2}):(\d{2}) ?(AM|PM|a\. m\.|p\. m\.)/g) {
        my ($n, $day, $h, $m, $ampm) = ($1, $2, $3, $4, $5);
        push @slots, { n => $n, day => lc $day, h => $h, m => $m, pm => ($ampm =~ /^p/i ? 1 : 0) };
    }
    return \@slots;
}

my %DAY = (sun => 'sunday', mon => 'monday', tue => 'tuesday', wed => 'wednesday', thu => 'thursday', fri => 'friday', sat => 'saturday',
           'dom' => 'domingo', 'lun' => 'lunes', 'mar' => 'martes', 'mié' => 'miércoles', 'jue' => 'jueves', 'vie' => 'viernes', 'sáb' => 'sábado');

# {timeN} → "10:30am", {hourN} → "10am" / "10:30am", {dayN} → "friday".
sub fill {
    my ($line, $last) = @_;
    my $slots = offered_slots($last // '');
    $line =~ s{\{(time|hour|day)(\d)\}}{
        my ($kind, $n) = ($1, $2);
        my $s = $slots->[$n - 1];
        !$s ? "{$kind$n}"
          : $kind eq 'day' ? ($DAY{$s->{day}} // $s->{day})
          : $kind eq 'hour' && $s->{m} eq '00' ? $s->{h} . ($s->{pm} ? 'pm' : 'am')
          : "$s->{h}:$s->{m}" . ($s->{pm} ? 'pm' : 'am')
    }ge;
    return $line;
}

# Plays one conversation; returns what happened.
sub play {
    my ($ctx, $c, $n) = @_;
    my ($b, $number, $caller) = setup_business($ctx, $c, $n);
    my $sql = $ctx->{sql};
    my %r = (id => $c->{id}, silent => 0, sent => 0);
    my $post = sub {
        my ($path, $params) = @_;
        my $res = post_twilio($ctx->{edge}, $ctx->{public}, $path,
                              { AccountSid => 'ACffffffffffffffffffffffffffffffff', ApiVersion => '2010-04-01', From => $caller, To => $number, %$params },
                              $ctx->{token});
        die "the edge refused $path: $res->{status} $res->{content}\n" unless $res->{success};
    };
    if ($c->{start} eq 'call') {
        my $sid = random_sid('CA');
        my $seen = outbound_count($ctx, $b, $caller);
        $post->('/webhooks/twilio/voice', { CallSid => $sid, CallStatus => 'ringing', Direction => 'inbound' });
        $post->('/webhooks/twilio/voice/dial', { CallSid => $sid, CallStatus => 'in-progress', DialCallStatus => 'no-answer', DialBridged => 'false' });
        wait_for(sub { outbound_count($ctx, $b, $caller) > $seen }, $ctx->{timeout});
    }
    for my $raw (@{ $c->{lines} }) {
        # A conversation the assistant closed, or gave to a person, takes no more lines.
        my ($seen, $mode, $state) = split /\|/, scalar $sql->(qq{
            SELECT (SELECT count(*) FROM nmc.messages WHERE business_id = '$b' AND to_phone = '$caller' AND direction = 'outbound'
                       AND author IN ('ai', 'system')),
                   (SELECT cv.mode || '|' || cv.state FROM nmc.conversations cv JOIN nmc.customers cu ON cu.id = cv.customer_id
                     WHERE cu.business_id = '$b' AND cu.phone = '$caller' ORDER BY cv.created_at DESC LIMIT 1)}), -1;
        last if $r{sent} && (($mode // '') eq 'human' || ($state // '') eq 'closed');
        my $line = $raw;
        if ($line =~ /\{(time|hour|day)\d\}/) {
            $line = fill($line, scalar $sql->(qq{SELECT body FROM nmc.messages WHERE business_id = '$b' AND to_phone = '$caller' AND author = 'ai'
                                                  ORDER BY created_at DESC, id DESC LIMIT 1}));
        }
        my %params = (MessageSid => random_sid('SM'), NumMedia => '0', Body => $line);
        if ($line =~ s/^\[(\d*) ?photos?\]\s*//) {
            my $k = $1 || 1;
            %params = (%params, Body => $line, NumMedia => $k,
                       map { ("MediaUrl$_" => "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME$_",
                              "MediaContentType$_" => 'image/jpeg') } 0 .. $k - 1);
        }
        utf8::encode($params{Body});    # Twilio posts UTF-8
        $post->('/webhooks/twilio/sms', \%params);
        $r{sent}++;
        my $stop = $line =~ /^\s*(stop|stopall|unsubscribe|cancel|end|quit)\s*$/i;
        my $ok = wait_for(sub {
            $stop ? $sql->(qq{SELECT opted_out_at IS NOT NULL FROM nmc.customers WHERE business_id = '$b' AND phone = '$caller'}) eq 't'
                  : outbound_count($ctx, $b, $caller) > $seen }, $ctx->{timeout});
        $r{silent}++ unless $ok;
    }
    # What the database holds at the end.
    my ($name, $address, $zip, $problem, $mode, $state, $lead, $booked, $opted, $emergency) = split /\|/, scalar $sql->(qq{
        SELECT cu.name, cv.intake ->> 'address', cv.intake ->> 'zip', cv.intake ->> 'problem', cv.mode, cv.state,
               (SELECT status FROM nmc.leads l WHERE l.customer_id = cu.id ORDER BY l.created_at DESC LIMIT 1),
               (SELECT count(*) FROM nmc.appointments a WHERE a.customer_id = cu.id AND a.status = 'booked'),
               cu.opted_out_at IS NOT NULL,
               EXISTS (SELECT 1 FROM nmc.events e WHERE e.business_id = cu.business_id AND e.type = 'conversation.emergency')
          FROM nmc.customers cu JOIN nmc.conversations cv ON cv.customer_id = cu.id
         WHERE cu.business_id = '$b' AND cu.phone = '$caller' ORDER BY cv.created_at DESC LIMIT 1}), -1;
    if (defined $c->{expect}{when}) {
        my $when = literal($c->{expect}{when});
        $r{when_fits} = $sql->(qq{SELECT coalesce(bool_and(nmc.intake_slot_fits(lower(a.during), 'America/Chicago',
                                                             nmc.intake_find_when($when, 'America/Chicago'), false)), false)
                                   FROM nmc.appointments a JOIN nmc.customers cu ON cu.id = a.customer_id
                                  WHERE cu.business_id = '$b' AND cu.phone = '$caller' AND a.status = 'booked'}) eq 't';
    }
    # The thread; for every assistant text sent after the customer wrote words (a
    # photo alone says nothing about the language), how Spanish it reads.
    my @thread = map { [ split /\t/, $_, 3 ] } $sql->(qq{
        SELECT m.author || E'\\t' || coalesce(CASE WHEN m.author = 'ai' AND EXISTS (
                   SELECT 1 FROM nmc.messages c WHERE c.business_id = m.business_id AND c.from_phone = '$caller'
                      AND c.created_at < m.created_at AND (c.media IS NULL OR c.body <> nmc.sms_media_words(c.media)))
                   THEN nmc.intake_language_score(m.body)::text END, '') || E'\\t' || replace(replace(m.body, E'\\n', ' '), E'\\t', ' ')
          FROM nmc.messages m
         WHERE m.business_id = '$b' AND (m.from_phone = '$caller' OR m.to_phone = '$caller') ORDER BY m.created_at, m.id});
    $r{lang_scores} = [ map { $_->[1] } grep { $_->[1] ne '' } @thread ];
    $r{thread} = [ map { [ $_->[0], $_->[2] ] } @thread ];
    @r{qw(name address zip problem mode state lead booked opted emergency)} = ($name, $address, $zip, $problem, $mode, $state, $lead, $booked, $opted eq 't', $emergency eq 't');
    return \%r;
}

sub fold { my $s = lc(shift // ''); $s =~ tr/áéíóúüñ/aeiouun/; return $s }

# The kind of detail an assistant text asks for (or undef).
sub asks_for {
    my ($text) = @_;
    return 'zip' if $text =~ /ZIP code\?|código postal/i;
    return 'address' if $text =~ /address for the job|street address with the house number|dirección del trabajo|dirección con el número/i;
    return 'name' if $text =~ /what's your name\?|cuál es su nombre/i;
    return 'problem' if $text =~ /What can we help you with\?|En qué le podemos ayudar/i;
    return undef;
}

# Whether a customer text carried the expected value of a detail.
sub carries {
    my ($field, $text, $e) = @_;
    my $t = fold($text);
    if ($field eq 'name') {
        my ($first) = split ' ', fold($e->{name} // '');
        return $first && $t =~ /\b\Q$first\E\b/;
    }
    if ($field eq 'address') {
        my ($num, $street) = split ' ', fold($e->{address} // '');
        return $num && $street && $t =~ /\b\Q$num\E\s+(?:[nsew]\.?\s+)?\Q$street\E/;
    }
    if ($field eq 'zip') {
        return $e->{zip} && $t =~ /\b\Q$e->{zip}\E\b/;
    }
    if ($field eq 'problem') {
        my $k = fold($e->{problem} // '');
        return $k ne '' && index($t, $k) >= 0;
    }
    return 0;
}

# The checks of one played conversation: {outcome, fields, repeated, language, silent, handoff}.
sub check {
    my ($c, $r) = @_;
    my $e = $c->{expect};
    my %k;
    my $o = $e->{outcome};
    $k{outcome} = $o eq 'booked' ? $r->{booked} >= 1
                : $o eq 'handoff' ? !$r->{booked} && $r->{mode} eq 'human' && !$r->{emergency}
                : $o eq 'emergency' ? !$r->{booked} && $r->{emergency}
                : $o eq 'out_of_area' ? !$r->{booked} && ($r->{lead} // '') eq 'out_of_area'
                : $o eq 'stopped' ? !$r->{booked} && $r->{opted}
                : !$r->{booked} && $r->{state} eq 'closed' && $r->{mode} ne 'human';
    my @bad;
    no warnings 'uninitialized';
    push @bad, "name '$r->{name}' ≠ '$e->{name}'" if defined $e->{name} && ($r->{name} // '') ne $e->{name};
    push @bad, "address '$r->{address}' does not start with '$e->{address}'"
        if defined $e->{address} && index(fold($r->{address}), fold($e->{address})) != 0;
    push @bad, "zip '$r->{zip}' ≠ '$e->{zip}'" if defined $e->{zip} && ($r->{zip} // '') ne $e->{zip};
    push @bad, "problem '$r->{problem}' lacks '$e->{problem}'" if defined $e->{problem} && index(fold($r->{problem}), fold($e->{problem})) < 0;
    push @bad, "the appointment does not fit '$e->{when}'" if defined $e->{when} && !$r->{when_fits};
    $k{fields} = !@bad;
    $k{field_errors} = \@bad;
    # A question for a detail the customer had already written.
    my @said;
    my $repeated = 0;
    my @rep;
    for my $m (@{ $r->{thread} }) {
        my ($author, $body) = @$m;
        if ($author eq 'customer') { push @said, $body; next }
        next unless $author eq 'ai';
        my $f = asks_for($body) or next;
        if (grep { carries($f, $_, $e) } @said) {
            $repeated++;
            push @rep, "$f: $body";
        }
    }
    # Offers spread out: no two offered starts of one day less than an hour apart.
    my @crowded;
    for my $m (@{ $r->{thread} }) {
        next unless $m->[0] eq 'ai';
        my $slots = offered_slots($m->[1]);
        for my $x (0 .. $#$slots) {
            for my $y ($x + 1 .. $#$slots) {
                my ($p, $q) = @$slots[$x, $y];
                my $mins = sub { my $s = shift; (($s->{h} % 12) + 12 * $s->{pm}) * 60 + $s->{m} };
                push @crowded, $m->[1] if $p->{day} eq $q->{day} && abs($mins->($p) - $mins->($q)) < 60;
            }
        }
    }
    $k{spread} = !@crowded;
    $k{repeated} = $repeated;
    $k{repeated_what} = \@rep;
    $k{language} = !grep { $e->{lang} eq 'es' ? $_ <= 0 : $_ > 0 } @{ $r->{lang_scores} };
    $k{silent} = $r->{silent};
    $k{handoff} = $r->{mode} eq 'human' && !$r->{emergency};
    $k{all} = $k{outcome} && $k{fields} && !$repeated && $k{language} && !$r->{silent} && $k{spread};
    return \%k;
}

# play_all(ctx, convs, jobs) → [[conv, result, checks]], playing `jobs` at a time.
sub play_all {
    my ($ctx, $convs, $jobs) = @_;
    # (Numbers +1512 2000000-4999999: clear of the 555 numbers other tests use.)
    $ctx->{run} //= 2000 + int rand 3000;
    # psql answers in UTF-8 bytes: the corpus is text.
    my $raw = $ctx->{sql};
    $ctx->{sql} = sub {
        my @l = $raw->(@_);
        utf8::decode($_) for @l;
        return wantarray ? @l : $l[0];
    };
    $ctx->{timeout} //= 15;
    my @out;
    my @queue = map { [$_, $convs->[$_]] } 0 .. $#$convs;
    my %running;
    require JSON::PP;
    my $json = JSON::PP->new->canonical;
    while (@queue || %running) {
        while (@queue && keys %running < $jobs) {
            my ($i, $c) = @{ shift @queue };
            pipe my $rd, my $wr or die;
            my $pid = fork // die "fork: $!";
            if (!$pid) {
                close $rd;
                srand();    # each child its own SIDs (Twilio's retries are recognised by SID)
                my $r = eval { play($ctx, $c, $i) } // { id => $c->{id}, error => "$@", thread => [], lang_scores => [], silent => 1,
                                                         booked => 0, mode => '', state => '' };
                binmode $wr, ':encoding(UTF-8)';
                print $wr $json->encode($r);
                close $wr;
                require POSIX;
                POSIX::_exit(0);
            }
            close $wr;
            $running{$pid} = [$i, $c, $rd];
        }
        my $pid = wait;
        next if $pid < 0;
        my ($i, $c, $rd) = @{ delete $running{$pid} };
        binmode $rd, ':encoding(UTF-8)';
        my $text = do { local $/; <$rd> };
        my $r = eval { $json->decode($text) } // { id => $c->{id}, error => 'no result', thread => [], lang_scores => [], silent => 1,
                                                   booked => 0, mode => '', state => '' };
        push @out, [$c, $r, check($c, $r)];
    }
    return [ sort { $a->[0]{id} cmp $b->[0]{id} } @out ];
}

# The figures of a run, and the failures in detail.
sub summarize {
    my ($played, $verbose) = @_;
    my $n = @$played;
    my %sum;
    my $text = '';
    for my $p (@$played) {
        my ($c, $r, $k) = @$p;
        my $o = $c->{expect}{outcome};
        $sum{booked_expected}++ if $o eq 'booked';
        $sum{booked_right}++ if $o eq 'booked' && $k->{outcome};
        $sum{outcome}++ if $k->{outcome};
        $sum{fields}++ if $k->{fields};
        $sum{repeated} += $k->{repeated};
        $sum{language}++ if $k->{language};
        $sum{spread}++ if $k->{spread};
        $sum{handoffs}++ if $k->{handoff};
        $sum{handoffs_expected}++ if $o eq 'handoff';
        $sum{silent} += $k->{silent};
        $sum{all}++ if $k->{all};
        next if $k->{all} && !$verbose;
        $text .= sprintf "%s %s (%s; expected %s%s)\n", $k->{all} ? 'ok  ' : 'FAIL', $c->{id}, $c->{file} =~ s{.*/}{}r, $o,
                         $r->{error} ? ", error: $r->{error}" : '';
        $text .= sprintf("     outcome wrong: booked=%s mode=%s state=%s lead=%s\n", map { $_ // '' } @$r{qw(booked mode state lead)}) unless $k->{outcome};
        $text .= "     field: $_\n" for @{ $k->{field_errors} };
        $text .= "     asked again: $_\n" for @{ $k->{repeated_what} };
        $text .= "     language: not all in $c->{expect}{lang}\n" unless $k->{language};
        $text .= "     offered slots back to back\n" unless $k->{spread};
        $text .= "     no answer to $k->{silent} text(s)\n" if $k->{silent};
        $text .= "       $_->[0]: $_->[1]\n" for @{ $r->{thread} };
    }
    my $pct = sub { $n ? sprintf('%.1f %%', 100 * ($_[0] // 0) / $n) : '-' };
    $text .= sprintf "\nconversations: %d\n", $n;
    $text .= sprintf "booked where expected: %d of %d\n", $sum{booked_right} // 0, $sum{booked_expected} // 0;
    $text .= sprintf "outcome right (booked / hand-off / out of area / closed / emergency / STOP): %d (%s)\n", $sum{outcome} // 0, $pct->($sum{outcome});
    $text .= sprintf "fields right (name, address, ZIP, problem, time preference): %d (%s)\n", $sum{fields} // 0, $pct->($sum{fields});
    $text .= sprintf "repeated questions: %d\n", $sum{repeated} // 0;
    $text .= sprintf "language right: %d (%s)\n", $sum{language} // 0, $pct->($sum{language});
    $text .= sprintf "offers spread out (no two starts of a day within an hour): %d (%s)\n", $sum{spread} // 0, $pct->($sum{spread});
    $text .= sprintf "hand-offs: %d (%d expected)\n", $sum{handoffs} // 0, $sum{handoffs_expected} // 0;
    $text .= sprintf "texts left unanswered: %d\n", $sum{silent} // 0;
    $text .= sprintf "every check right: %d of %d (%s)\n", $sum{all} // 0, $n, $pct->($sum{all});
    return ($text, $n ? ($sum{all} // 0) / $n : 0, $sum{repeated} // 0);
}

1;
