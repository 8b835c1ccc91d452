-- roles.sql — the cluster-wide roles the extension relies on (created once, guarded).
-- nmc_owner owns the tables and is itself subject to row-level security;
-- nmc_api owns the SECURITY DEFINER API functions; nmc_auth owns the few
-- functions that must look a user up before the tenant is known (login);
-- nmc_monitor owns the few functions that report on the whole system (the
-- job queue for /metrics and the status page), never on one tenant's data;
-- nmc_edge is the only login role and may only execute the nmc_api schema.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_owner') THEN
        CREATE ROLE nmc_owner NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_api') THEN
        CREATE ROLE nmc_api NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_auth') THEN
        CREATE ROLE nmc_auth NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_monitor') THEN
        CREATE ROLE nmc_monitor NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nmc_edge') THEN
        CREATE ROLE nmc_edge LOGIN NOBYPASSRLS;
    END IF;
END
$roles$;
