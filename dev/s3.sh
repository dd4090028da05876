#!/usr/bin/env bash
# Local S3-compatible server (moto server mode) + a local IBM IAM token endpoint.
#
#   bash dev/s3.sh start    start both in the background (idempotent), wait until they answer,
#                           create bucket `orderflow`, write .run/s3/s3.env
#   bash dev/s3.sh stop     stop both (SIGTERM, SIGKILL after a timeout)
#   bash dev/s3.sh status   exit 0 when both run, 3 when not
#
# S3:  http://127.0.0.1:9000 (moto[server], pinned below, in the venv dev/.cache/s3-venv unless
#      the machine's python3 already has moto.server)
# IAM: http://127.0.0.1:9001/identity/token (dev/iam_token_server.py, stdlib only)
# Credentials (HMAC pair, IAM API key, service instance id) are generated once into .run/s3/.
# moto accepts any credentials (it does not verify SigV4 signatures nor IBM bearer tokens); the
# IAM endpoint is what rejects a wrong API key.
#
# Environment: S3_START_TIMEOUT (seconds, default 60), S3_STOP_TIMEOUT (default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/dev"
RUN="$ROOT/.run/s3"
VENV="$DEV/.cache/s3-venv"
MOTO_REQUIREMENT="moto[server]==5.2.5"
S3_PORT=9000
IAM_PORT=9001
BUCKET=orderflow
MOTO_PID="$RUN/moto.pid"
IAM_PID="$RUN/iam.pid"
SECRETS="$RUN/secrets.env"
API_KEY_FILE="$RUN/api_key"
S3_ENV="$RUN/s3.env"
START_TIMEOUT="${S3_START_TIMEOUT:-60}"
STOP_TIMEOUT="${S3_STOP_TIMEOUT:-10}"

log() { printf 's3: %s\n' "$*" >&2; }
die() { printf 's3: %s\n' "$*" >&2; exit 1; }

require_python() {
  if ! command -v python3 >/dev/null 2>&1; then
    printf 's3: cannot start: missing python3\n' >&2
    printf '  install on Debian/Ubuntu: apt-get install -y python3 python3-venv python3-pip\n' >&2
    exit 1
  fi
}

# Prints the python that can import moto.server, installing moto into a venv when needed.
moto_python() {
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
    printf '%s\n' "$VENV/bin/python"
    return 0
  fi
  if python3 -c 'import moto.server' 2>/dev/null; then
    printf '%s\n' "$(command -v python3)"
    return 0
  fi
  log "python3 cannot import moto.server: installing $MOTO_REQUIREMENT into ${VENV#"$ROOT/"} (first run only)..."
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    die "cannot create a Python venv in $VENV
  install on Debian/Ubuntu: apt-get install -y python3-venv python3-pip"
  fi
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check "$MOTO_REQUIREMENT" >&2; then
    rm -rf "$VENV"
    die "cannot install $MOTO_REQUIREMENT with pip (see output above)
  check that PyPI is reachable, or install it yourself: pip install '$MOTO_REQUIREMENT'"
  fi
  printf '%s\n' "$VENV/bin/python"
}

random_hex() { python3 -c "import secrets, sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"; }

# HMAC pair, IAM API key and service instance id, generated once and reused.
ensure_secrets() {
  if [[ ! -s "$SECRETS" ]]; then
    (
      umask 077
      {
        printf 'COS_HMAC_ACCESS_KEY_ID=%s\n' "$(random_hex 16)"
        printf 'COS_HMAC_SECRET_ACCESS_KEY=%s\n' "$(random_hex 24)"
        printf 'COS_API_KEY=%s\n' "$(random_hex 22)"
        printf 'COS_INSTANCE_ID=crn:v1:bluemix:public:cloud-object-storage:global:a/%s:%s::\n' \
          "$(random_hex 16)" "$(python3 -c 'import uuid; print(uuid.uuid4())')"
      } >"$SECRETS.tmp"
      mv "$SECRETS.tmp" "$SECRETS"
    )
    log "generated HMAC keys, IAM API key and instance id in ${SECRETS#"$ROOT/"}"
  fi
  # shellcheck source=/dev/null
  source "$SECRETS"
  (umask 077 && printf '%s\n' "$COS_API_KEY" >"$API_KEY_FILE")
}

