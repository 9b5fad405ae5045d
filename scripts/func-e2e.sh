#!/usr/bin/env bash
# func-e2e.sh: prove that the real knative func CLI builds, runs and invokes
# this function, with no container engine. The CLI is the version that
# tools/go.mod pins (see "Knative func CLI compatibility" in the README).
#
# Usage: scripts/func-e2e.sh [--tools-only] [FUNCTION_DIR]
#
#   FUNCTION_DIR  the function root (default: this repository). Its tracked
#                 and untracked-but-not-ignored files are copied to a
#                 temporary folder, so neither its func.yaml (which
#                 `func build` rewrites) nor its .func/ is touched.
#   --tools-only  build tools/bin/func and tools/bin/funccheck, then exit.
#
# Environment:
#   FUNC_E2E_CLI           a func CLI to use instead of building tools/bin/func
#   FUNC_E2E_KEEP=1        keep the temporary folder (its path is printed)
#   FUNC_E2E_START_TIMEOUT seconds `func run` may take to build and start
#                          the function (default 600)
#
# Steps: build the function with the host builder and check the OCI image;
# `func run --container=false`; check the health endpoints; send a
# user-created event with `func invoke` and two with curl in binary mode
# (routed to the welcome and the directory handler) and check their effects
# (a mail in the outbox, a row in SQLite); stop the run and check that no
# process and no listening port is left. Each check prints one "ok" line; the
# last line counts them. Any failure prints the log that explains it and
# exits 1.
set -euo pipefail

readonly REGISTRY=localhost:5000/func-e2e
readonly USER_CREATED=com.example.users.user.created
readonly ROUTE_EXTENSION=handler
readonly STOP_TIMEOUT=30

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT TOOLS=$ROOT/tools

passed=0
failed=0
work=""
run_pid=""
port=""

last_pass=$SECONDS

step() { printf '\n==> %s\n' "$*"; }

# pass reports a check that held, with the seconds since the previous one.
pass() {
	passed=$((passed + 1))
	printf 'ok   %s (%ds)\n' "$*" $((SECONDS - last_pass))
	last_pass=$SECONDS
}

# fail reports a failed check, prints the named log files, and exits.
fail() {
	local msg=$1
	shift
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$msg" >&2
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		printf -- '---- %s (last 80 lines)\n' "${f#"$work"/}" >&2
		tail -n 80 "$f" >&2
		printf -- '----\n' >&2
	done
	exit 1
}

# build_tools builds the pinned func CLI (stamped with its module version,
# which `func version` prints) and funccheck into tools/bin. Both builds are
# no-ops when nothing changed.
build_tools() {
	local version
	FUNC=${FUNC_E2E_CLI:-}
	if [ -z "$FUNC" ]; then
		version=$(go list -C "$TOOLS" -m -f '{{.Version}}' knative.dev/func)
		go build -C "$TOOLS" -o bin/func \
			-ldflags "-X knative.dev/func/pkg/app.vers=$version" knative.dev/func/cmd/func
		FUNC=$TOOLS/bin/func
	fi
	go build -C "$TOOLS/funccheck" -o ../bin/funccheck .
	FUNCCHECK=$TOOLS/bin/funccheck
}

# copy_function copies the files git would commit from $1 into $2: tracked
# files still present and untracked files that are not ignored.
copy_function() {
	local src=$1 dst=$2
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$src/$f" ] && printf '%s\0' "$f"
		done |
		tar -C "$src" --null -T - -cf - | tar -C "$dst" -xf -
}

