#!/usr/bin/env bash
# kafka.sh runs a single-node Apache Kafka 4 broker (KRaft: broker and
# controller in one JVM) on 127.0.0.1, built from Apache Kafka's own artifacts
# on Maven Central (see pom.xml beside this script), for the real-broker test
# suite and for trying the project against the real thing.
#
# Usage: scripts/kafka/kafka.sh VERB [ARG...]
#
#   deps        Install what the other verbs need on a fresh Debian machine:
#               kcat (and Java 17, Maven when they are missing) with apt-get,
#               then resolve the Kafka jars with mvn. Run as root or with sudo.
#   start       Start a broker on fresh data (new cluster id), wait until it
#               answers, create the topics, print KAFKA_BROKERS=host:port on
#               standard output. A broker that is already running and
#               answering is kept as it is. What a previous run left behind
#               (a stale pid file, its data, our own broker still holding the
#               port) is cleaned up first.
#   stop        Stop the broker cleanly (SIGTERM, SIGKILL after
#               KAFKA_STOP_TIMEOUT seconds). Its data stays for resume.
#   resume      Start the broker again on the data of the last run: what was
#               acknowledged before a stop is still there.
#   restart     stop, then resume.
#   status      Say whether the broker runs and answers. Exit 0 when it does,
#               1 when its process runs but does not answer, 3 when stopped.
#   env         Print KAFKA_BROKERS=host:port.
#   classpath   Print the Java classpath of the Kafka jars.
#   run CLASS [ARG...]
#               Run a Kafka main class with that classpath, for example
#               org.apache.kafka.tools.ConsoleProducer; its logs go to stderr.
#
# Settings, from the environment:
#   KAFKA_PORT             client port, default 19092
#   KAFKA_CONTROLLER_PORT  KRaft controller port, default KAFKA_PORT+1
#   KAFKA_STATE_DIR        pid file, config, log and data; default
#                          ${TMPDIR:-/tmp}/function-kafka-$KAFKA_PORT
#   KAFKA_TOPICS           topics start creates, name:partitions separated by
#                          spaces; default "users:6 users-dead-letter:1",
#                          set but empty: none
#   KAFKA_START_TIMEOUT    seconds start waits for an answer, default 120
#   KAFKA_STOP_TIMEOUT     seconds stop waits before SIGKILL, default 30
#   KAFKA_HEAP_OPTS        broker heap, default "-Xms256m -Xmx1g"
#   JAVA                   the java to run (Java 17 or newer); default
#                          $JAVA_HOME/bin/java, else java from PATH
#   MVN                    the Maven to resolve jars with, default mvn
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
readonly PORT="${KAFKA_PORT:-19092}"
readonly CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
readonly STATE="${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/function-kafka-$PORT}"
readonly TOPICS="${KAFKA_TOPICS-users:6 users-dead-letter:1}"
readonly START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
readonly STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
readonly HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
readonly MVN="${MVN:-mvn}"
readonly BROKERS="127.0.0.1:$PORT"
readonly CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/function-kafka"
# MARKER tells a state folder this script made from any other folder, so
# that start never wipes data it did not write.
readonly MARKER="$STATE/.function-kafka"

if [[ -n "${JAVA:-}" ]]; then
	readonly JAVA_BIN="$JAVA"
elif [[ -n "${JAVA_HOME:-}" ]]; then
	readonly JAVA_BIN="$JAVA_HOME/bin/java"
else
	readonly JAVA_BIN="java"
fi

