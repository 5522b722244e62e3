#!/bin/sh
# Creates the secrets compose needs, as files in deploy/secrets/ (or the folder given):
#   broker_*_password, postgres_*_password, sign_in_code_secret   a random 64-character hex string each;
#   signing_key_people, signing_key_<service>   an Ed25519 private key (PEM) per signer of identity
#                                               tokens: the people issuer and each service;
#   token_public_keys                           the public key set (JWKS) every service verifies with,
#                                               built from public/<kid>.jwk.json (one file per public key).
# An existing secret is never overwritten: run it again after adding a user or a service and only
# the new secrets appear (a new key's public half joins token_public_keys).
#
#   make-secrets.sh [DIR]                    create what is missing
#   make-secrets.sh --new-key SIGNER [DIR]   rotation: a new pair for SIGNER (people or a service),
#                                            private key in DIR/next/, public key in the set now
#
# Rotation, step by step: deploy/README.md, "Identity keys". The keys come from openssl (1.1.1 or
# later) or, where it has no Ed25519 (LibreSSL), from `alliance keys generate`.
set -eu

SERVICES="registry tickets events notifications"
SIGNERS="people $SERVICES"

fail() {
  echo "make-secrets: $*" >&2
  exit 2
}

new_key=""
if [ "${1:-}" = "--new-key" ]; then
  [ $# -ge 2 ] || fail "usage: make-secrets.sh --new-key people|registry|tickets|events|notifications [DIR]"
  new_key=$2
  shift 2
  case " $SIGNERS " in
    *" $new_key "*) ;;
    *) fail "--new-key takes one of: $SIGNERS (not '$new_key')" ;;
  esac
fi

dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir/public"
# Only the owner may look inside; the files themselves stay readable so that the containers'
# unprivileged users can read the copies compose mounts.
chmod 0700 "$dir"

random_secret() {
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

# The signer a key signs as: "people", or "service:<name>".
signer_of() {
  if [ "$1" = people ]; then echo people; else echo "service:$1"; fi
}

# An Ed25519 pair for signer name $1: the private key (PKCS#8 PEM) at $2, its public key (JWK with
# kid and signer) in public/<kid>.jwk.json. The key id is the one `alliance keys generate` makes.
generate_pair() {
  signer=$(signer_of "$1")
  kid="$(echo "$signer" | tr ':' '-')-$(date -u +%Y%m%d)-$(od -An -tx1 -N3 /dev/urandom | tr -d ' \n')"
  rm -f "$2.new"
  if command -v openssl >/dev/null 2>&1 && openssl genpkey -algorithm ed25519 -out "$2.new" 2>/dev/null; then
    # The raw public key is the last 32 bytes of its DER SubjectPublicKeyInfo; JWK's x is base64url.
    x=$(openssl pkey -in "$2.new" -pubout -outform DER | tail -c 32 | base64 | tr '+/' '-_' | tr -d '=\n')
    printf '{"kty": "OKP", "crv": "Ed25519", "x": "%s", "kid": "%s", "use": "sig", "alg": "EdDSA", "signer": "%s"}\n' \
      "$x" "$kid" "$signer" >"$dir/public/$kid.jwk.json"
  elif command -v alliance >/dev/null 2>&1; then
    rm -f "$2.new"
    scratch=$(mktemp -d)
    alliance keys generate "$1" --kid "$kid" --out "$scratch" >/dev/null
    mv "$scratch/signing_key_$1" "$2.new"
    mv "$scratch/signing_key_$1.jwk.json" "$dir/public/$kid.jwk.json"
    rmdir "$scratch"
  else
    rm -f "$2.new"
    fail "no Ed25519 key generator: install OpenSSL 1.1.1 or later, or run this where \`alliance\` is (the ops image)"
  fi
  chmod 0644 "$2.new"
  mv "$2.new" "$2"
  echo "make-secrets: $1 key $kid"
}

created=0
for name in sign_in_code_secret \
    broker_registry_password broker_tickets_password broker_events_password \
    broker_notifications_password broker_gateway_password broker_operator_password broker_admin_password \
    postgres_password postgres_registry_password postgres_tickets_password \
    postgres_events_password postgres_notifications_password; do
  [ -e "$dir/$name" ] && continue
  random_secret >"$dir/$name"
  chmod 0644 "$dir/$name"
  created=$((created + 1))
done
# The registry's ID-card key (ID:BASE64 of 32 random bytes): key 2 of its own seals; key 1, the
# development key every earlier deployment sealed with, is still held to re-seal from (deploy/README.md,
# "Rotating the ID-card key").
if [ ! -e "$dir/registry_id_card_key" ]; then
  printf '2:%s' "$(dd if=/dev/urandom bs=32 count=1 2>/dev/null | base64 | tr -d '\n')" >"$dir/registry_id_card_key"
  chmod 0644 "$dir/registry_id_card_key"
  created=$((created + 1))
fi
if [ ! -e "$dir/registry_id_card_keys_previous" ]; then
  printf '1:ZGV2LW9ubHktaWQtY2FyZC1rZXktbm90LWZvci1wcm9k' >"$dir/registry_id_card_keys_previous"
  chmod 0644 "$dir/registry_id_card_keys_previous"
fi
for name in $SIGNERS; do
  [ -e "$dir/signing_key_$name" ] && continue
  generate_pair "$name" "$dir/signing_key_$name"
  created=$((created + 1))
done
if [ -n "$new_key" ]; then
  mkdir -p "$dir/next"
  chmod 0700 "$dir/next"
  [ ! -e "$dir/next/signing_key_$new_key" ] ||
    fail "$dir/next/signing_key_$new_key exists: a rotation of $new_key is under way (deploy/README.md)"
  generate_pair "$new_key" "$dir/next/signing_key_$new_key"
  created=$((created + 1))
fi

# The public key set: every public/*.jwk.json, in the order of their key ids. Rewritten only when
# it changes (a key added here, or a file an operator added or removed in public/).
{
  printf '{"keys": [\n'
  separator=""
  for jwk in "$dir"/public/*.jwk.json; do
    [ -e "$jwk" ] || continue
    printf '%s' "$separator"
    cat "$jwk"
    separator=","
  done
  printf ']}\n'
} >"$dir/token_public_keys.new"
if [ -e "$dir/token_public_keys" ] && cmp -s "$dir/token_public_keys.new" "$dir/token_public_keys"; then
  rm "$dir/token_public_keys.new"
else
  chmod 0644 "$dir/token_public_keys.new"
  mv "$dir/token_public_keys.new" "$dir/token_public_keys"
  echo "make-secrets: token_public_keys rewritten from $dir/public/ — distribute it to every service"
fi
echo "make-secrets: $created new secret(s) in $dir"
