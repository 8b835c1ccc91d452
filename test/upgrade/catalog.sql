-- catalog.sql — a sorted text description of everything the nevermisscall
-- extension puts in a database: member objects, table shapes, constraints,
-- indexes, policies, function definitions and privileges, comments, roles,
-- pg_cron jobs and the rows of its reference tables. The upgrade check runs it
-- after "install the previous version + ALTER EXTENSION UPDATE" and after a fresh
-- install; any difference is an upgrade script that forgot something.
-- Privileges are compared as sets: an upgrade grants in another order.
\pset format unaligned
\pset tuples_only on
\pset footer off
WITH nsp AS (
    SELECT oid FROM pg_namespace WHERE nspname IN ('nmc', 'nmc_api')
), lines(line) AS (
    -- every object that belongs to the extension
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
    FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'nevermisscall' AND d.deptype = 'e'
    UNION ALL
    SELECT format('schema %s owner=%s acl=%s comment=%s', n.nspname, n.nspowner::regrole, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(n.nspacl) x),
                  obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM nsp)
    UNION ALL
    SELECT format('relation %s kind=%s owner=%s rls=%s force=%s acl=%s options=%s comment=%s',
                  c.oid::regclass, c.relkind, c.relowner::regrole, c.relrowsecurity, c.relforcerowsecurity,
                  (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x), c.reloptions, obj_description(c.oid, 'pg_class'))
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM nsp)
    UNION ALL
    SELECT format('column %s #%s %s %s notnull=%s default=%s identity=%s generated=%s acl=%s statistics=%s comment=%s',
                  a.attrelid::regclass,
                  row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x), a.attstattarget,
                  col_description(a.attrelid, a.attnum))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE c.relnamespace IN (SELECT oid FROM nsp) AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s on %s: %s comment=%s', co.conname, co.conrelid::regclass,
                  pg_get_constraintdef(co.oid), obj_description(co.oid, 'pg_constraint'))
    FROM pg_constraint co WHERE co.connamespace IN (SELECT oid FROM nsp)
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace IN (SELECT oid FROM nsp)
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace IN (SELECT oid FROM nsp) AND NOT t.tgisinternal
    UNION ALL
    SELECT format('policy %s on %s.%s %s roles=%s using=%s check=%s', p.policyname, p.schemaname, p.tablename,
                  p.cmd, p.roles, p.qual, p.with_check)
    FROM pg_policies p WHERE p.schemaname IN ('nmc', 'nmc_api')
    UNION ALL
    SELECT format('view %s: %s', c.oid::regclass, pg_get_viewdef(c.oid))
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM nsp) AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('function %s owner=%s acl=%s comment=%s def=%s', p.oid::regprocedure, p.proowner::regrole,
                  (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(p.proacl) x), obj_description(p.oid, 'pg_proc'), pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM nsp) AND p.prokind IN ('f', 'p', 'w')
    UNION ALL
    SELECT format('aggregate %s owner=%s', p.oid::regprocedure, p.proowner::regrole)
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM nsp) AND p.prokind = 'a'
    UNION ALL
    SELECT format('type %s kind=%s owner=%s comment=%s labels=%s domain=%s', t.oid::regtype, t.typtype,
                  t.typowner::regrole, obj_description(t.oid, 'pg_type'),
                  (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid),
                  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) || ' '
                       || coalesce((SELECT string_agg(pg_get_constraintdef(oid), ' ' ORDER BY conname)
                                    FROM pg_constraint WHERE contypid = t.oid), '') END)
    FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM nsp) AND t.typtype IN ('e', 'd', 'c', 'r')
      AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
    UNION ALL
    SELECT format('sequence %s start=%s inc=%s min=%s max=%s cycle=%s', s.seqrelid::regclass, s.seqstart,
                  s.seqincrement, s.seqmin, s.seqmax, s.seqcycle)
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace IN (SELECT oid FROM nsp)
    UNION ALL
    SELECT format('role %s login=%s super=%s bypassrls=%s inherit=%s member_of=%s settings=%s', r.rolname,
                  r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolinherit,
                  (SELECT string_agg(m.roleid::regrole::text, ',' ORDER BY m.roleid::regrole::text)
                   FROM pg_auth_members m WHERE m.member = r.oid),
                  (SELECT string_agg(x, ',' ORDER BY x) FROM pg_db_role_setting s, unnest(s.setconfig) x
                   WHERE s.setrole = r.oid))
    FROM pg_roles r WHERE r.rolname LIKE 'nmc\_%'
    UNION ALL
    SELECT format('cron %s %s %s', j.jobname, j.schedule, j.command)
    FROM cron.job j WHERE j.jobname LIKE 'nevermisscall%'
)
SELECT line FROM lines ORDER BY line COLLATE "C";
-- The rows an install ships (routes, trade types, words of danger, settings…):
-- every table's contents, sorted. Business data does not exist yet in either database.
-- Columns that hold the moment of the install, and secrets (random per install), are left out,
-- and so is system_state: pg_cron's health report writes it once a minute, whenever that falls.
SELECT format('SELECT (%L || '' '' || (CASE WHEN to_jsonb(t) @> ''{"is_secret": true}'' THEN to_jsonb(t) - ''value''
                       ELSE to_jsonb(t) END - %L::text[])::text) COLLATE "C" FROM %s t ORDER BY 1',
              c.oid::regclass, ARRAY['created_at', 'updated_at', 'changed_at'], c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'nmc' AND c.relkind IN ('r', 'p') AND c.relname <> 'system_state'
ORDER BY c.relname
\gexec
