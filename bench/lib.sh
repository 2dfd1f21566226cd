# SPDX-License-Identifier: ISC
#
# bench/lib.sh -- what bench/run and bench/tls share: packages, the Tern
# build, the private Tern and Postfix instances, their clean-up, and the
# measuring helpers.  Sourced, not run; the caller sets top, MESSAGES,
# SESSIONS and SIZE first.

RUN_TIMEOUT=${BENCH_TIMEOUT:-600}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
BENCH_USER=ternbench
SMTP_SOURCE=/usr/sbin/smtp-source
SENDER=bench@localhost
RECIPIENT=$BENCH_USER@localhost

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# ---- packages -----------------------------------------------------------

packages=(postfix iproute2 procps build-essential autoconf automake libtool
	pkg-config libgnutls28-dev libbsd-dev libevent-dev libunbound-dev
	liblmdb-dev)
[ -n "${TERN_BUILD:-}" ] && packages=(postfix iproute2 procps)

made_policy=""
install_packages() {
	local missing=() p new_postfix=""
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[[ " ${missing[*]} " == *" postfix "* ]] && new_postfix=y
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# No system Postfix: no main.cf, and no service started by the package.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=y
	fi
	timeout 900 apt-get update -qq
	timeout 1800 apt-get install -y -qq --no-install-recommends \
	    "${missing[@]}" >/dev/null
	if [ -n "$made_policy" ]; then
		rm -f /usr/sbin/policy-rc.d
		made_policy=""
	fi
	# Had a system Postfix started anyway, stop it: nothing of this
	# benchmark may listen on port 25.
	if [ -n "$new_postfix" ] && [ -f /etc/postfix/main.cf ] &&
	    postfix status >/dev/null 2>&1; then
		say "stopping the system Postfix the package started"
		timeout 60 postfix stop || true
	fi
}

# ---- Tern build ---------------------------------------------------------

# The caller may add daemons (TERN_DAEMONS+=(tlsproxy)) before build_tern.
TERN_DAEMONS=(master smtpd cleanup ${TERN_DAEMONS[@]+"${TERN_DAEMONS[@]}"})
tern_targets=(cli/ternctl)
for _d in "${TERN_DAEMONS[@]}"; do
	tern_targets+=("daemons/$_d/$_d")
done
unset _d
build_tern() {
	local t
	if [ -n "${TERN_BUILD:-}" ]; then
		BUILD=$(cd "$TERN_BUILD" && pwd)
		for t in "${tern_targets[@]}"; do
			[ -x "$BUILD/$t" ] || die "$BUILD/$t: not built"
		done
		return 0
	fi
	BUILD=$top/build-bench
	if [ ! -x "$top/configure" ]; then
		say "autoreconf"
		(cd "$top" && autoreconf -fi >/dev/null 2>&1)
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] || [ "$top/configure" -nt "$BUILD/Makefile" ]; then
		say "configure in $BUILD"
		(cd "$BUILD" && "$top/configure" -q --without-check \
		    --prefix="$BUILD/prefix")
	fi
	say "make in $BUILD"
	make -s -C "$BUILD" -j"$(nproc)" "${tern_targets[@]}" \
	    >"$BUILD/make.log" 2>&1 ||
	    { tail -40 "$BUILD/make.log" >&2; die "make failed in $BUILD"; }
}

# ---- helpers ------------------------------------------------------------

