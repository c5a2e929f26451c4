#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1:5432 for the shared-gradebook tests and make
# the role they log in as (it may create and drop the tests' own databases).
# Needs root (it runs as `make test` does in CI); prints what to do otherwise.
set -euo pipefail
ROLE=week14 PASSWORD=week14
if [ -n "${WEEK14_TEST_PG:-}" ]; then
  echo "using the PostgreSQL server of WEEK14_TEST_PG"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  echo "PostgreSQL is not running on 127.0.0.1:5432: run 'sudo make postgres', or start"
  echo "your own server and set WEEK14_TEST_PG to a URL whose role has CREATEDB"
  exit 1
fi
cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1, $2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$version" main >/dev/null
  cluster="$version main"
fi
# shellcheck disable=SC2086  # "$cluster" is "VERSION NAME"
pg_ctlcluster $cluster start 2>/dev/null || pg_ctlcluster $cluster status >/dev/null
pg_isready -q -h 127.0.0.1 -p 5432 -t 60
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE $ROLE LOGIN CREATEDB' WHERE NOT EXISTS
  (SELECT FROM pg_roles WHERE rolname = '$ROLE') \gexec
ALTER ROLE $ROLE PASSWORD '$PASSWORD';
SQL
echo "PostgreSQL ready on 127.0.0.1:5432 (role $ROLE)"
