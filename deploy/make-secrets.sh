#!/bin/sh
# Creates the secrets compose needs, as files in deploy/secrets/ (or the folder given), each a
# random 64-character hex string. An existing file is never overwritten: run it again after adding
# a user or a service and only the new secrets appear. To rotate one, see deploy/README.md.
set -eu

dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir"
# Only the owner may look inside; the files themselves stay readable so that the containers'
# unprivileged users can read the copies compose mounts.
chmod 0700 "$dir"

random_secret() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

created=0
for name in signing_secret \
    broker_registry_password broker_tickets_password broker_events_password \
    broker_notifications_password broker_gateway_password broker_operator_password broker_admin_password \
    postgres_password postgres_registry_password postgres_tickets_password \
    postgres_events_password postgres_notifications_password; do
  [ -e "$dir/$name" ] && continue
  random_secret >"$dir/$name"
  chmod 0644 "$dir/$name"
  created=$((created + 1))
done
# Empty until a rotation: secrets still accepted besides signing_secret, comma-separated.
if [ ! -e "$dir/signing_secrets_previous" ]; then
  : >"$dir/signing_secrets_previous"
  chmod 0644 "$dir/signing_secrets_previous"
fi
echo "make-secrets: $created new secret(s) in $dir"
