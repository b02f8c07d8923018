#!/usr/bin/env bash
# PostgreSQL and Redis for the add-on brokers' end-to-end tests
# (plugins/brokers/postgres, plugins/brokers/redis, core/addons).
#
# Installs Debian's postgresql and redis-server when missing and starts both
# when they are not running, without systemd, on loopback and on the dyno
# bridge's host address (10.247.0.1, the runc runtime's default paasd0
# bridge, created here when missing) so that apps in runc dynos reach them
# at the public_host the brokers write into DATABASE_URL and REDIS_URL;
# nothing listens on other interfaces:
#   - PostgreSQL: the Debian cluster (pg_ctlcluster VERSION main start),
#     created with pg_createcluster if missing; listen_addresses
#     'localhost,10.247.0.1' (conf.d/paasd-test.conf) and pg_hba allowing
#     password (scram) logins from 10.247.0.0/16. A non-superuser admin role
#     "paasd_admin" (CREATEDB CREATEROLE, member of pg_signal_backend: what
#     the broker needs) is created with a random password.
#   - Redis: redis-server --daemonize yes --bind 127.0.0.1 -::1 10.247.0.1
#     --port 6379, with an ACL file (/var/lib/paasd-test/redis/users.acl)
#     holding an admin user "paasd-admin" with a random password; the
#     default user is off.
#
# The admin URLs are written to /etc/paasd/test-services.env:
#   PAASD_TEST_POSTGRES_URL=postgres://paasd_admin:…@127.0.0.1:5432/postgres
#   PAASD_TEST_REDIS_URL=redis://paasd-admin:…@127.0.0.1:6379
# Tests read the environment variables first, then that file
# (internal/testenv.Postgres / testenv.Redis). Idempotent: a second run
# keeps the passwords and leaves running servers alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=00-apt.sh
. "$here/00-apt.sh"

if [ "$(id -u)" != 0 ]; then
  echo "setup: 20-postgres-redis: not root; add-on broker end-to-end tests will skip" >&2
  exit 0
fi

apt_need postgresql redis-server openssl

envfile=/etc/paasd/test-services.env
state=/var/lib/paasd-test
mkdir -p /etc/paasd "$state/redis"
chmod 700 "$state" "$state/redis"

# Existing secrets survive a re-run.
pg_pw="" redis_pw=""
if [ -f "$envfile" ]; then
  pg_pw="$(sed -n 's|^PAASD_TEST_POSTGRES_URL=postgres://paasd_admin:\([^@]*\)@.*|\1|p' "$envfile")"
  redis_pw="$(sed -n 's|^PAASD_TEST_REDIS_URL=redis://paasd-admin:\([^@]*\)@.*|\1|p' "$envfile")"
fi
[ -n "$pg_pw" ] || pg_pw="$(openssl rand -hex 16)"
[ -n "$redis_pw" ] || redis_pw="$(openssl rand -hex 16)"

# ---- The dyno bridge's host address ----
# The runc runtime creates the same bridge on its first dyno (and keeps an
# existing one); creating it first lets the servers bind its address.
bridge=paasd0 bridge_ip=10.247.0.1
if ! ip link show "$bridge" >/dev/null 2>&1; then
  ip link add "$bridge" type bridge
fi
ip addr replace "$bridge_ip/16" dev "$bridge"
ip link set "$bridge" up

# ---- PostgreSQL ----
pgver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk -v v="$pgver" '$1==v && $2=="main"' | grep -q .; then
  pg_createcluster "$pgver" main >/dev/null
fi
pgconf="/etc/postgresql/$pgver/main"
listen="listen_addresses = 'localhost,$bridge_ip'"
pg_restart=""
if ! grep -qxF "$listen" "$pgconf/conf.d/paasd-test.conf" 2>/dev/null; then
  mkdir -p "$pgconf/conf.d"
  echo "$listen" >"$pgconf/conf.d/paasd-test.conf"
  pg_restart=1
fi
hba="host    all             all             10.247.0.0/16           scram-sha-256"
if ! grep -qxF "$hba" "$pgconf/pg_hba.conf"; then
  echo "$hba" >>"$pgconf/pg_hba.conf"
  pg_restart=1
fi
if [ -n "$pg_restart" ] && pg_lsclusters -h | awk -v v="$pgver" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
  pg_ctlcluster "$pgver" main restart
fi
if ! pg_lsclusters -h | awk -v v="$pgver" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
  pg_ctlcluster "$pgver" main start
