#!/usr/bin/env bash
# Local S3 server (S3Proxy, filesystem backend) + a local IBM IAM token endpoint + the IAM front.
#
#   bash dev/s3.sh start    start all three in the background (idempotent), wait until they
#                           answer, create bucket `orderflow`, write .run/s3/s3.env
#   bash dev/s3.sh stop     stop all three (SIGTERM, SIGKILL after a timeout)
#   bash dev/s3.sh status   exit 0 when all three run, 3 when not
#
# S3:        http://127.0.0.1:9000, S3Proxy 2.6.0 (org.gaul:s3proxy, jar-with-dependencies, from
#            Maven Central into dev/.cache/s3proxy/ via dev/s3proxy/pom.xml), path-style, objects in
#            .run/s3/data/ (kept across restarts). It checks every request's AWS signature (v2 or
#            v4) against the generated HMAC pair: a wrong secret gets 403 SignatureDoesNotMatch.
# IAM:       http://127.0.0.1:9001/identity/token (dev/iam.ts): issues tokens for the generated API
#            key, lifetime IAM_TOKEN_LIFETIME seconds.
# IAM front: http://127.0.0.1:9002 (dev/iam_front.ts), the endpoint for IAM-mode clients
#            (COS_IAM_ENDPOINT in s3.env): refuses missing, unknown and expired bearer tokens with
#            403 AccessDenied as COS does, forwards the rest to S3Proxy re-signed with the HMAC
#            pair. S3Proxy cannot check IAM tokens itself; one S3Proxy serves both auth modes.
# Credentials (HMAC pair, IAM API key, service instance id, token signing key) are generated once
# into .run/s3/. Needs Java 17+, Maven (first run), curl, openssl and the pinned Deno.
#
# Environment: S3_START_TIMEOUT (seconds, default 60), S3_STOP_TIMEOUT (default 10),
# IAM_TOKEN_LIFETIME (seconds, default 3600), S3PROXY_HEAP_OPTS (default "-Xmx256m").
# A second, independent server (tests stop one without touching the shared one): S3_RUN_DIR
# (state dir, default .run/s3), S3_PORT (9000), IAM_PORT (9001), IAM_FRONT_PORT (9002).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/dev"
RUN="${S3_RUN_DIR:-$ROOT/.run/s3}"
[[ "$RUN" == /* ]] || RUN="$PWD/$RUN"
POM="$DEV/s3proxy/pom.xml"
LIBS="$DEV/.cache/s3proxy"
S3_PORT="${S3_PORT:-9000}"
IAM_PORT="${IAM_PORT:-9001}"
FRONT_PORT="${IAM_FRONT_PORT:-9002}"
TOKEN_LIFETIME="${IAM_TOKEN_LIFETIME:-3600}"
HEAP_OPTS="${S3PROXY_HEAP_OPTS:--Xmx256m}"
BUCKET=orderflow
DATA="$RUN/data"
CONF="$RUN/s3proxy.conf"
S3PROXY_PID="$RUN/s3proxy.pid"
IAM_PID="$RUN/iam-token.pid"
FRONT_PID="$RUN/iam-front.pid"
SECRETS="$RUN/secrets.env"
API_KEY_FILE="$RUN/api_key"
TOKEN_KEY_FILE="$RUN/token_key"
S3_ENV="$RUN/s3.env"
START_TIMEOUT="${S3_START_TIMEOUT:-60}"
START_TIMEOUT_VAR=S3_START_TIMEOUT
STOP_TIMEOUT="${S3_STOP_TIMEOUT:-10}"

SERVICE=s3
INSTALL_PACKAGES="openjdk-17-jre-headless maven curl openssl"
# shellcheck source=dev/_service.sh
. "$DEV/_service.sh"

# The S3Proxy jar, resolved once (again when the pom changes).
ensure_jar() { ensure_maven_deps "$POM" "$LIBS" S3Proxy -DexcludeTransitive=true; }

jar() {
  if [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_hash)" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || require_tools mvn
  log "resolving S3Proxy from Maven Central into dev/.cache/s3proxy (first run only)..."
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DexcludeTransitive=true -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "cannot resolve S3Proxy: mvn dependency:copy-dependencies failed (see output above)
  check that Maven Central (repo.maven.apache.org) is reachable"
  fi
  pom_hash >"$tmp/.complete"
  rm -rf "$LIBS"
  mkdir -p "$(dirname "$LIBS")"
  mv "$tmp" "$LIBS"
}

jar() {
  local found=("$LIBS"/s3proxy-*-jar-with-dependencies.jar)
  [[ -f "${found[0]}" ]] || die "cannot find the S3Proxy jar in ${LIBS#"$ROOT/"}
  delete dev/.cache/s3proxy and run \`bash dev/s3.sh start\` again"
  printf '%s\n' "${found[0]}"
}

deno_bin() { printf '%s/deno\n' "$(bash "$DEV/deno.sh" --bin-dir)"; }

random_hex() { openssl rand -hex "$1"; }

# HMAC pair, IAM API key, service instance id and token signing key, generated once and reused.
ensure_secrets() {
  if [[ ! -s "$SECRETS" ]]; then
    (
      umask 077
      {
        printf 'COS_HMAC_ACCESS_KEY_ID=%s\n' "$(random_hex 16)"
        printf 'COS_HMAC_SECRET_ACCESS_KEY=%s\n' "$(random_hex 24)"
        printf 'COS_API_KEY=%s\n' "$(random_hex 22)"
        printf 'COS_INSTANCE_ID=crn:v1:bluemix:public:cloud-object-storage:global:a/%s:%s::\n' \
          "$(random_hex 16)" "$(cat /proc/sys/kernel/random/uuid)"
      } >"$SECRETS.tmp"
      mv "$SECRETS.tmp" "$SECRETS"
    )
    log "generated HMAC keys, IAM API key and instance id in ${SECRETS#"$ROOT/"}"
  fi
  if [[ ! -s "$TOKEN_KEY_FILE" ]]; then
    (umask 077 && random_hex 32 >"$TOKEN_KEY_FILE.tmp" && mv "$TOKEN_KEY_FILE.tmp" "$TOKEN_KEY_FILE")
  fi
  # shellcheck source=/dev/null
  source "$SECRETS"
  (umask 077 && printf '%s\n' "$COS_API_KEY" >"$API_KEY_FILE")
}

write_conf() {
  (
    umask 077
    cat >"$CONF.tmp" <<EOF
# Generated by dev/s3.sh on every start; edit the script, not this file.
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$COS_HMAC_ACCESS_KEY_ID
s3proxy.credential=$COS_HMAC_SECRET_ACCESS_KEY
jclouds.provider=filesystem-nio2
jclouds.filesystem.basedir=$DATA
jclouds.identity=$COS_HMAC_ACCESS_KEY_ID
jclouds.credential=$COS_HMAC_SECRET_ACCESS_KEY
EOF
    mv "$CONF.tmp" "$CONF"
  )
}

write_s3_env() {
  (
    umask 077
    {
      printf 'COS_ENDPOINT=http://127.0.0.1:%s\n' "$S3_PORT"
      printf 'COS_IAM_ENDPOINT=http://127.0.0.1:%s\n' "$FRONT_PORT"
      printf 'COS_BUCKET=%s\n' "$BUCKET"
      printf 'COS_HMAC_ACCESS_KEY_ID=%s\n' "$COS_HMAC_ACCESS_KEY_ID"
      printf 'COS_HMAC_SECRET_ACCESS_KEY=%s\n' "$COS_HMAC_SECRET_ACCESS_KEY"
      printf 'COS_API_KEY=%s\n' "$COS_API_KEY"
      printf 'COS_INSTANCE_ID=%s\n' "$COS_INSTANCE_ID"
      printf 'COS_AUTH_ENDPOINT=http://127.0.0.1:%s/identity/token\n' "$IAM_PORT"
    } >"$S3_ENV.tmp"
    mv "$S3_ENV.tmp" "$S3_ENV"
  )
}

# HTTP status of a GET (000 when nothing answered).
http_status() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

# Whether `url` answers with a status matching `want` (a regex).
answers() { [[ "$(http_status "$1")" =~ ^($2)$ ]]; }

# Waits until process $2 ($1 in messages, logging to $5) answers `url` $3 with status $4.
wait_for() {
  wait_until "$1" "$2" $((SECONDS + START_TIMEOUT)) "answer $3" "$5" -- answers "$3" "$4"
}

# Stops one of the three: $1 names it, $2 is its pid file, $3 a mark of its command line.
stop_one() { stop_pid "$@"; }

# The moto server and Python IAM endpoint an earlier dev/s3.sh started in this state dir.
stop_legacy() {
  stop_one "moto (replaced by S3Proxy)" "$RUN/moto.pid" moto.server || true
  stop_one "Python IAM endpoint (replaced by dev/iam.ts)" "$RUN/iam.pid" iam_token_server.py ||
    true
}

cmd_start() {
  require_tools java curl openssl flock
  require_java17
  lock
  stop_legacy
  local pid started=$SECONDS deno
  ensure_jar
  ensure_secrets
  deno="$(deno_bin)"
  mkdir -p -m 700 "$DATA" "$DATA/$BUCKET" # a bucket of the filesystem backend is a directory
  if pid="$(running_pid "$S3PROXY_PID" "$CONF")"; then
    log "S3Proxy already running (pid $pid) on http://127.0.0.1:$S3_PORT"
  else
    port_free_or_die S3Proxy "$S3_PORT"
    write_conf
    # shellcheck disable=SC2086 # heap options are a list of words
    pid="$(start_detached "$S3PROXY_PID" "$RUN/s3proxy.log" java $HEAP_OPTS -XX:+UseSerialGC \
      -Djava.awt.headless=true -jar "$(jar)" --properties "$CONF")"
    # Any HTTP answer means Jetty serves; an unsigned GET gets 403.
    wait_for S3Proxy "$pid" "http://127.0.0.1:$S3_PORT/" '[1-5][0-9][0-9]' "$RUN/s3proxy.log"
    log "S3Proxy running (pid $pid) on http://127.0.0.1:$S3_PORT, data in ${DATA#"$ROOT/"}"
  fi
  if pid="$(running_pid "$IAM_PID" "dev/iam.ts")"; then
    log "IAM token endpoint already running (pid $pid)"
  else
    port_free_or_die "the IAM token endpoint" "$IAM_PORT"
    pid="$(start_detached "$IAM_PID" "$RUN/iam.log" "$deno" run -q --no-prompt \
      --allow-net="127.0.0.1:$IAM_PORT" --allow-read="$RUN" "$DEV/iam.ts" --port "$IAM_PORT" \
      --api-key-file "$API_KEY_FILE" --signing-key-file "$TOKEN_KEY_FILE" \
      --lifetime "$TOKEN_LIFETIME")"
    wait_for "IAM token endpoint" "$pid" "http://127.0.0.1:$IAM_PORT/health" 200 "$RUN/iam.log"
    log "IAM token endpoint running (pid $pid) on http://127.0.0.1:$IAM_PORT/identity/token"
  fi
  if pid="$(running_pid "$FRONT_PID" "dev/iam_front.ts")"; then
    log "IAM front already running (pid $pid)"
  else
    port_free_or_die "the IAM front" "$FRONT_PORT"
    pid="$(start_detached "$FRONT_PID" "$RUN/iam_front.log" "$deno" run -q --no-prompt \
      --allow-net="127.0.0.1:$FRONT_PORT,127.0.0.1:$S3_PORT" --allow-read="$RUN" \
      "$DEV/iam_front.ts" --port "$FRONT_PORT" --upstream "http://127.0.0.1:$S3_PORT" \
      --signing-key-file "$TOKEN_KEY_FILE" --hmac-file "$SECRETS")"
    wait_for "IAM front" "$pid" "http://127.0.0.1:$FRONT_PORT/_front/stats" 200 \
      "$RUN/iam_front.log"
    log "IAM front running (pid $pid) on http://127.0.0.1:$FRONT_PORT"
  fi
  write_s3_env
  log "bucket $BUCKET ready (in $((SECONDS - started))s); settings in ${S3_ENV#"$ROOT/"}"
}

cmd_stop() {
  lock
  # The three are independent: stop them side by side.
  { stop_one "IAM front" "$FRONT_PID" "dev/iam_front.ts" || log "IAM front not running"; } &
  { stop_one "IAM token endpoint" "$IAM_PID" "dev/iam.ts" || log "IAM token endpoint not running"; } &
  { stop_one S3Proxy "$S3PROXY_PID" "$CONF" || log "S3Proxy not running"; } &
  wait
  stop_legacy
}

cmd_status() {
  local pid rc=0
  if pid="$(running_pid "$S3PROXY_PID" "$CONF")"; then
    printf 's3: S3Proxy running (pid %s) on http://127.0.0.1:%s\n' "$pid" "$S3_PORT"
  else
    printf 's3: S3Proxy not running\n'
    rc=3
  fi
  if pid="$(running_pid "$IAM_PID" "dev/iam.ts")"; then
    printf 's3: IAM token endpoint running (pid %s) on http://127.0.0.1:%s/identity/token\n' \
      "$pid" "$IAM_PORT"
  else
    printf 's3: IAM token endpoint not running\n'
    rc=3
  fi
  if pid="$(running_pid "$FRONT_PID" "dev/iam_front.ts")"; then
    printf 's3: IAM front running (pid %s) on http://127.0.0.1:%s\n' "$pid" "$FRONT_PORT"
  else
    printf 's3: IAM front not running\n'
    rc=3
  fi
  return "$rc"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
  printf 'usage: bash dev/s3.sh start|stop|status\n' >&2
  exit 2
  ;;
esac
