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
# The registry's ID-card key, ID:BASE64 of 32 random bytes, made as key 2; the previous keys start
# with key 1, the development key every registry sealed with until deployments had a key of their
# own: numbers sealed under it are re-sealed under key 2 in the background, and `alliance
# id-card-keys` says when it can go (at once on a new installation). deploy/README.md, "Rotating
# the ID-card key".
if [ ! -e "$dir/registry_id_card_key" ]; then
  printf '2:%s' "$(dd if=/dev/urandom bs=32 count=1 2>/dev/null | base64 | tr -d '\n')" >"$dir/registry_id_card_key"
  chmod 0644 "$dir/registry_id_card_key"
  created=$((created + 1))
fi
if [ ! -e "$dir/registry_id_card_keys_previous" ]; then
  printf '1:ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k' >"$dir/registry_id_card_keys_previous"
  chmod 0644 "$dir/registry_id_card_keys_previous"
fi
echo "make-secrets: $created new secret(s) in $dir"
