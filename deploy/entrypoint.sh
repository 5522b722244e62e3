#!/bin/sh
# The image's entrypoint: its first argument says what the container runs.
#
#   registry | tickets | events | notifications | gateway
#                                                  one service, until SIGTERM (then it finishes the
#                                                  work in flight and exits 0)
#   migrate                                        every service's pending migrations, then exit
#   alliance ARG...                                the operator command line (ops image only)
#
# Secrets arrive as files (compose and Kubernetes mount them) while the platform reads environment
# variables, so before starting anything:
#   <VAR>_FILE           sets VAR to the file's content, for ALLIANCE_TOKEN_PUBLIC_KEYS (the
#                        public key set), ALLIANCE_SIGNING_KEY (the service's own private key),
#                        ALLIANCE_PEOPLE_SIGNING_KEY (the people issuer's: registry, operator)
#                        and REGISTRY_SIGN_IN_CODE_SECRET;
#   <URL>_PASSWORD_FILE  puts the file's content into the URL held by URL as its password
#                        (percent-encoded), for AMQP_URI, <SERVICE>_DATABASE_URL and
#                        <SERVICE>_READ_DATABASE_URL (a standby; give it the same file) — one secret
#                        per password, shared with the broker definitions and the database init.
# The gateway takes only AMQP_URI's password: it has no database, and it needs no key at all
# (it verifies no token: the service it calls does).
#
# The image sets ALLIANCE_ENV=production: the platform then refuses the committed development keys
# (alliance_platform/keys.py), and a service is not started without the secrets whose defaults are
# for development only (production_needs below) — a deployment that forgot one fails at once.
set -eu

SERVICES="registry tickets events notifications gateway"
FILE_VARS="ALLIANCE_TOKEN_PUBLIC_KEYS ALLIANCE_SIGNING_KEY ALLIANCE_PEOPLE_SIGNING_KEY REGISTRY_SIGN_IN_CODE_SECRET
  REGISTRY_ID_CARD_KEY REGISTRY_ID_CARD_KEYS_PREVIOUS"
URL_VARS="AMQP_URI REGISTRY_DATABASE_URL TICKETS_DATABASE_URL EVENTS_DATABASE_URL NOTIFICATIONS_DATABASE_URL
  REGISTRY_READ_DATABASE_URL TICKETS_READ_DATABASE_URL EVENTS_READ_DATABASE_URL NOTIFICATIONS_READ_DATABASE_URL"

usage() {
  cat >&2 <<USAGE
usage: entrypoint.sh registry|tickets|events|notifications|gateway   run one service
       entrypoint.sh migrate                                          apply all pending migrations
       entrypoint.sh alliance [ARG...]                                the operator CLI (ops image; alliance --help)
USAGE
}

fail() {
  echo "entrypoint: $*" >&2
  exit 2
}

# The value of the variable named $1 ("" when unset).
value_of() {
  eval "printf '%s' \"\${$1:-}\""
}

# The variables (or their _FILE) service $1 must be given in production: those whose defaults in
# its config.yaml are development values. Its identity keys are checked by the platform itself.
production_needs() {
  case "$1" in
    registry) echo "REGISTRY_SIGN_IN_CODE_SECRET REGISTRY_ID_CARD_KEY" ;;
    *) echo "" ;;
  esac
}

read_secret() {
  [ -r "$2" ] || fail "$1 names $2, which is not a readable file"
  cat "$2"
}

for var in $FILE_VARS; do
  file=$(value_of "${var}_FILE")
  [ -n "$file" ] || continue
  [ -z "$(value_of "$var")" ] || fail "set $var or ${var}_FILE, not both"
  secret=$(read_secret "${var}_FILE" "$file")
  export "$var=$secret"
done

for var in $URL_VARS; do
  file=$(value_of "${var}_PASSWORD_FILE")
  [ -n "$file" ] || continue
  url=$(value_of "$var")
  [ -n "$url" ] || fail "${var}_PASSWORD_FILE is set but $var is not"
  password=$(read_secret "${var}_PASSWORD_FILE" "$file")
  url=$(python - "$var" "$url" "$password" <<'PY'
import sys
from urllib.parse import quote, urlsplit, urlunsplit

name, urls, password = sys.argv[1:]


def with_password(url):
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or not userinfo:
        sys.exit(f"entrypoint: {name} must name its user (scheme://user@host/...) to take a password")
    if ":" in userinfo:
        sys.exit(f"entrypoint: {name} already holds a password; remove it or the _PASSWORD_FILE")
    return urlunsplit(parts._replace(netloc=f"{userinfo}:{quote(password, safe='')}@{host}"))


# AMQP_URI may name several broker nodes (kombu's failover syntax, ";" between URLs): each one
# gets the password. A PostgreSQL multi-host URL is one URL (hosts separated by ","): as it is.
print(";".join(with_password(url) for url in urls.split(";")))
PY
) || exit 2
  export "$var=$url"
done

command=${1:-}
[ $# -eq 0 ] || shift
case "$command" in
  alliance)
    command -v alliance >/dev/null 2>&1 ||
      fail "the operator command is in the ops image (docker build --target ops), not in a service image"
    exec alliance "$@"
    ;;
  migrate)
    [ $# -eq 0 ] || fail "migrate takes no arguments (it migrates every service)"
    exec alliance-migrate
    ;;
  "")
    usage
    exit 2
    ;;
esac
for service in $SERVICES; do
  if [ "$command" = "$service" ]; then
    [ $# -eq 0 ] || fail "$service takes no arguments; configure it through the environment"
    if [ "$(value_of ALLIANCE_ENV)" = production ]; then
      for var in $(production_needs "$service"); do
        [ -n "$(value_of "$var")" ] ||
          fail "ALLIANCE_ENV=production: $service needs $var (or ${var}_FILE); its default is a development value"
      done
    fi
    exec alliance-service "$service"
  fi
done
echo "entrypoint: unknown command '$command'" >&2
usage
exit 2
