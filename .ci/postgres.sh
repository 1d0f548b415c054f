#!/usr/bin/env bash
# A throwaway PostgreSQL for plughost's tests and benchmarks, from Debian's postgresql (any version).
#
#   eval "$(.ci/postgres.sh start DIR [PORT])"   initdb into DIR, start on 127.0.0.1:PORT (55432),
#                                                print `export PLUGHOST_TEST_POSTGRES_URL=…` and
#                                                `export PLUGHOST_TEST_POSTGRES_DIR=DIR`
#   .ci/postgres.sh restart DIR                  fast restart (the tests use it)
#   .ci/postgres.sh stop DIR                     stop it (DIR can then be removed)
#
# Run as root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail
cmd=${1:?usage: postgres.sh start|restart|stop DIR [PORT]}
dir=${2:?usage: postgres.sh start|restart|stop DIR [PORT]}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL server found; .ci/setup --postgres (or apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    printf 'plughost-test\n' >"$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
    as_pg "$bin/initdb" -D "$dir/data" -U plughost --pwfile="$dir/pwfile" -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=256MB" \
        start >/dev/null
    as_pg "$bin/createdb" -h "$dir" -p "$port" -U plughost plughost_test
    echo "export PLUGHOST_TEST_POSTGRES_URL=postgres://plughost:plughost-test@127.0.0.1:$port/plughost_test"
    echo "export PLUGHOST_TEST_POSTGRES_DIR=$dir"
    ;;
restart)
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null
    ;;
stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null || true
    ;;
*)
    echo "postgres.sh: unknown command $cmd" >&2; exit 2
    ;;
esac
