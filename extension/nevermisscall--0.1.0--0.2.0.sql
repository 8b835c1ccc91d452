-- nevermisscall 0.1.0 → 0.2.0. Table changes are upgrade steps here; functions
-- changed since 0.1.0 are re-created from their sql/ files' current text.
-- test/upgrade/check.sh proves the result equals a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION nevermisscall UPDATE" to load this file. \quit
