#!/usr/bin/env perl
# assemble.pl — builds nevermisscall--A--B.sql from upgrades/A--B.sql (called by
# extension/Makefile). Directives, each on a line of its own:
#   --@include NAME            the whole of sql/<domain>/NAME.sql (a file new in this version)
#   --@replace NAME FUNCTION   the CREATE FUNCTION statement of FUNCTION (schema-qualified,
#                              e.g. nmc.lead_json) from sql/<domain>/NAME.sql and the COMMENT ON
#                              FUNCTION after it, as CREATE OR REPLACE: its current text
# Everything else is copied as written (table changes, new rows, drops).
use strict;
use warnings;

my ($steps, $sqldir) = @ARGV;
die "usage: assemble.pl upgrades/A--B.sql ../sql\n" unless $sqldir;

sub slurp { my $f = shift; open my $fh, '<', $f or die "$f: $!\n"; local $/; my $t = <$fh>; close $fh; $t }

# sql/<domain>/NAME.sql: a file's name is unique across the domain folders.
sub sql_file {
    my $name = shift;
    my @found = glob("$sqldir/*/$name.sql");
    die "assemble.pl: sql/*/$name.sql: " . (@found ? "more than one\n" : "no such file\n") unless @found == 1;
    return $found[0];
}

# The statement from "CREATE FUNCTION <name>(" to the line ending its body ("$$;",
# or "AS '...';" for C), then the COMMENT ON FUNCTION statement right after it.
sub function_text {
    my ($file, $name) = @_;
    my @lines = split /^/, slurp(sql_file($file));
    my $start = (grep { $lines[$_] =~ /^CREATE FUNCTION \Q$name\E\(/ } 0 .. $#lines)[0];
    die "assemble.pl: no CREATE FUNCTION $name( in sql/*/$file.sql\n" unless defined $start;
    my ($i, $out, $tag) = ($start, '', undef);
    for (; $i <= $#lines; $i++) {
        $out .= $lines[$i];
        # The body ends where its own dollar quote ($$, $build$, …) closes.
        if (!defined $tag && $lines[$i] =~ /\bAS\s+(\$[A-Za-z_]*\$)/) {
            $tag = $1;
            last if $lines[$i] =~ /\Q$tag\E.*\Q$tag\E;\s*$/;
            next;
        }
        last if defined $tag && $lines[$i] =~ /\Q$tag\E;\s*$/;
        last if !defined $tag && $lines[$i] =~ /^AS '.*';\s*$/;
    }
    $i++;
    die "assemble.pl: $name in sql/*/$file.sql has no COMMENT ON FUNCTION right after it\n"
        unless $i <= $#lines && $lines[$i] =~ /^COMMENT ON FUNCTION \Q$name\E\(/;
    for (; $i <= $#lines; $i++) {
        $out .= $lines[$i];
        last if $lines[$i] =~ /';\s*$/;
    }
    $out =~ s/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/;
    return $out;
}

for my $line (split /^/, slurp($steps)) {
    if ($line =~ /^--\@include ([a-z_]+)\s*$/) {
        print slurp(sql_file($1));
    } elsif ($line =~ /^--\@replace ([a-z_]+) ([a-z_]+\.[a-z_0-9]+)\s*$/) {
        print function_text($1, $2);
    } elsif ($line =~ /^--\@/) {
        die "assemble.pl: unknown directive: $line";
    } else {
        print $line;
    }
}
