-- 0.1.0 → 0.2.0, assembled by extension/Makefile into nevermisscall--0.1.0--0.2.0.sql:
-- table changes as upgrade steps, changed functions re-created, "--@include f" lines
-- replaced by sql/f.sql (files new in this version); sql/grants.sql follows.
-- test/upgrade/check.sh proves the result equals a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit

--@include sandbox
