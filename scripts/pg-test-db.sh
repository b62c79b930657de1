#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster (installing it when missing) and make sure the test
# role and database exist, then print the URL for GRIDPATROL_TEST_PG_URL. Idempotent: safe when
# the cluster already runs or the role/database already exist. Progress goes to stderr so
#   export GRIDPATROL_TEST_PG_URL=$(bash scripts/pg-test-db.sh)
# captures only the URL.
set -euo pipefail
ROLE=gridpatrol
PASSWORD=gridpatrol
DB=gridpatrol_test

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing postgresql…" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
VERSION=$(ls /etc/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start >&2
fi
# Wait until it accepts connections (start returns before that on slow machines).
for _ in $(seq 1 50); do
  su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
  psql_admin "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  su postgres -c "createdb -O $ROLE $DB" >&2
fi
echo "postgres://$ROLE:$PASSWORD@127.0.0.1:5432/$DB"