fi
pgport="$(pg_lsclusters -h | awk -v v="$pgver" '$1==v && $2=="main" {print $3}')"
for _ in $(seq 1 60); do
  runuser -u postgres -- psql -p "$pgport" -qAtc 'select 1' >/dev/null 2>&1 && break
  sleep 0.5
done
runuser -u postgres -- psql -p "$pgport" -v ON_ERROR_STOP=1 -q -v pw="$pg_pw" <<'SQL'
SELECT format('CREATE ROLE paasd_admin LOGIN CREATEDB CREATEROLE PASSWORD %L', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'paasd_admin') \gexec
SELECT format('ALTER ROLE paasd_admin LOGIN CREATEDB CREATEROLE PASSWORD %L', :'pw') \gexec
SET client_min_messages = warning;
GRANT pg_signal_backend TO paasd_admin;
SQL

# ---- Redis ----
acl="$state/redis/users.acl"
# The default user is off and has a password nobody knows: with "nopass",
# Redis's protected mode would refuse every non-loopback client, dynos
# included.
if [ ! -s "$acl" ] || ! grep -q "^user paasd-admin " "$acl" || grep -q "^user default .*nopass" "$acl"; then
  hash="$(printf '%s' "$redis_pw" | sha256sum | cut -d' ' -f1)"
  nobody="$(openssl rand -hex 32 | sha256sum | cut -d' ' -f1)"
  {
    [ -f "$acl" ] && grep -v -e '^user paasd-admin ' -e '^user default ' "$acl" || true
    echo "user default off #$nobody resetchannels -@all"
    echo "user paasd-admin on #$hash ~* &* +@all"
  } >"$acl.new"
  mv "$acl.new" "$acl"
  chmod 600 "$acl"
  # A running server started from this file picks the change up.
  redis-cli -h 127.0.0.1 -p 6379 --user paasd-admin --pass "$redis_pw" --no-auth-warning ACL LOAD >/dev/null 2>&1 || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 --user paasd-admin --pass "$redis_pw" --no-auth-warning PING 2>/dev/null | grep -q PONG; then
  if ! (echo >/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    # Debian's package may have started its own server where systemd runs;
    # it is then on 6379 and this branch is skipped.
    redis-server --daemonize yes --bind "127.0.0.1 -::1 $bridge_ip" --port 6379 \
      --protected-mode yes --dir "$state/redis" --aclfile "$acl" \
      --save "" --appendonly no --logfile "$state/redis/redis.log" \
      --pidfile "$state/redis/redis.pid"
  fi
  for _ in $(seq 1 60); do
    redis-cli -h 127.0.0.1 -p 6379 --user paasd-admin --pass "$redis_pw" --no-auth-warning PING 2>/dev/null | grep -q PONG && break
    sleep 0.5
  done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 --user paasd-admin --pass "$redis_pw" --no-auth-warning PING 2>/dev/null | grep -q PONG; then
  # Another server (e.g. Debian's own, started by systemd) holds 6379 with
  # an open default user: add the admin there, for this server's lifetime.
  if redis-cli -h 127.0.0.1 -p 6379 ACL SETUSER paasd-admin on ">$redis_pw" '~*' '&*' +@all 2>/dev/null | grep -q OK; then
    echo "setup: 20-postgres-redis: added paasd-admin to the Redis already on 6379 (not persisted)" >&2
  else
    echo "setup: 20-postgres-redis: a Redis on 127.0.0.1:6379 refuses paasd-admin; stop it or add the user from $acl" >&2
  fi
fi

# A running server (started by an older version of this script) learns the
# bridge address without a restart.
redis-cli -h 127.0.0.1 -p 6379 --user paasd-admin --pass "$redis_pw" --no-auth-warning \
  CONFIG SET bind "127.0.0.1 -::1 $bridge_ip" >/dev/null 2>&1 || true

umask 077
cat >"$envfile.new" <<EOF
# Written by scripts/setup.d/20-postgres-redis.sh: admin URLs of the loopback
# PostgreSQL and Redis used by the add-on broker tests.
PAASD_TEST_POSTGRES_URL=postgres://paasd_admin:$pg_pw@127.0.0.1:$pgport/postgres
PAASD_TEST_REDIS_URL=redis://paasd-admin:$redis_pw@127.0.0.1:6379
EOF
mv "$envfile.new" "$envfile"
echo "setup: PostgreSQL $pgver on 127.0.0.1:$pgport and $bridge_ip:$pgport, Redis on 127.0.0.1:6379 and $bridge_ip:6379; admin URLs in $envfile"
