#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single node) from Maven Central jars.
#
#   bash dev/kafka.sh start                 start in the background (idempotent), wait until ready,
#                                           create topics `orders`, `orders.dlq`, `orders.review`
#   bash dev/kafka.sh stop                  SIGTERM, wait, SIGKILL after a timeout
#   bash dev/kafka.sh status                exit 0 when running, 3 when not
#   bash dev/kafka.sh tool <Class> [args]   run a Kafka tool class with the broker's classpath
#                                           (a bare name means org.apache.kafka.tools.<Class>)
#
# Listeners: PLAINTEXT localhost:9092, SASL_SSL localhost:9093 (PLAIN, user `token`),
# CONTROLLER localhost:9094. State, secrets, TLS material and logs live in .run/kafka/ (git-ignored);
# jars in dev/.cache/kafka-libs/. Writes .run/kafka/sasl.env for SASL_SSL clients.
#
# Environment: KAFKA_START_TIMEOUT (seconds, default 120), KAFKA_STOP_TIMEOUT (default 30),
# KAFKA_HEAP_OPTS (default "-Xmx1G -Xms1G"), KAFKA_TOOL_HEAP_OPTS (default "-Xmx512M").
# A second, independent broker (fault tests restart one without touching the shared broker):
# KAFKA_RUN_DIR (state dir, default .run/kafka), KAFKA_PLAINTEXT_PORT (9092), KAFKA_SASL_PORT
# (9093), KAFKA_CONTROLLER_PORT (9094).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/dev"
RUN="${KAFKA_RUN_DIR:-$ROOT/.run/kafka}"
[[ "$RUN" == /* ]] || RUN="$PWD/$RUN"
LIBS="$DEV/.cache/kafka-libs"
POM="$DEV/kafka/pom.xml"
PID_FILE="$RUN/kafka.pid"
PROPS="$RUN/server.properties"
DATA="$RUN/data"
LOGS="$RUN/logs"
TLS="$RUN/tls"
PASSWORD_FILE="$RUN/token.password"
SASL_ENV="$RUN/sasl.env"

PLAINTEXT_PORT="${KAFKA_PLAINTEXT_PORT:-9092}"
SASL_SSL_PORT="${KAFKA_SASL_PORT:-9093}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9094}"
TOPICS=("orders" "orders.dlq" "orders.review")
TOPIC_PARTITIONS=6
WARMUP_GROUP=orderflow-consumer

START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
TOOL_HEAP_OPTS="${KAFKA_TOOL_HEAP_OPTS:--Xmx512M}"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: %s\n' "$*" >&2; exit 1; }

require_tools() {
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    printf 'kafka: cannot start: missing %s\n' "${missing[*]}" >&2
    printf '  install on Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless maven openssl\n' >&2
    printf '  (java = openjdk-17-jre-headless, mvn = maven, openssl = openssl; Java 17+ is required)\n' >&2
    exit 1
  fi
}

require_java17() {
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  if [[ -z "$major" ]] || ((major < 17)); then
    printf 'kafka: cannot start: Java 17 or newer is required (found: %s)\n' "${major:-unknown}" >&2
    printf '  install on Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless\n' >&2
    exit 1
  fi
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

# Resolve the broker's runtime classpath once (skipped when present and the pom is unchanged).
ensure_libs() {
  if [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_hash)" ]]; then
    return 0
  fi
  require_tools java mvn
  log "resolving Kafka jars from Maven Central into dev/.cache/kafka-libs (first run only)..."
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "cannot resolve Kafka jars: mvn dependency:copy-dependencies failed (see output above)
  check that Maven Central (repo.maven.apache.org) is reachable"
  fi
  pom_hash >"$tmp/.complete"
  rm -rf "$LIBS"
  mkdir -p "$(dirname "$LIBS")"
  mv "$tmp" "$LIBS"
}

# A random password for the SASL user `token`, generated once and reused.
ensure_password() {
  if [[ ! -s "$PASSWORD_FILE" ]]; then
    (umask 077 && openssl rand -hex 24 >"$PASSWORD_FILE.tmp" && mv "$PASSWORD_FILE.tmp" "$PASSWORD_FILE")
    log "generated SASL password for user token in ${PASSWORD_FILE#"$ROOT/"}"
  fi
}

# A local CA and a server certificate for localhost/127.0.0.1, generated once.
ensure_tls() {
  if [[ -s "$TLS/ca.pem" && -s "$TLS/server-keystore.pem" ]]; then
    return 0
  fi
  local tmp="$TLS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (
    umask 077
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout ca.key -out ca.pem -subj "/CN=orderflow local CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.raw.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      "subjectKeyIdentifier=hash" \
      "authorityKeyIdentifier=keyid,issuer" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
      -days 825 -extfile server.ext -out server.pem 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in server.raw.key -out server.key
    # Kafka's PEM keystore: unencrypted PKCS#8 key followed by the certificate chain.
    cat server.key server.pem ca.pem >server-keystore.pem
    rm -f server.raw.key server.csr server.ext ca.srl
    chmod 644 ca.pem server.pem
  ) || { rm -rf "$tmp"; die "cannot generate TLS material with openssl"; }
  rm -rf "$TLS"
  mv "$tmp" "$TLS"
  log "generated CA ${TLS#"$ROOT/"}/ca.pem and server certificate (SAN localhost, 127.0.0.1)"
}

write_properties() {
  local password
  password="$(cat "$PASSWORD_FILE")"
  (
    umask 077
    cat >"$PROPS.tmp" <<EOF
# Generated by dev/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://localhost:$PLAINTEXT_PORT,SASL_SSL://localhost:$SASL_SSL_PORT,CONTROLLER://localhost:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://localhost:$PLAINTEXT_PORT,SASL_SSL://localhost:$SASL_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT

sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="token" password="$password" user_token="$password";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/server-keystore.pem
ssl.client.auth=none

log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=24
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
EOF
    mv "$PROPS.tmp" "$PROPS"
  )
}

write_sasl_env() {
  (
    umask 077
    {
      printf 'KAFKA_BROKERS=localhost:%s\n' "$SASL_SSL_PORT"
      printf 'KAFKA_SECURITY_PROTOCOL=SASL_SSL\n'
      printf 'KAFKA_USERNAME=token\n'
      printf 'KAFKA_PASSWORD=%s\n' "$(cat "$PASSWORD_FILE")"
      printf 'KAFKA_CA_FILE=%s\n' "$TLS/ca.pem"
    } >"$SASL_ENV.tmp"
    mv "$SASL_ENV.tmp" "$SASL_ENV"
  )
}

java_cp() { printf '%s/*' "$LIBS"; }

# Run a Kafka tool class in the foreground with the broker's classpath.
run_tool() {
  local class="$1"
  shift
  [[ "$class" == *.* ]] || class="org.apache.kafka.tools.$class"
  # shellcheck disable=SC2086 # heap options are a list of words
  java $TOOL_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DEV/kafka/log4j2-tools.xml" \
    -cp "$(java_cp)" "$class" "$@"
}

# The broker's pid when it is running (verified against /proc), else nothing.
running_pid() {
  [[ -s "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_log_tail() {
  log "last lines of ${LOGS#"$ROOT/"}/server.log and kafka.out:"
  tail -n 40 "$LOGS/server.log" >&2 2>/dev/null || true
  tail -n 20 "$RUN/kafka.out" >&2 2>/dev/null || true
}

create_topics() {
  local topic
  for topic in "${TOPICS[@]}"; do
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "localhost:$PLAINTEXT_PORT" \
      --create --if-not-exists --topic "$topic" --partitions "$TOPIC_PARTITIONS" \
      --replication-factor 1 >/dev/null || return 1
  done
}

# Waits until the group coordinator answers for the default consumer group. On a fresh broker the
# first FindCoordinator creates __consumer_offsets (50 partitions) and clients briefly get
# COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR; doing it here keeps that out of tests.
warm_group_coordinator() {
  local deadline="$1" out
  while true; do
    out="$(run_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
      --bootstrap-server "localhost:$PLAINTEXT_PORT" --describe --group "$WARMUP_GROUP" \
      --timeout 15000 2>&1 || true)"
    if grep -qE 'GroupIdNotFoundException|does not exist|GROUP +TOPIC|has no active members' <<<"$out"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      printf '%s\n' "$out" | tail -n 5 >&2
      return 1
    fi
    sleep 1
  done
}

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w 300 9 || die "cannot lock ${RUN#"$ROOT/"}/.lock: another dev/kafka.sh is still busy"
}

cmd_start() {
  require_tools java mvn openssl
  require_java17
  lock
  local pid
  if pid="$(running_pid)"; then
    ensure_password
    write_sasl_env
    log "already running (pid $pid): PLAINTEXT localhost:$PLAINTEXT_PORT, SASL_SSL localhost:$SASL_SSL_PORT"
    return 0
  fi
  local port
  for port in "$PLAINTEXT_PORT" "$SASL_SSL_PORT" "$CONTROLLER_PORT"; do
    if port_open "$port"; then
      die "cannot start: port $port is already in use by another process
  stop it (ss -ltnp 'sport = :$port' shows which) or stop the other Kafka"
    fi
  done
  local started=$SECONDS
  ensure_libs
  mkdir -p "$DATA" "$LOGS"
  ensure_password
  ensure_tls
  write_properties
  if [[ ! -f "$DATA/meta.properties" ]]; then
    log "formatting storage in ${DATA#"$ROOT/"}"
    local cluster_id
    cluster_id="$(run_tool kafka.tools.StorageTool random-uuid)"
    run_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >/dev/null ||
      die "cannot format storage in $DATA"
  fi
  log "starting broker (logs in ${LOGS#"$ROOT/"}/server.log)"
  # shellcheck disable=SC2086 # heap options are a list of words
  setsid nohup java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dkafka.logs.dir="$LOGS" \
    -Dlog4j2.configurationFile="$DEV/kafka/log4j2-broker.xml" \
    -cp "$(java_cp)" kafka.Kafka "$PROPS" >"$RUN/kafka.out" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
  pid=$!
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PLAINTEXT_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail
      die "broker exited during start-up (see the log above)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail
      die "broker did not open port $PLAINTEXT_PORT within ${START_TIMEOUT}s (KAFKA_START_TIMEOUT)"
    fi
    sleep 0.5
  done
  until create_topics 2>"$RUN/topics.err"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      cat "$RUN/topics.err" >&2
      show_log_tail
      die "broker did not answer topic requests within ${START_TIMEOUT}s"
    fi
    sleep 1
  done
  warm_group_coordinator "$deadline" || {
    show_log_tail
    die "group coordinator did not become available within ${START_TIMEOUT}s"
  }
  write_sasl_env
  log "running (pid $pid, ready in $((SECONDS - started))s): PLAINTEXT localhost:$PLAINTEXT_PORT, SASL_SSL localhost:$SASL_SSL_PORT"
  log "topics ${TOPICS[*]} ($TOPIC_PARTITIONS partitions); SASL credentials in ${SASL_ENV#"$ROOT/"}"
}

cmd_stop() {
  lock
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    printf 'kafka: running (pid %s): PLAINTEXT localhost:%s, SASL_SSL localhost:%s, CONTROLLER localhost:%s\n' \
      "$pid" "$PLAINTEXT_PORT" "$SASL_SSL_PORT" "$CONTROLLER_PORT"
    return 0
  fi
  printf 'kafka: not running\n'
  return 3
}

cmd_tool() {
  (($#)) || die "usage: dev/kafka.sh tool <Class> [args...]
  e.g. dev/kafka.sh tool TopicCommand --bootstrap-server localhost:9092 --list"
  require_tools java mvn
  ensure_libs
  run_tool "$@"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
tool)
  shift
  cmd_tool "$@"
  ;;
*)
  printf 'usage: bash dev/kafka.sh start|stop|status|tool <Class> [args...]\n' >&2
  exit 2
  ;;
esac
