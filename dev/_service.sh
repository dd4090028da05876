# Shared by dev/kafka.sh and dev/s3.sh (sourced, not run): messages, tool checks, the Maven
# cache, pid files, the state dir's lock, start-up waits and stops of a local service.
#
# It sets ROOT (the repository) and DEV. The sourcing script sets SERVICE (its name in
# messages: kafka, s3), RUN (its state dir, see state_dir), START_TIMEOUT and STOP_TIMEOUT (seconds), START_TIMEOUT_VAR
# (the variable that sets START_TIMEOUT, named when a start times out), INSTALL_PACKAGES (the apt
# packages named when a tool is missing) and optionally INSTALL_NOTE (one more line for that).

# The repository and its dev/ folder, from where this file lives.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/dev"

# The state dir: $1 when set (relative to the working directory), else .run/$2.
state_dir() {
  local dir="${1:-$ROOT/.run/$2}"
  [[ "$dir" == /* ]] || dir="$PWD/$dir"
  printf '%s\n' "$dir"
}

log() { printf '%s: %s\n' "$SERVICE" "$*" >&2; }
die() { printf '%s: %s\n' "$SERVICE" "$*" >&2; exit 1; }

# Exits with the install command when one of the tools "$@" is missing.
require_tools() {
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    printf '%s: cannot start: missing %s\n' "$SERVICE" "${missing[*]}" >&2
    printf '  install on Debian/Ubuntu: apt-get install -y %s\n' "$INSTALL_PACKAGES" >&2
    [[ -z "${INSTALL_NOTE:-}" ]] || printf '  %s\n' "$INSTALL_NOTE" >&2
    exit 1
  fi
}

# Exits when `java` is older than 17.
require_java17() {
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  if [[ -z "$major" ]] || ((major < 17)); then
    printf '%s: cannot start: Java 17 or newer is required (found: %s)\n' "$SERVICE" \
      "${major:-unknown}" >&2
    printf '  install on Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless\n' >&2
    exit 1
  fi
}

# Resolves the dependencies of pom $1 into dir $2 once: skipped while $2/.complete holds the
# pom's hash (a changed pom resolves again). $3 names them in messages; the other arguments are
# more options of `mvn dependency:copy-dependencies`. The new copy replaces the old one whole.
ensure_maven_deps() {
  local pom="$1" dir="$2" what="$3" hash tmp
  shift 3
  hash="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$dir/.complete" && "$(cat "$dir/.complete")" == "$hash" ]]; then
    return 0
  fi
  require_tools java mvn
  log "resolving $what from Maven Central into ${dir#"$ROOT/"} (first run only)..."
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies "$@" \
    -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "cannot resolve $what: mvn dependency:copy-dependencies failed (see output above)
  check that Maven Central (repo.maven.apache.org) is reachable"
  fi
  printf '%s\n' "$hash" >"$tmp/.complete"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp" "$dir"
}

# The pid in pid file $1 when that process is alive and its command line contains $2.
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

# Dies when something already listens on port $2; $1 names what was to start there.
port_free_or_die() {
  local name="$1" port="$2"
  port_open "$port" && die "cannot start $name: port $port is already in use by another process
  find it with: ss -ltnp 'sport = :$port'"
  return 0
}

# One dev/<service>.sh at a time per state dir (file descriptor 9, released on exit).
lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w 300 9 || die "cannot lock ${RUN#"$ROOT/"}/.lock: another dev/$SERVICE.sh is still busy"
}

# Starts "$@" in its own session, detached from this shell (stdin closed, the lock's descriptor
# not inherited), output to log file $2; writes its pid to pid file $1 and prints it.
start_detached() {
  local pid_file="$1" logfile="$2" pid
  shift 2
  setsid nohup "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$pid_file"
  printf '%s\n' "$pid"
}

# Waits until the command after `--` succeeds. $1 names the process, $2 is its pid, $3 the
# deadline (a value of $SECONDS), $4 what it waits for ("open port 9092"); the words up to `--`
# are log files whose last lines are shown when it fails. Dies when the process exits or the
# deadline passes first.
wait_until() {
  local name="$1" pid="$2" deadline="$3" what="$4" logs=()
  shift 4
  while (($#)) && [[ "$1" != "--" ]]; do
    logs+=("$1")
    shift
  done
  shift
  until "$@"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs "${logs[@]}"
      die "$name exited during start-up (log above)"
    fi
    if ((SECONDS >= deadline)); then
      show_logs "${logs[@]}"
      die "$name did not $what within ${START_TIMEOUT}s ($START_TIMEOUT_VAR)"
    fi
    sleep 0.3
  done
}

# The last lines of each log file named.
show_logs() {
  local file
  for file in "$@"; do
    [[ -s "$file" ]] || continue
    log "last lines of ${file#"$ROOT/"}:"
    tail -n 30 "$file" >&2 || true
  done
}

# Stops the process of pid file $2 whose command line contains $3: SIGTERM, SIGKILL after
# STOP_TIMEOUT seconds; removes the pid file. $1 names it. Returns 1 when it was not running.
stop_pid() {
  local name="$1" file="$2" marker="$3" pid deadline
  if ! pid="$(running_pid "$file" "$marker")"; then
    rm -f "$file"
    return 1
  fi
  kill -TERM "$pid"
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1 # the kernel closes its ports
      break
    fi
    sleep 0.2
  done
  rm -f "$file"
  log "$name stopped (pid $pid)"
}
