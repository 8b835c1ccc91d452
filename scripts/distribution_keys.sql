-- distribution_keys.sql — tenant tables (schema nmc, a business_id column) must carry
-- business_id in their primary key and every unique key, so that they can be distributed
-- by business (docs/scaling.md). This lists the keys that do not, less the exceptions
-- below: the one place where a key may stay global, each a value looked up before the
-- business is known, with why. It lists nothing (version 0.8.0); docs/scaling.md keeps the
-- same, empty, list and test/ops/distribution_keys.t fails when the two differ or the list
-- grows. psql -f scripts/distribution_keys.sql
WITH exceptions (table_name, key_name, why) AS (VALUES
    ('users', 'users_email_key',
     'log-in finds the user by email before the business is known (on Citus: a user_emails lookup table)'),
    ('phone_numbers', 'phone_numbers_phone_key',
     'a webhook names only the number called (To): it is how the business is found (on Citus: a phone_routes lookup table)'),
    ('user_devices', 'user_devices_token_hash_key',
     'a device token is shown at log-in, before the business is known'),
    ('push_subscriptions', 'push_subscriptions_endpoint_key',
     'a push service endpoint is one browser''s, world-wide: it can be subscribed for one business only')
),
tenant AS (
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
   AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.table_name = t.relname AND e.key_name = coalesce(con.conname, ic.relname))
 ORDER BY 1, 2;
