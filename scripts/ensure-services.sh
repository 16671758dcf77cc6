#!/usr/bin/env bash
# Start the local PostgreSQL and Mosquitto the test suite uses, if they are not running.
set -uo pipefail
up() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 30); do up "$1" && return 0; sleep 1; done; return 1; }
if ! up 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
if ! up 1883; then
  echo "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
  wait_for 1883 || { echo "Mosquitto did not start" >&2; exit 1; }
fi
exit 0