write_s3_env() {
  (
    umask 077
    {
      printf 'COS_ENDPOINT=http://127.0.0.1:%s\n' "$S3_PORT"
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

# pid from a pid file when that process is alive and its command line contains $2.
running_pid() {
  local file="$1" marker="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() {
  python3 - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

wait_for() {
  local name="$1" pid="$2" url="$3" logfile="$4" deadline=$((SECONDS + START_TIMEOUT))
  until http_ok "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      die "$name exited during start-up (log above, from ${logfile#"$ROOT/"})"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      die "$name did not answer $url within ${START_TIMEOUT}s (S3_START_TIMEOUT)"
    fi
    sleep 0.3
  done
}

create_bucket() {
  "$1" - "$BUCKET" <<EOF
import sys, boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:$S3_PORT", region_name="us-east-1",
                  aws_access_key_id="$COS_HMAC_ACCESS_KEY_ID",
                  aws_secret_access_key="$COS_HMAC_SECRET_ACCESS_KEY")
names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
if sys.argv[1] not in names:
    s3.create_bucket(Bucket=sys.argv[1])
EOF
}

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w 300 9 || die "cannot lock ${RUN#"$ROOT/"}/.lock: another dev/s3.sh is still busy"
}

cmd_start() {
  require_python
  lock
  local py pid started=$SECONDS
  py="$(moto_python)"
  ensure_secrets
  if pid="$(running_pid "$MOTO_PID" moto.server)"; then
    log "moto already running (pid $pid) on http://127.0.0.1:$S3_PORT"
  else
    port_open "$S3_PORT" && die "cannot start moto: port $S3_PORT is already in use by another process
  find it with: ss -ltnp 'sport = :$S3_PORT'"
    setsid nohup "$py" -m moto.server -H 127.0.0.1 -p "$S3_PORT" \
      >"$RUN/moto.log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$MOTO_PID"
    wait_for moto "$pid" "http://127.0.0.1:$S3_PORT/" "$RUN/moto.log"
    log "moto $("$py" -c 'import moto; print(moto.__version__)') running (pid $pid, $py) on http://127.0.0.1:$S3_PORT"
  fi
  if pid="$(running_pid "$IAM_PID" iam_token_server.py)"; then
    log "IAM token endpoint already running (pid $pid)"
  else
    port_open "$IAM_PORT" && die "cannot start the IAM token endpoint: port $IAM_PORT is already in use
  find it with: ss -ltnp 'sport = :$IAM_PORT'"
    setsid nohup python3 "$DEV/iam_token_server.py" --host 127.0.0.1 --port "$IAM_PORT" \
      --api-key-file "$API_KEY_FILE" >"$RUN/iam.log" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$IAM_PID"
    wait_for "IAM token endpoint" "$pid" "http://127.0.0.1:$IAM_PORT/health" "$RUN/iam.log"
    log "IAM token endpoint running (pid $pid) on http://127.0.0.1:$IAM_PORT/identity/token"
  fi
  create_bucket "$py" || die "cannot create bucket $BUCKET on http://127.0.0.1:$S3_PORT"
  write_s3_env
  log "bucket $BUCKET ready (in $((SECONDS - started))s); settings in ${S3_ENV#"$ROOT/"}"
}

stop_one() {
  local name="$1" file="$2" marker="$3" pid
  if ! pid="$(running_pid "$file" "$marker")"; then
    rm -f "$file"
    log "$name not running"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$file"
  log "$name stopped (pid $pid)"
}

cmd_stop() {
  lock
  stop_one moto "$MOTO_PID" moto.server
  stop_one "IAM token endpoint" "$IAM_PID" iam_token_server.py
}

cmd_status() {
  local moto iam rc=0
  if moto="$(running_pid "$MOTO_PID" moto.server)"; then
    printf 's3: moto running (pid %s) on http://127.0.0.1:%s\n' "$moto" "$S3_PORT"
  else
    printf 's3: moto not running\n'
    rc=3
  fi
  if iam="$(running_pid "$IAM_PID" iam_token_server.py)"; then
    printf 's3: IAM token endpoint running (pid %s) on http://127.0.0.1:%s/identity/token\n' \
      "$iam" "$IAM_PORT"
  else
    printf 's3: IAM token endpoint not running\n'
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
