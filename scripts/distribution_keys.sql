-- distribution_keys.sql — the distribution work still to do: tenant tables (schema nmc,
-- a business_id column) whose primary key or unique indexes lack business_id, which
-- Citus would refuse to distribute by business (docs/scaling.md keeps this list;
-- test/ops/distribution_keys.t checks the two agree). psql -f scripts/distribution_keys.sql
WITH tenant AS (
    SELECT c.oid, c.relname, a.attnum AS bid
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'nmc'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'business_id' AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p')
)
SELECT t.relname AS table_name,
       coalesce(con.conname, ic.relname) AS key_name,
       CASE WHEN i.indisprimary THEN 'primary key' WHEN con.contype = 'u' THEN 'unique constraint' ELSE 'unique index' END AS kind,
       pg_get_indexdef(i.indexrelid) AS definition
  FROM tenant t
  JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u')
 WHERE NOT (t.bid = ANY (i.indkey::int2[]))
 ORDER BY 1, 2;