# A TCP port on 127.0.0.1 that no socket uses now, below the kernel's
# ephemeral range: a port in that range may become some client's local
# port (ours, or another job's) before the server binds it, and then the
# bind fails with "Address already in use".
free_port() {
	local i p lo span
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	span=$((lo - 20000))
	[ "$span" -ge 1000 ] || die "the ephemeral port range starts too low ($lo)"
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % span))
		[ "$p" = "${1:-}" ] && continue
		[ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	die "no free port found"
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (30 s at most).
wait_port() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ -n "$(ss -Htln "sport = :$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

now_ns() { date +%s%N; }

# Files in a Maildir subdirectory (new/, tmp/); 0 when it is missing.
maildir_count() {
	find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# Files in a queue directory that are complete messages.
tern_queue_count() {
	find "$TERN_SPOOL/incoming" -type f ! -name 't.*' | wc -l
}
postfix_queue_count() {
	# Postfix marks a queue file complete by setting its execute bit.
	find "$PF_SPOOL/incoming" -type f -perm -u+x | wc -l
}
tern_queue_clear() { find "$TERN_SPOOL/incoming" -type f -delete; }
postfix_queue_clear() { find "$PF_SPOOL/incoming" -type f -delete; }

# ---- the instances -----------------------------------------------------

WORK=""
TERN_UP=""
PF_UP=""
QMGR_FIFO_PID=""
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	set +e
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	if [ -n "$TERN_UP" ]; then
		timeout 60 "$BUILD/cli/ternctl" -c "$TERN_ETC" stop >/dev/null 2>&1
	fi
	if [ -n "$PF_UP" ]; then
		timeout 60 postfix -c "$PF_ETC" stop >/dev/null 2>&1
		# "postfix stop" does not wait for the master to go.
		for ((p = 0; p < 100; p++)); do
			[ -z "$(pf_pids)" ] && break
			sleep 0.1
		done
	fi
	[ -n "$QMGR_FIFO_PID" ] && kill "$QMGR_FIFO_PID" 2>/dev/null
	# smtp-source loops still running after an interrupt.
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		# Whatever of ours outlived the stop commands (by pid).
		# shellcheck disable=SC2013 # pids, one word each
		for p in $(grep -lsF "$WORK" /proc/[0-9]*/cmdline |
		    cut -d/ -f3); do
			[ "$p" != "$$" ] && kill -KILL "$p" 2>/dev/null
		done
		[ -n "$PF_UP" ] && for p in $(pf_pids); do
			kill -KILL "$p" 2>/dev/null
		done
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# Postfix's processes: its daemons all work in queue_directory.
pf_pids() {
	local f
	for f in /proc/[0-9]*/cwd; do
		[ "$(readlink "$f" 2>/dev/null)" = "$PF_SPOOL" ] &&
		    { f=${f#/proc/}; echo "${f%/cwd}"; }
	done
	return 0
}

# prepare: the clean-up on exit, the packages, the Tern build, the user,
# the temporary directory WORK and the two ports; the instances are then
# started with setup_tern and setup_postfix.
prepare() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	install_packages
	build_tern
	make_user
	mkdir -p "$TMPBASE"
	WORK=$(mktemp -d "$TMPBASE/tern-bench.XXXXXX")
	chmod 755 "$WORK"
	TERN_PORT=$(free_port)
	PF_PORT=$(free_port "$TERN_PORT")
	say "Tern on 127.0.0.1:$TERN_PORT, Postfix on 127.0.0.1:$PF_PORT, in $WORK"
}

make_user() {
	getent passwd "$BENCH_USER" >/dev/null ||
	    useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin "$BENCH_USER"
}

setup_tern() {
	local d=$WORK/tern p
	TERN_ETC=$d/etc
	TERN_SPOOL=$d/spool
	TERN_LOG=$d/maillog
	mkdir -p "$TERN_ETC" "$d/libexec"
	for p in "${TERN_DAEMONS[@]}"; do
		ln -s "$BUILD/daemons/$p/$p" "$d/libexec/$p"
	done
	cat > "$TERN_ETC/tern.conf" <<EOC
queue_directory = $TERN_SPOOL
daemon_directory = $d/libexec
maillog_file = $TERN_LOG
mail_owner = $BENCH_USER
setgid_group = $BENCH_USER
myhostname = localhost.localdomain
mydestination = localhost
mynetworks = 127.0.0.0/8
${TERN_CONF_EXTRA:-}
EOC
	# As conf/services.conf ships them, on a loopback high port.
	cat > "$TERN_ETC/services.conf" <<EOC
smtp        inet 127.0.0.1:$TERN_PORT y n 100 5 - smtpd
cleanup     unix private/cleanup  y n 100 0 - cleanup
${TERN_SERVICES_EXTRA:-}
EOC
	"$BUILD/cli/ternctl" -c "$TERN_ETC" check >"$d/check.log" 2>&1 ||
	    die "ternctl check failed: $(cat "$d/check.log")"
	TERN_UP=y
	timeout 60 "$BUILD/cli/ternctl" -c "$TERN_ETC" start >"$d/start.log" 2>&1 ||
	    die "Tern did not start: $(cat "$d/start.log"; tail -5 "$TERN_LOG" 2>/dev/null)"
	wait_port "$TERN_PORT" || die "Tern is not listening on $TERN_PORT"
}

setup_postfix() {
	local d=$WORK/postfix
	PF_ETC=$d/etc
	PF_SPOOL=$d/spool
	PF_LOG=$d/maillog
	mkdir -p "$PF_ETC" "$PF_SPOOL" "$d/data"
	chmod 755 "$d" "$PF_ETC" "$PF_SPOOL"
	chown postfix "$d/data"
	# Postfix's defaults, except where the file says otherwise; the
	# same names, domains and networks as Tern's.
	cat > "$PF_ETC/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $d/data
maillog_file = $PF_LOG
maillog_file_prefixes = $WORK
myhostname = localhost.localdomain
mydomain = localdomain
mydestination = localhost
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
inet_protocols = ipv4
# Recipients are checked as Tern checks them: getpwnam() in smtpd.
local_recipient_maps = unix:passwd.byname
alias_maps =
alias_database =
biff = no
# Postfix slows cleanup down by in_flow_delay (1 s) per message whenever
# mail arrives faster than qmgr takes it; with no qmgr that is every
# message.  Tern has no such brake.
in_flow_delay = 0
${PF_MAIN_EXTRA:-}
EOC
	# Only what receiving needs.  No qmgr (nor pickup): accepted mail
	# stays in incoming/, as in Tern, which has no queue manager yet.
	# cleanup still wakes the queue manager after each message, through
	# the public/qmgr FIFO; a reader that only drains the FIFO stands in
	# for qmgr, so that cleanup does its usual work and does not log a
	# warning per message (see docs/performance.md).
	cat > "$PF_ETC/master.cf" <<EOC
127.0.0.1:$PF_PORT inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
rewrite   unix - - n - - trivial-rewrite
anvil     unix - - n - 1 anvil
postlog   unix-dgram n - n - 1 postlogd
${PF_MASTER_EXTRA:-}
EOC
	PF_UP=y
	timeout 120 postfix -c "$PF_ETC" start >"$d/start.log" 2>&1 ||
	    die "Postfix did not start: $(cat "$d/start.log"; tail -5 "$PF_LOG")"
	wait_port "$PF_PORT" || die "Postfix is not listening on $PF_PORT"
	mkfifo -m 0622 "$PF_SPOOL/public/qmgr"
	chown postfix "$PF_SPOOL/public/qmgr"
	# Opened read-write, so the reader never sees end-of-file.
	( exec 3<>"$PF_SPOOL/public/qmgr" && exec cat <&3 >/dev/null ) &
	QMGR_FIFO_PID=$!
}

# ---- measurements -------------------------------------------------------

# send PORT PER_CONN COUNT: COUNT messages over SESSIONS concurrent
# connections, PER_CONN messages per connection; sets MS to the
# milliseconds taken and returns non-zero if smtp-source failed.
send() {
	local port=$1 per=$2 count=$3 log=$WORK/smtp-source.log
	local t0 t1 i j loops pids=() fail=0
	local args=(-s 1 -l "$SIZE" -f "$SENDER" -t "$RECIPIENT"
		-M localhost.localdomain)
	: > "$log"
	t0=$(now_ns)
	if [ "$per" -eq 1 ]; then
		# One smtp-source, SESSIONS parallel sessions, a new
		# connection for each message.
		# (In the background, so that a signal to this script is
		# handled at once, not when smtp-source is done.)
		timeout "$RUN_TIMEOUT" "$SMTP_SOURCE" -s "$SESSIONS" -m "$count" \
		    -l "$SIZE" -f "$SENDER" -t "$RECIPIENT" \
		    -M localhost.localdomain "127.0.0.1:$port" >>"$log" 2>&1 &
		wait $! || fail=1
	else
		# SESSIONS streams side by side; each opens COUNT/(SESSIONS*PER)
		# connections one after the other and sends PER messages on each.
		loops=$((count / (SESSIONS * per)))
		for ((i = 0; i < SESSIONS; i++)); do
			(
				for ((j = 0; j < loops; j++)); do
					timeout "$RUN_TIMEOUT" "$SMTP_SOURCE" -d \
					    -m "$per" "${args[@]}" \
					    "127.0.0.1:$port" || exit 1
				done
			) >>"$log" 2>&1 &
			pids+=($!)
		done
		for i in "${pids[@]}"; do
			wait "$i" || fail=1
		done
	fi
	t1=$(now_ns)
	MS=$(((t1 - t0) / 1000000))
	if [ "$fail" -ne 0 ]; then
		echo "bench/${0##*/}: FAILURE: smtp-source to port $port failed:" >&2
		head -20 "$log" >&2
		return 1
	fi
	return 0
}

# Messages per connection and the number actually sent for a mode.
mode_per() {
	local per=$1
	[ $((SESSIONS * per)) -gt "$MESSAGES" ] && per=$((MESSAGES / SESSIONS))
	echo "$per"
}
mode_count() {
	local per=$1 conns
	conns=$((MESSAGES / (SESSIONS * per)))	# connections per stream
	echo $((conns * SESSIONS * per))
}

# cpu_ticks MASTER_PID: clock ticks of CPU used so far by a master, its
# live children, and its children that have exited (those the master
# reaped are in its cutime and cstime).
cpu_ticks() {
	local m=$1 p total
	total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$m/stat")
	for p in $(ps -o pid= --ppid "$m"); do
		total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$total"
}
master_pid() {
	if [ "$1" = tern ]; then
		tr -dc 0-9 < "$TERN_SPOOL/pid/master.pid"
	else
		tr -dc 0-9 < "$PF_SPOOL/pid/master.pid"
	fi
}
CLK_TCK=$(getconf CLK_TCK)

FAILURES=0
# measure NAME PER COUNT: one timed run through SEND_FN (default send,
# with the same arguments); sets RATE (messages per second,
# counting only the messages found in the queue afterwards).
measure() {
	local name=$1 per=$2 count=$3 port n m c0 c1
	if [ "$name" = tern ]; then port=$TERN_PORT; else port=$PF_PORT; fi
	"${name}_queue_clear"
	sync
	m=$(master_pid "$name")
	c0=$(cpu_ticks "$m")
	"${SEND_FN:-send}" "$port" "$per" "$count" || FAILURES=$((FAILURES + 1))
	c1=$(cpu_ticks "$m")
	n=$("${name}_queue_count")
	if [ "$n" -ne "$count" ]; then
		echo "bench/${0##*/}: FAILURE: $name: $count messages sent, $n queue files in incoming/" >&2
		FAILURES=$((FAILURES + 1))
	fi
	[ "$MS" -gt 0 ] || MS=1
	RATE=$(awk -v n="$n" -v ms="$MS" 'BEGIN { printf "%.0f", n * 1000 / ms }')
	CPU=$(awk -v n="$count" -v t="$((c1 - c0))" -v hz="$CLK_TCK" \
	    'BEGIN { printf "%.2f", t * 1000 / hz / n }')
	say "$name: $n messages, $per per connection, in $MS ms: $RATE msg/s, $CPU ms CPU/msg"
}

# Warm-up: a few messages to each, so that cleanup processes exist and
# caches are hot before the clock runs.
warm_up() {
	send "$TERN_PORT" 1 "$SESSIONS" || FAILURES=$((FAILURES + 1))
	send "$PF_PORT" 1 "$SESSIONS" || FAILURES=$((FAILURES + 1))
	tern_queue_clear
	postfix_queue_clear
}

# The cost of creating a process on this machine, for reference: CPU ms
# for one fork+exec of /bin/true from this shell (the mean of 200).
spawn_cost() {
	local t TIMEFORMAT='%U %S'
	t=$( { time (for ((i = 0; i < 200; i++)); do /bin/true; done); } 2>&1 )
	awk -v u="${t% *}" -v s="${t#* }" 'BEGIN { printf "%.2f", (u + s) * 1000 / 200 }'
}

# machine_cost: one line with what a system call, a page fault and a
# fork cost here (bench/machine-cost.c, compiled in the work directory).
machine_cost() {
	local out
	cc -O2 -o "$WORK/machine-cost" "$top/bench/machine-cost.c" 2>/dev/null ||
	    { echo "(bench/machine-cost.c did not compile)"; return 0; }
	out=$("$WORK/machine-cost") || { echo "(machine-cost failed)"; return 0; }
	awk '{ v[$1] = $2 } END {
		printf "one system call %s us, a page fault %s us (copy-on-write %s us),",
		    v["syscall"], v["anon_fault"], v["cow_fault"]
		printf " a fork whose child exits %s us of CPU (%s us when it writes 64 pages)\n",
		    v["fork_exit"], v["fork_touch64_exit"] }' <<<"$out"
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# idle_rss PORT: connect, read the greeting, and set RSS, ANON and PSS
# (VmRSS, RssAnon, Pss in KiB) of the smtpd process serving the connection.
idle_rss() {
	local port=$1 fd greeting cport pid i
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	IFS= read -r -t 10 -u "$fd" greeting ||
	    { exec {fd}>&-; die "no greeting on port $port"; }
	[[ $greeting == 220* ]] || die "port $port greeted with: $greeting"
	cport=$(ss -Htnp state established "( dport = :$port )" |
	    grep "pid=$BASHPID," | awk '{ n = split($3, a, ":"); print a[n] }')
	[ -n "$cport" ] || die "cannot find our connection to port $port"
	pid=""
	for ((i = 0; i < 50; i++)); do
		pid=$(ss -Htnp state established \
		    "( sport = :$port and dport = :$cport )" |
		    grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || die "no server process found for port $port"
	sleep 0.5
	RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	ANON=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
	PSS=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
	say "idle smtpd on port $port: pid $pid, VmRSS $RSS KiB, RssAnon $ANON KiB, Pss $PSS KiB"
	printf 'QUIT\r\n' >&"$fd" || true
	exec {fd}>&-
}


ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf '| %-44s | %10s | %10s | %6s |\n' "$@"; }

# What either server logged that is not routine: sets tern_bad and pf_bad.
# Both log "name[pid]: warning: ..." (and error, fatal, panic).
TROUBLE=']: (warning|error|fatal|panic): '
count_trouble() {
	tern_bad=$(grep -Ec "$TROUBLE" "$TERN_LOG" || true)
	pf_bad=$(grep -Ec "$TROUBLE" "$PF_LOG" || true)
}

# report_head WHAT: the lines above the table (load, versions, machine,
# WHAT was run) and the table's head.
report_head() {
	local postfix_version tern_version
	postfix_version=$(postconf -d -h mail_version 2>/dev/null || echo '?')
	tern_version=$("$BUILD/cli/ternctl" -c "$TERN_ETC" config mail_version 2>/dev/null |
	    awk '{ print $NF }' || echo '?')
	echo
	echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "Tern ${tern_version:-?} vs Postfix $postfix_version; $(nproc) CPUs," \
	    "$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo);" \
	    "$1"
	echo
	row metric Tern Postfix Tern/Postfix
	row "----" "----" "----" "----"
}

# report_tail: the first log lines that look like trouble, and the exit
# status: 1 after any failure.
report_tail() {
	if [ "$tern_bad" -gt 0 ]; then
		echo "Tern's log (first lines that look like trouble):"
		grep -E "$TROUBLE" "$TERN_LOG" | head -10
	fi
	if [ "$pf_bad" -gt 0 ]; then
		echo "Postfix's log (first lines that look like trouble):"
		grep -E "$TROUBLE" "$PF_LOG" | head -10
	fi
	if [ "$FAILURES" -gt 0 ]; then
		echo "FAILED: $FAILURES failure(s), see above"
		exit 1
	fi
	return 0
}
