-- The roles and database of lxr on an external PostgreSQL. Run as a superuser (or a role with
-- CREATEROLE and CREATEDB):
--   psql -v lxr_password=… -v readonly_password=… -U postgres -f roles.sql
\set ON_ERROR_STOP on

-- The services' role: logs in, owns the lxr database (its migrations create the schemas), nothing more.
CREATE ROLE lxr LOGIN PASSWORD :'lxr_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 400;
CREATE DATABASE lxr OWNER lxr ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE lxr FROM PUBLIC;

\connect lxr
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO lxr;

-- Optional: read-only access for dashboards, to every table lxr creates now or later.
CREATE ROLE lxr_readonly LOGIN PASSWORD :'readonly_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 20;
GRANT CONNECT ON DATABASE lxr TO lxr_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE lxr GRANT USAGE ON SCHEMAS TO lxr_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE lxr GRANT SELECT ON TABLES TO lxr_readonly;
ALTER ROLE lxr_readonly SET default_transaction_read_only = on;