log() { echo "kafka.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# as_root runs a command as root, through sudo when we are not root.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

cmd_deps() {
	local pkgs=()
	command -v kcat >/dev/null || pkgs+=(kcat)
	java_major >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
	command -v "$MVN" >/dev/null || pkgs+=(maven)
	if ((${#pkgs[@]} > 0)); then
		log "installing ${pkgs[*]} with apt-get"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
	fi
	check_java
	classpath >/dev/null
	local kcat_version
	kcat_version=$(kcat -V | sed -n 's/^Version \([^ ]*\).*/\1/p')
	log "ready: $("$JAVA_BIN" -version 2>&1 | head -n 1), kcat $kcat_version," \
		"Apache Kafka $(kafka_version) jars"
}

# java_major prints the major version of JAVA_BIN (8 for 1.8, 17, 25 ...).
java_major() {
	local v
	v=$("$JAVA_BIN" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
	[[ -n "$v" ]] || return 1
	v=${v#1.}
	echo "${v%%[.+-]*}"
}

check_java() {
	local major
	major=$(java_major) || die "no Java found ($JAVA_BIN): install Java 17 or newer, or set JAVA"
	((major >= 17)) || die "$JAVA_BIN is Java $major; Kafka 4 needs Java 17 or newer"
}

kafka_version() {
	sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml"
}

# classpath prints the Kafka classpath. It is resolved with mvn once per
# version of pom.xml and cached; a cache naming a jar that is gone (a cleaned
# ~/.m2) is resolved again.
classpath() {
	local key file tmp
	key=$(sha256sum "$HERE/pom.xml" | cut -c1-16)
	file="$CACHE/classpath-$key.txt"
	if [[ -s "$file" ]] && classpath_complete "$file"; then
		cat "$file"
		return
	fi

	command -v "$MVN" >/dev/null || die "mvn not found: install Maven (or run: $0 deps)"
	mkdir -p "$CACHE"
	tmp=$(mktemp "$CACHE/classpath.XXXXXX")
	log "resolving Apache Kafka $(kafka_version) from Maven Central (once)"
	# Debian's Maven 3.8 prints colour resets even in batch mode: strip them.
	if ! "$MVN" -B -q -f "$HERE/pom.xml" dependency:build-classpath \
		-Dmdep.includeScope=runtime -Dmdep.outputFile="$tmp" 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g' >&2; then
		rm -f "$tmp"
		die "mvn could not resolve the Kafka jars of $HERE/pom.xml"
	fi
	mv "$tmp" "$file"
	cat "$file"
}

classpath_complete() {
	local jar
	while IFS= read -r -d: jar || [[ -n "$jar" ]]; do
		[[ -f "$jar" ]] || return 1
	done <"$1"
}

# run_tool runs a Kafka main class with the tools' logging (warnings, stderr).
run_tool() {
	local cp
	cp=$(classpath)
	"$JAVA_BIN" -Xmx512m -XX:TieredStopAtLevel=1 \
		-Dlog4j2.configurationFile="$HERE/log4j2-tools.properties" \
		-cp "$cp" "$@"
}

# alive tells whether pid runs; a zombie (exited, not yet reaped by a parent
# that never will, such as a container's init) counts as gone.
alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n "$state" && "$state" != Z ]]
}

# ours tells whether pid is a broker started from this state folder.
ours() {
	alive "$1" || return 1
	local cmd
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	[[ "$cmd" == *" kafka.Kafka $STATE/server.properties"* ]]
}

# port_pid prints the pid of the process listening on 127.0.0.1:port, if any.
port_pid() {
	ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 ||
		true
}

# broker_pid prints the pid of our broker: the one in the pid file, or the
# one holding our port when the pid file is gone or stale.
broker_pid() {
	local pid
	pid=$(cat "$STATE/broker.pid" 2>/dev/null || true)
	if [[ -n "$pid" ]] && ours "$pid"; then
		echo "$pid"
		return
	fi
	for port in "$PORT" "$CPORT"; do
		pid=$(port_pid "$port")
		if [[ -n "$pid" ]] && ours "$pid"; then
			echo "$pid"
			return
		fi
	done
	return 1
}

# answers tells whether the broker serves metadata requests: with kcat when
# it is installed (no JVM to start), else with Kafka's TopicCommand.
answers() {
	if command -v kcat >/dev/null; then
		kcat -L -b "$BROKERS" -m 10 >/dev/null 2>&1
		return
	fi
	run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" \
		--command-config "$STATE/tools.properties" --list >/dev/null 2>&1
}

# check_ports fails, naming the holder, when a process that is not our
# broker listens on one of our ports.
check_ports() {
	local port pid cmd
	for port in "$PORT" "$CPORT"; do
		pid=$(port_pid "$port")
		[[ -z "$pid" ]] && continue
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)
		die "port $port is in use by pid $pid ($cmd); stop it or set KAFKA_PORT"
	done
}

cmd_start() {
	check_java
	local pid
	if pid=$(broker_pid); then
		# It may still be starting, or slow on a busy machine: give it the
		# time a start would have before giving up on it.
		if wait_answer "$pid"; then
			log "broker already running (pid $pid, state $STATE)"
			create_topics
			cmd_env
			return
		fi
		log "broker pid $pid did not answer within ${START_TIMEOUT}s; stopping it to start afresh"
		stop_pid "$pid"
	fi

	check_ports
	fresh_state
	launch
}

cmd_resume() {
	check_java
	local pid
	if pid=$(broker_pid); then
		log "broker already running (pid $pid, state $STATE)"
		cmd_env
		return
	fi
	if [[ ! -f "$STATE/data/meta.properties" ]]; then
		log "no data from a previous run in $STATE; starting afresh"
		cmd_start
		return
	fi

	check_ports
	write_config
	launch
}

# fresh_state empties the data folder and formats it with a new cluster id.
fresh_state() {
	if [[ -d "$STATE" && ! -f "$MARKER" ]] && [[ -n "$(ls -A "$STATE")" ]]; then
		die "$STATE is not empty and was not made by kafka.sh; set KAFKA_STATE_DIR"
	fi
	mkdir -p "$STATE"
	touch "$MARKER"
	rm -rf "${STATE:?}/data" "$STATE/broker.pid"
	mkdir "$STATE/data"
	write_config

	local id
	id=$(run_tool kafka.tools.StorageTool random-uuid)
	run_tool kafka.tools.StorageTool format --cluster-id "$id" \
		--config "$STATE/server.properties" >/dev/null ||
		die "formatting $STATE/data failed"
	log "formatted $STATE/data, cluster id $id"
}

# write_config writes the broker's server.properties and the tools' client
# settings. Replication factors are 1: there is one broker.
write_config() {
	cat >"$STATE/server.properties" <<-EOF
		process.roles=broker,controller
		node.id=1
		controller.quorum.voters=1@127.0.0.1:$CPORT
		listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
		advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
		controller.listener.names=CONTROLLER
		inter.broker.listener.name=PLAINTEXT
		listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
		log.dirs=$STATE/data
		num.partitions=1
		offsets.topic.replication.factor=1
		transaction.state.log.replication.factor=1
		transaction.state.log.min.isr=1
		share.coordinator.state.topic.replication.factor=1
		share.coordinator.state.topic.min.isr=1
		group.initial.rebalance.delay.ms=0
	EOF
	cat >"$STATE/tools.properties" <<-EOF
		request.timeout.ms=5000
		default.api.timeout.ms=10000
	EOF
}

# launch starts the broker in the background, detached from this shell's
# output, and waits until it answers.
launch() {
	local cp pid
	cp=$(classpath)
	echo "--- $(date -Is) start, Kafka $(kafka_version)" >>"$STATE/broker.log"
	# shellcheck disable=SC2086 # HEAP_OPTS holds several JVM flags.
	nohup "$JAVA_BIN" $HEAP_OPTS -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$HERE/log4j2-broker.properties" \
		-cp "$cp" kafka.Kafka "$STATE/server.properties" \
		</dev/null >>"$STATE/broker.log" 2>&1 &
	pid=$!
	echo "$pid" >"$STATE/broker.pid"
	log "started broker pid $pid on $BROKERS (log $STATE/broker.log)"

	wait_ready "$pid"
	create_topics
	cmd_env
}

# wait_answer waits until broker pid listens and answers a metadata request.
# It fails when the process exits or KAFKA_START_TIMEOUT passes.
wait_answer() {
	local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
	while ((SECONDS < deadline)) && alive "$pid"; do
		if (: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && answers; then
			return
		fi
		sleep 0.5
	done
	return 1
}

# wait_ready waits for a broker just launched, and fails with the end of its
# log when it exits or does not answer in time.
wait_ready() {
	local pid=$1
	wait_answer "$pid" && return
	tail -n 30 "$STATE/broker.log" >&2
	if alive "$pid"; then
		die "broker pid $pid did not answer on $BROKERS within ${START_TIMEOUT}s" \
			"(log above, $STATE/broker.log)"
	fi
	die "broker pid $pid exited during startup (log above, $STATE/broker.log)"
}

create_topics() {
	local t name parts
	for t in $TOPICS; do
		name=${t%%:*}
		parts=${t##*:}
		run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKERS" \
			--command-config "$STATE/tools.properties" --create --if-not-exists \
			--topic "$name" --partitions "$parts" --replication-factor 1 >/dev/null ||
			die "creating topic $name failed"
	done
	[[ -z "$TOPICS" ]] || log "topics ready: $TOPICS"
}

cmd_stop() {
	local pid
	if ! pid=$(broker_pid); then
		rm -f "$STATE/broker.pid"
		log "broker not running"
		return
	fi
	stop_pid "$pid"
}

# stop_pid asks the broker to shut down (SIGTERM runs Kafka's controlled
# shutdown) and kills it when it is stuck.
stop_pid() {
	local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT))
	kill -TERM "$pid" 2>/dev/null || true
	while alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.2
	done
	if alive "$pid"; then
		log "broker pid $pid still running after ${STOP_TIMEOUT}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		while alive "$pid"; do sleep 0.1; done
	fi
	rm -f "$STATE/broker.pid"
	log "broker pid $pid stopped"
}

cmd_status() {
	local pid
	if ! pid=$(broker_pid); then
		log "stopped (state $STATE)"
		return 3
	fi
	if ! answers; then
		log "running (pid $pid) but not answering on $BROKERS"
		return 1
	fi
	log "running (pid $pid) and answering on $BROKERS, state $STATE"
	cmd_env
}

cmd_env() { echo "KAFKA_BROKERS=$BROKERS"; }

main() {
	local verb=${1:-}
	[[ $# -gt 0 ]] && shift
	case "$verb" in
	deps) cmd_deps ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	resume) cmd_resume ;;
	restart)
		cmd_stop
		cmd_resume
		;;
	status) cmd_status ;;
	env) cmd_env ;;
	classpath) classpath ;;
	run)
		[[ $# -gt 0 ]] || die "run: name the main class to run"
		check_java
		run_tool "$@"
		;;
	*)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
		[[ -z "$verb" || "$verb" == help || "$verb" == -h ]] && exit 0
		die "unknown verb: $verb"
		;;
	esac
}

main "$@"
