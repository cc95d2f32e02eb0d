-- Warehouse security, step 2: parkops_pipeline owns the warehouse schemas and every object in
-- them (PostgreSQL only; see 10_roles.sql).
--
-- The DDL (sql/ddl) is usually first applied by a deployment or admin user, so its objects
-- belong to that user; this hands them over. Set-based over the catalog, so objects added by
-- later DDL are handed over on the next run; objects the group already owns are left alone.
-- Sequences owned by a column (serial/identity) follow their table and are skipped.
-- Objects created later by a pipeline login running as the group (ALTER ROLE ... SET role =
-- parkops_pipeline) belong to the group from the start.

do $$
declare
    item record;
begin
    for item in
        select n.nspname
        from pg_catalog.pg_namespace as n
        where n.nspname in ('raw', 'staging', 'core', 'mart', 'ops')
            and pg_catalog.pg_get_userbyid(n.nspowner) <> 'parkops_pipeline'
    loop
        execute format('alter schema %I owner to parkops_pipeline', item.nspname);
    end loop;

    for item in
        select
            n.nspname,
            c.relname,
            case c.relkind
                when 'v' then 'view'
                when 'm' then 'materialized view'
                when 'S' then 'sequence'
                when 'f' then 'foreign table'
                else 'table'
            end as kind
        from pg_catalog.pg_class as c
        join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'core', 'mart', 'ops')
            and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
            and pg_catalog.pg_get_userbyid(c.relowner) <> 'parkops_pipeline'
            and not (
                c.relkind = 'S'
                and exists (
                    select from pg_catalog.pg_depend as d
                    where d.classid = 'pg_catalog.pg_class'::regclass
                        and d.objid = c.oid
                        and d.deptype in ('a', 'i')
                )
            )
    loop
        execute format('alter %s %I.%I owner to parkops_pipeline', item.kind, item.nspname, item.relname);
    end loop;

    for item in
        select p.oid::regprocedure as routine
        from pg_catalog.pg_proc as p
        join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
        where n.nspname in ('raw', 'staging', 'core', 'mart', 'ops')
            and pg_catalog.pg_get_userbyid(p.proowner) <> 'parkops_pipeline'
    loop
        execute format('alter routine %s owner to parkops_pipeline', item.routine);
    end loop;
end
$$;