# group_members prints the pids of the live processes in process group $1.
# Zombies are dead: one whose parent exited waits for init to reap it.
group_members() {
	local stat line state pgrp pid
	for stat in /proc/[0-9]*/stat; do
		read -r line <"$stat" 2>/dev/null || continue
		# After the command name: state, ppid, pgrp.
		read -r state _ pgrp _ <<<"${line##*) }"
		pid=${stat#/proc/}
		[ "$pgrp" = "$1" ] && [ "$state" != Z ] && echo "${pid%/stat}"
	done
	return 0
}

# describe prints each pid given with its command line.
describe() {
	local pid
	for pid; do
		printf '[%s] %s ' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	done
}

# port_open reports whether something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# cleanup stops a run the script did not get to stop (a failed check), so
# that neither the func CLI nor the function outlives the script, then
# removes the temporary folder.
cleanup() {
	local rc=$?
	if [ -n "$run_pid" ]; then
		kill -TERM -- "-$run_pid" 2>/dev/null || true
		for _ in $(seq 1 "$STOP_TIMEOUT"); do
			[ -z "$(group_members "$run_pid")" ] && break
			sleep 1
		done
		kill -KILL -- "-$run_pid" 2>/dev/null || true
	fi
	if [ -n "$work" ]; then
		if [ "${FUNC_E2E_KEEP:-}" = 1 ]; then
			echo "kept $work"
		else
			rm -rf "$work"
		fi
	fi
	[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
	printf '\nfunc-e2e: %d passed, %d failed\n' "$passed" "$failed"
	exit "$rc"
}

# post sends a binary-mode CloudEvent with curl and prints the HTTP status.
# Arguments: id, route, data; the response body goes to $work/logs/curl-<id>.
post() {
	curl -sS --max-time 30 -o "$work/logs/curl-$1" -w '%{http_code}' \
		-X POST "http://127.0.0.1:$port/" \
		-H 'ce-specversion: 1.0' -H "ce-id: $1" -H 'ce-source: /func-e2e/curl' \
		-H "ce-type: $USER_CREATED" -H "ce-$ROUTE_EXTENSION: $2" \
		-H 'content-type: application/json' --data-binary "$3"
}

# user prints a UserEvent as JSON. Arguments: id, name, email.
user() {
	printf '{"id":"%s","name":"%s","email":"%s","version":1,' "$1" "$2" "$3"
	printf '"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}'
}

step_build() {
	step "func build --builder=host"
	"$FUNC" build --builder=host --registry="$REGISTRY" --path="$fn" \
		>"$work/logs/build.log" 2>&1 ||
		fail "func build --builder=host" "$work/logs/build.log"
	pass "func build: $(grep -o -m1 'Function built: .*' "$work/logs/build.log" || echo built)"

	"$FUNCCHECK" image "$fn/.func/builds/last/oci" --platform linux/amd64 \
		>"$work/logs/image.log" 2>&1 ||
		fail "host builder OCI image for linux/amd64" "$work/logs/image.log"
	sed 's/^/     /' "$work/logs/image.log"
	pass "OCI image layout has a runnable linux/amd64 image"

	# The CLI rewrites func.yaml (and drops its comments); the source's is
	# compared at the end.
	printf '     func.yaml (copy) now has: %s\n' \
		"$(grep -E '^registry:|^  builder:' "$fn/func.yaml" | tr -s ' \n' ' ')"
}

step_run() {
	step "func run --container=false"
	# setsid: the CLI, the go build it starts and the function share one
	# process group whose id is the CLI's pid, so cleanup can reach them all.
	setsid "$FUNC" run --container=false --path="$fn" >"$work/logs/run.log" 2>&1 &
	run_pid=$!

	local deadline=$((SECONDS + ${FUNC_E2E_START_TIMEOUT:-600}))
	until port=$(sed -n 's/^Running on host port \([0-9]*\)$/\1/p' "$work/logs/run.log") &&
		[ -n "$port" ]; do
		kill -0 "$run_pid" 2>/dev/null || fail "func run exited before the function was ready" \
			"$work/logs/run.log"
		[ "$SECONDS" -lt "$deadline" ] || fail "func run: not ready in time" "$work/logs/run.log"
		sleep 1
	done
	pass "func run: function ready on port $port, pid $run_pid"

	local probe code
	for probe in readiness liveness; do
		code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
			"http://127.0.0.1:$port/health/$probe") || true
		[ "$code" = 200 ] || fail "GET /health/$probe: HTTP $code, want 200" "$work/logs/run.log"
	done
	pass "GET /health/readiness and /health/liveness: HTTP 200"
}

# step_invoke sends a user-created event with `func invoke`. The func v0.44
# CLI cannot set CloudEvents extensions, so the event names no handler and
# the function must refuse it with 400, as its routing documents; the check
# is that it reached the function (the function logs the refusal of this
# event id) and that no handler ran. `func invoke` itself exits 0 on any HTTP
# answer, so its status proves only that the event was delivered.
step_invoke() {
	step "func invoke"
	local id=e2e-invoke-1 email=grace@example.com
	"$FUNC" invoke --path="$fn" --id="$id" --source=/func-e2e/invoke \
		--type="$USER_CREATED" --data="$(user u-e2e-invoke 'Grace Hopper' "$email")" \
		>"$work/logs/invoke.log" 2>&1 ||
		fail "func invoke exited non-zero" "$work/logs/invoke.log" "$work/logs/run.log"
	pass "func invoke found the local instance and delivered event $id"

	awk -v id="event_id=$id" 'index($0, id) && /msg="event rejected"/ && / status=400 / \
		{ found = 1 } END { exit !found }' "$work/logs/run.log" ||
		fail "function log: no 400 refusal of event $id (no $ROUTE_EXTENSION extension)" \
			"$work/logs/run.log"
	check_sql "SELECT count(*) FROM users WHERE id = ?" u-e2e-invoke "0"
	"$FUNCCHECK" mail "$fn/.local/outbox" --to "$email" --count 0 >/dev/null ||
		fail "a mail was sent for the unrouted event"
	pass "function refused event $id with 400 (no $ROUTE_EXTENSION extension); no handler ran"
}

step_curl() {
	step "curl, binary mode"
	local email=ada@example.com data code
	data=$(user u-e2e-curl 'Ada Lovelace' "$email")

	code=$(post e2e-curl-welcome welcome "$data") || true
	[ "$code" = 200 ] || fail "welcome: HTTP $code, want 200" \
		"$work/logs/curl-e2e-curl-welcome" "$work/logs/run.log"
	"$FUNCCHECK" mail "$fn/.local/outbox" --to "$email" --count 1 \
		>"$work/logs/mail.log" 2>&1 || fail "welcome: outbox" "$work/logs/mail.log"
	sed 's/^/     /' "$work/logs/mail.log"
	pass "ce-$ROUTE_EXTENSION: welcome -> HTTP 200, one .eml to $email in .local/outbox"

	code=$(post e2e-curl-directory directory "$data") || true
	[ "$code" = 200 ] || fail "directory: HTTP $code, want 200" \
		"$work/logs/curl-e2e-curl-directory" "$work/logs/run.log"
	check_sql "SELECT id, email, version FROM users WHERE id = ?" u-e2e-curl \
		"$(printf 'u-e2e-curl\t%s\t1' "$email")"
	pass "ce-$ROUTE_EXTENSION: directory -> HTTP 200, users row u-e2e-curl in .local/users.db"

	code=$(post e2e-curl-unknown nosuchhandler "$data") || true
	[ "$code" = 400 ] || fail "unknown handler: HTTP $code, want 400" \
		"$work/logs/curl-e2e-curl-unknown" "$work/logs/run.log"
	pass "ce-$ROUTE_EXTENSION: nosuchhandler -> HTTP 400"
}

# check_sql runs a query with one argument on the function's database and
# requires its output to be want.
check_sql() {
	local q=$1 arg=$2 want=$3 got
	got=$("$FUNCCHECK" sql "$fn/.local/users.db" "$q" "$arg" 2>&1) ||
		fail "query users.db: $got" "$work/logs/run.log"
	[ "$got" = "$want" ] || fail "users.db: $q [$arg]: got '$got', want '$want'"
}

# step_stop stops the run as Ctrl-C in a terminal does: SIGINT to the
# process group, so the CLI and the function both get it. The v0.44 CLI then
# kills the function (SIGKILL, exec.CommandContext), so the function's Stop
# hook may not finish; what is checked is that nothing is left running.
step_stop() {
	step "stop"
	kill -INT -- "-$run_pid"
	local rc=0 left
	for _ in $(seq 1 "$STOP_TIMEOUT"); do
		kill -0 "$run_pid" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$run_pid" 2>/dev/null && fail "func run still running ${STOP_TIMEOUT}s after SIGINT"
	wait "$run_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "func run exited with status $rc after SIGINT" "$work/logs/run.log"

	for _ in $(seq 1 "$STOP_TIMEOUT"); do
		left=$(group_members "$run_pid")
		[ -z "$left" ] && break
		sleep 1
	done
	# shellcheck disable=SC2086 # one pid a word
	[ -z "$left" ] || fail "processes left in the run's group: $(describe $left)"
	port_open "$port" && fail "port $port still accepts connections"
	[ -z "$(ls -A "$fn/.func/runs" 2>/dev/null)" ] ||
		fail "func run left $(ls "$fn/.func/runs") in .func/runs"
	pass "SIGINT: func run exited 0, no process left, port $port closed"
	run_pid=""
}

main() {
	local tools_only=""
	if [ "${1:-}" = --tools-only ]; then
		tools_only=1
		shift
	fi
	src=$(cd "${1:-$ROOT}" && pwd)

	step "tools"
	build_tools
	pass "$("$FUNC" version) CLI at ${FUNC#"$ROOT"/}, funccheck at ${FUNCCHECK#"$ROOT"/}"
	[ -z "$tools_only" ] || return 0

	git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
		fail "$src is not a git work tree (the copy takes the files git would commit)"
	[ -f "$src/func.yaml" ] || fail "no func.yaml in $src"
	local yaml_sum
	yaml_sum=$(sha256sum <"$src/func.yaml")

	# Absolute: v0.44 `func run --container=false` fails to start the
	# function when --path is relative.
	work=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/func-e2e.XXXXXX")" && pwd)
	fn=$work/fn
	mkdir -p "$fn" "$work/logs"
	copy_function "$src" "$fn"

	# The host builder is behind a feature flag in v0.44, and once func.yaml
	# says `builder: host` every command needs it. The function's go.mod asks
	# for go > 1.21 and modules the scaffold's go.mod lacks: -mod=mod lets
	# the scaffold's go build resolve them.
	# CGO_ENABLED=0 as the host builder sets it, so that `func run`'s go build
	# reuses the linux/amd64 build's cache instead of compiling it all again.
	export FUNC_ENABLE_HOST_BUILDER=true CGO_ENABLED=0
	GOFLAGS="$(go env GOFLAGS) -mod=mod"
	export GOFLAGS

	step_build
	step_run
	step_invoke
	step_curl
	step_stop

	step "source tree"
	[ "$(sha256sum <"$src/func.yaml")" = "$yaml_sum" ] || fail "$src/func.yaml changed"
	pass "func.yaml in ${src} unchanged"
}

trap cleanup EXIT
main "$@"
