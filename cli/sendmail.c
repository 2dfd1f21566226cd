/*
 * SPDX-License-Identifier: ISC
 *
 * sendmail.c -- the sendmail(1) command programs call to post mail;
 * also mailq(1) and newaliases(1), by the base name of argv[0].
 *
 *   sendmail [-C dir] [-t] [-i | -oi] [-f sender] [-F full_name] [-bm]
 *            [-oX...] [--] [recipient ...]
 *   sendmail [-C dir] -bs      SMTP on stdin and stdout
 *   sendmail [-C dir] -bp      mailq: "ternctl -c dir queue list"
 *   sendmail [-C dir] -q       "ternctl -c dir queue flush"
 *   sendmail [-C dir] -bi      newaliases: build every alias_maps table
 *
 * Process:  sendmail (the caller's privilege; never setuid or setgid).
 * Input:    command line, the message on stdin (the caller's own), the
 *           configuration chosen with -C DIR or TERN_CONFIG_DIR (default
 *           the configure-time config directory).
 * Output:   a maildrop file (lib/maildrop.h) piped to
 *           $command_directory/terndrop, which checks it and puts it
 *           into maildrop/ with the setgid group; pickup does the rest.
 *           Works while the master is down: the file waits in maildrop/.
 *
 * Submission (-bm, the default):
 * - The sender is -f's address ("<>" for the null sender; angle
 *   brackets are taken off) or, without -f, the caller's login name (its
 *   uid in digits when it has none); cleanup adds "@myorigin" to a
 *   sender without a domain.  The uid pickup records comes from the
 *   maildrop file's owner, never from here.
 * - -F sets the full name for the From: cleanup adds to a message that
 *   has none (at most MAILDROP_NAME_MAX bytes, no control characters).
 * - Recipients are the arguments, each an address list ("a@x, Bee
 *   <b@y>"); with -t also the To:, Cc: and Bcc: fields of the header
 *   section, and Bcc: fields are removed from the message.  The header
 *   fields are read here, as the caller, not in a daemon: see
 *   docs/queue-file.md, "Maildrop files".  Duplicates are dropped.
 * - Without -i (or -oi) a line that holds only "." ends the message (it
 *   and what follows are not part of it); with -i only the end of the
 *   input does.  Lines are otherwise kept byte for byte.
 * - The message may be at most message_size_limit bytes.
 * - -oX... options other than -oi are ignored with a warning on
 *   stderr, as are -B, -N, -R, -V and -v with their arguments.
 *
 * -bs speaks ESMTP on stdin and stdout, one message per DATA, each
 * submitted through terndrop as above: EHLO, HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT; other known commands get 502 5.5.1, unknown ones
 * 500 5.5.2 (lib/smtpcmd parses every line).
 *
 * Exit status (sysexits.h, as sendmail(1) programs expect): 0 ok;
 * 64 EX_USAGE bad options or no recipient; 65 EX_DATAERR a bad address,
 * a bad -t header or a message over message_size_limit; 67 EX_NOUSER
 * no such user; 70 EX_SOFTWARE internal error; 71 EX_OSERR a system
 * call failed (cannot run terndrop); 75 EX_TEMPFAIL the message could not
 * be queued now (try later); 77 EX_NOPERM terndrop refused the
 * configuration or maildrop/; 78 EX_CONFIG the configuration has errors.
 * terndrop's own status is passed on.  mailq, -bp and -q exit as
 * ternctl does; newaliases exits 0, or 1 when a table was not built.
 * Errors go to stderr as "sendmail: ...".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/wait.h>

#include "buf.h"
#include "conf.h"
#include "lineio.h"
#include "maildrop.h"
#include "map.h"
#include "smtpcmd.h"

#ifndef TERN_CONFIG_DIR
#define TERN_CONFIG_DIR	"/etc/tern"
#endif

#define BS_LINE_MAX	2048		/* -bs command line */
#define BS_TIMEOUT_MS	(300 * 1000)
#define PIECE_MAX	(64 * 1024)	/* message lines read in pieces */

static const char *prog = "sendmail";

struct opts {
	const char	*config_dir;
	bool		 config_chosen;
	enum { M_SEND, M_SMTP, M_LIST, M_FLUSH, M_ALIASES } mode;
	bool		 extract;	/* -t */
	bool		 ignore_dots;	/* -i, -oi */
	const char	*sender;	/* -f */
	const char	*fullname;	/* -F */
};

static _Noreturn void
die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static _Noreturn void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: %s [-C dir] [-t] [-i] [-f sender] [-F name] [-bm] "
	    "[--] [recipient ...]\n"
	    "       %s [-C dir] -bs | -bp | -bi | -q\n", prog, prog);
	exit(EX_USAGE);
}

/* ---- configuration ------------------------------------------------------ */

static void
conf_diag(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	int *errors = arg;

	if (sev == CONF_ERROR)
		(*errors)++;
	fprintf(stderr, "%s: %s:%u: %s%s%s\n", prog, file ? file : "", line,
	    param ? param : "", param ? ": " : "", msg);
}

static struct conf *
load_conf(const char *dir)
{
	static int errors;
	struct conf *c;
	char path[PATH_MAX];
	int n;

	if ((size_t)snprintf(path, sizeof(path), "%s/tern.conf", dir) >=
	    sizeof(path))
		die(EX_USAGE, "%s: name too long", dir);
	c = conf_new(conf_diag, &errors);
	n = conf_load(c, path);
	if (n != 0 || conf_finish(c) != 0 || errors != 0)
		die(EX_CONFIG, "%s: configuration errors", path);
	return c;
}

/* $command_directory/name, or die. */
static void
command_path(const struct conf *c, const char *name, char *buf, size_t sz)
{
	if ((size_t)snprintf(buf, sz, "%s/%s", conf_str(c, "command_directory"),
	    name) >= sz)
		die(EX_CONFIG, "command_directory too long");
}

/* ---- options -------------------------------------------------------------- */

/* -oX...: only -oi means something. */
static void
opt_o(struct opts *o, const char *arg)
{
	if (strcmp(arg, "i") == 0)
		o->ignore_dots = true;
	else
		warn("-o%s: option ignored", arg);
}

static void
opt_b(struct opts *o, const char *arg)
{
	if (strcmp(arg, "m") == 0)
		o->mode = M_SEND;
	else if (strcmp(arg, "s") == 0)
		o->mode = M_SMTP;
	else if (strcmp(arg, "p") == 0)
		o->mode = M_LIST;
	else if (strcmp(arg, "i") == 0)
		o->mode = M_ALIASES;
	else {
		fprintf(stderr, "%s: -b%s: unsupported mode\n", prog, arg);
		usage();
	}
}

static int
parse_opts(int argc, char *argv[], struct opts *o)
{
	const char *env;
	int ch;

	env = getenv("TERN_CONFIG_DIR");
	o->config_chosen = env != NULL && env[0] != '\0';
	o->config_dir = o->config_chosen ? env : TERN_CONFIG_DIR;
	while ((ch = getopt(argc, argv, "+B:b:C:F:f:iN:o:q::R:tV:v")) != -1) {
		switch (ch) {
		case 'b':
			opt_b(o, optarg);
			break;
		case 'C':
			o->config_dir = optarg;
			o->config_chosen = true;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'f':
			o->sender = optarg;
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'o':
			opt_o(o, optarg);
			break;
		case 'q':
			if (optarg != NULL)
				warn("-q%s: interval ignored, flushing once",
				    optarg);
			o->mode = M_FLUSH;
			break;
		case 't':
			o->extract = true;
			break;
		case 'B':
		case 'N':
		case 'R':
		case 'V':
			warn("-%c %s: option ignored", ch, optarg);
			break;
		case 'v':
			warn("-v: option ignored");
			break;
		default:
			usage();
		}
	}
	return optind;
}

/* ---- the message ---------------------------------------------------------- */

/*
 * stdin up to its end, or (without -i) up to a line that holds only
 * ".".  At most limit bytes (0: MAILDROP_CONTENT_HARD_MAX).
 */
static void
read_message(struct buf *msg, bool ignore_dots, uint64_t limit)
{
	struct lineio in;
	const char *p;
	enum lineio_end end;
	enum lineio_result r;
	size_t n;
	bool bol = true;

	if (limit == 0 || limit > MAILDROP_CONTENT_HARD_MAX)
		limit = MAILDROP_CONTENT_HARD_MAX;
	buf_init(msg, (size_t)limit);
	lineio_init(&in, STDIN_FILENO, PIECE_MAX, -1);
	while ((r = lineio_read_part(&in, &p, &n, &end)) == LINEIO_OK) {
		if (!ignore_dots && bol && end != LINEIO_END_NONE && n == 1 &&
		    p[0] == '.')
			break;
		if (buf_add(msg, p, n) == -1 ||
		    (end == LINEIO_END_CRLF && buf_add(msg, "\r\n", 2) == -1) ||
		    (end == LINEIO_END_LF && buf_add(msg, "\n", 1) == -1))
			die(EX_DATAERR, "message too big (message_size_limit "
			    "is %llu bytes)", (unsigned long long)limit);
		bol = end != LINEIO_END_NONE;
	}
	if (r == LINEIO_ERR)
		die(EX_TEMPFAIL, "reading the message: %s", strerror(errno));
	/* A last line without its end: lineio keeps nothing back. */
	lineio_free(&in);
}

/* The default sender: the caller's login name, else its uid. */
static void
default_sender(char *buf, size_t sz)
{
	struct passwd *pw;

	if ((pw = getpwuid(getuid())) != NULL && pw->pw_name[0] != '\0' &&
	    maildrop_addr_ok(pw->pw_name, strlen(pw->pw_name), true)) {
		if (strlcpy(buf, pw->pw_name, sz) < sz)
			return;
	}
	snprintf(buf, sz, "%lu", (unsigned long)getuid());
}

/* -f's address: "<>" is the null sender; <...> comes off. */
static void
sender_arg(const char *f, char *buf, size_t sz)
{
	size_t n = strlen(f);

	if (n >= 2 && f[0] == '<' && f[n - 1] == '>') {
		f++;
		n -= 2;
	}
	if (n >= sz || !maildrop_addr_ok(f, n, true))
		die(EX_DATAERR, "-f %s: bad sender address", f);
	memcpy(buf, f, n);
	buf[n] = '\0';
}

/* ---- terndrop ------------------------------------------------------------- */

/*
 * Pipe the file to terndrop; its exit status.  What it prints (the
 * maildrop file's name) goes to name, when not NULL, else to our stdout
 * is not wanted either: it is read and kept.
 */
static int
run_terndrop(const struct opts *o, const struct conf *c,
    const struct buf *file, char *name, size_t namesz)
{
	char path[PATH_MAX];
	int in[2], out[2], status;
	size_t off = 0, got = 0;
	ssize_t n;
	pid_t pid;

	command_path(c, "terndrop", path, sizeof(path));
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		die(EX_OSERR, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die(EX_OSERR, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(in[0], STDIN_FILENO) == -1 ||
		    dup2(out[1], STDOUT_FILENO) == -1)
			_exit(EX_OSERR);
		execl(path, "terndrop", "-C", o->config_dir, (char *)NULL);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, path,
		    strerror(errno));
		_exit(EX_OSERR);
	}
	close(in[0]);
	close(out[1]);
	while (off < file->len) {
		n = write(in[1], file->data + off, file->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* terndrop gave up: its status says why */
		off += (size_t)n;
	}
	close(in[1]);
	if (name != NULL && namesz > 0)
		name[0] = '\0';
	for (;;) {
		char tmp[256];

		n = read(out[0], tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (name != NULL && got + (size_t)n < namesz) {
			memcpy(name + got, tmp, (size_t)n);
			got += (size_t)n;
			name[got] = '\0';
		}
	}
	close(out[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die(EX_OSERR, "waitpid: %s", strerror(errno));
	if (name != NULL)
		name[strcspn(name, "\n")] = '\0';
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "%s: terndrop killed by signal %d\n", prog,
	    WTERMSIG(status));
	return EX_SOFTWARE;
}

/* Build the maildrop file and hand it over; terndrop's status. */
static int
submit(const struct opts *o, const struct conf *c, const char *sender,
    const struct maildrop_list *rcpts, const struct buf *msg, char *name,
    size_t namesz)
{
	struct buf file;
	const char *err;
	int rc;

	buf_init(&file, (size_t)maildrop_size_max(
	    (uint64_t)conf_size(c, "message_size_limit")));
	if (maildrop_write(&file, sender, o->fullname, rcpts, msg->data,
	    msg->len, &err) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		buf_clear(&file);
		return EX_DATAERR;
	}
	rc = run_terndrop(o, c, &file, name, namesz);
	buf_clear(&file);
	return rc;
}

static int
do_send(const struct opts *o, const struct conf *c, int argc, char *argv[])
{
	struct maildrop_list rcpts;
	struct buf msg, out;
	char sender[MAILDROP_ADDR_MAX + 1];
	const char *err;
	int i, rc;

	if (o->fullname != NULL && strlen(o->fullname) > MAILDROP_NAME_MAX)
		die(EX_DATAERR, "-F: full name longer than %d bytes",
		    MAILDROP_NAME_MAX);
	if (o->sender != NULL)
		sender_arg(o->sender, sender, sizeof(sender));
	else
		default_sender(sender, sizeof(sender));
	maildrop_list_init(&rcpts);
	for (i = 0; i < argc; i++)
		if (maildrop_parse_alist(argv[i], strlen(argv[i]), &rcpts,
		    &err) == -1)
			die(EX_DATAERR, "%s: %s", argv[i], err);
	if (rcpts.n == 0 && !o->extract) {
		fprintf(stderr, "%s: no recipients\n", prog);
		usage();
	}
	read_message(&msg, o->ignore_dots,
	    (uint64_t)conf_size(c, "message_size_limit"));
	if (o->extract) {
		buf_init(&out, msg.max);
		if (maildrop_extract(msg.data, msg.len,
		    (size_t)conf_size(c, "header_size_limit"), &rcpts, &out,
		    &err) == -1)
			die(EX_DATAERR, "-t: %s", err);
		buf_clear(&msg);
		msg = out;
		if (rcpts.n == 0)
			die(EX_DATAERR, "-t: no recipients in the To:, Cc: "
			    "or Bcc: fields");
	}
	rc = submit(o, c, sender, &rcpts, &msg, NULL, 0);
	maildrop_list_clear(&rcpts);
	buf_clear(&msg);
	return rc;
}

/* ---- -bs: SMTP on stdin/stdout -------------------------------------------- */

struct bs {
	const struct opts *o;
	const struct conf *c;
	struct lineio	 in;
	bool		 helo, mail;
	char		 sender[MAILDROP_ADDR_MAX + 1];
	struct maildrop_list rcpts;
};

static void
reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
}

/* Replies go out when we would wait for more input (pipelining). */
static void
bs_flush(void *arg)
{
	(void)arg;
	fflush(stdout);
}

static void
bs_reset(struct bs *s)
{
	s->mail = false;
	s->sender[0] = '\0';
	maildrop_list_clear(&s->rcpts);
}

/* The content after 354, dot-unstuffed; false at end of input. */
static bool
bs_content(struct bs *s, struct buf *msg, bool *too_big)
{
	const char *p;
	enum lineio_end end;
	size_t n;
	bool bol = true;

	*too_big = false;
	while (lineio_read_part(&s->in, &p, &n, &end) == LINEIO_OK) {
		if (bol && end != LINEIO_END_NONE && n == 1 && p[0] == '.')
			return true;
		if (bol && n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		if (!*too_big && (buf_add(msg, p, n) == -1 ||
		    (end != LINEIO_END_NONE && buf_add(msg, "\r\n", 2) == -1)))
			*too_big = true;
		bol = end != LINEIO_END_NONE;
	}
	return false;
}

static bool
bs_data(struct bs *s)
{
	struct buf msg;
	char name[128];
	bool too_big;
	int rc;

	reply("354 End data with <CR><LF>.<CR><LF>");
	fflush(stdout);
	buf_init(&msg, (size_t)conf_size(s->c, "message_size_limit") == 0 ?
	    (size_t)MAILDROP_CONTENT_HARD_MAX :
	    (size_t)conf_size(s->c, "message_size_limit"));
	if (!bs_content(s, &msg, &too_big)) {
		buf_clear(&msg);
		return false;
	}
	if (too_big)
		reply("552 5.3.4 Error: message too big");
	else if ((rc = submit(s->o, s->c, s->sender, &s->rcpts, &msg, name,
	    sizeof(name))) == 0)
		reply("250 2.0.0 Ok: queued as %s", name);
	else if (rc == EX_TEMPFAIL)
		reply("451 4.3.0 Error: cannot queue the message now");
	else
		reply("554 5.3.0 Error: message not accepted (%d)", rc);
	buf_clear(&msg);
	bs_reset(s);
	return true;
}

/* A path from MAIL or RCPT, as a maildrop address. */
static bool
bs_addr(const struct smtpcmd *cmd, char *buf, size_t sz, bool sender)
{
	if (cmd->addr.local[0] == '\0' && cmd->addr.domain[0] == '\0') {
		buf[0] = '\0';
		return sender;
	}
	if (cmd->addr.domain[0] == '\0')
		return strlcpy(buf, cmd->addr.local, sz) < sz;
	return (size_t)snprintf(buf, sz, "%s@%s", cmd->addr.local,
	    cmd->addr.domain) < sz;
}

/* One command; false to end the session. */
static bool
bs_command(struct bs *s, const char *line, size_t len)
{
	const char *host = conf_str(s->c, "myhostname");
	char addr[MAILDROP_ADDR_MAX + 1];
	struct smtpcmd cmd;
	struct smtpcmd_err err;
	unsigned flags = SMTPCMD_F_8BITMIME | SMTPCMD_F_SIZE |
	    SMTPCMD_F_NOBRACKETS_OK;

	if (smtpcmd_parse(line, len, flags, &cmd, &err) == -1) {
		reply("%d %s %s", err.code, err.enh, err.text);
		return true;
	}
	switch (cmd.verb) {
	case SMTPCMD_EHLO:
		s->helo = true;
		bs_reset(s);
		reply("250-%s", host);
		reply("250-8BITMIME");
		reply("250-SIZE %lld", (long long)conf_size(s->c,
		    "message_size_limit"));
		reply("250 ENHANCEDSTATUSCODES");
		return true;
	case SMTPCMD_HELO:
		s->helo = true;
		bs_reset(s);
		reply("250 %s", host);
		return true;
	case SMTPCMD_MAIL:
		if (!s->helo)
			reply("503 5.5.1 Error: send HELO/EHLO first");
		else if (s->mail)
			reply("503 5.5.1 Error: nested MAIL command");
		else if (!bs_addr(&cmd, s->sender, sizeof(s->sender), true) ||
		    !maildrop_addr_ok(s->sender, strlen(s->sender), true))
			reply("501 5.1.7 Bad sender address syntax");
		else {
			s->mail = true;
			reply("250 2.1.0 Ok");
		}
		return true;
	case SMTPCMD_RCPT:
		if (!s->mail)
			reply("503 5.5.1 Error: need MAIL command");
		else if (!bs_addr(&cmd, addr, sizeof(addr), false) ||
		    !maildrop_addr_ok(addr, strlen(addr), false))
			reply("501 5.1.3 Bad recipient address syntax");
		else if (maildrop_list_add(&s->rcpts, addr, strlen(addr)) == -1)
			reply("452 4.5.3 Error: too many recipients");
		else
			reply("250 2.1.5 Ok");
		return true;
	case SMTPCMD_DATA:
		if (s->rcpts.n == 0) {
			reply("503 5.5.1 Error: need RCPT command");
			return true;
		}
		return bs_data(s);
	case SMTPCMD_RSET:
		bs_reset(s);
		reply("250 2.0.0 Ok");
		return true;
	case SMTPCMD_NOOP:
		reply("250 2.0.0 Ok");
		return true;
	case SMTPCMD_QUIT:
		reply("221 2.0.0 Bye");
		return false;
	default:
		reply("502 5.5.1 Error: command not implemented");
		return true;
	}
}

static int
do_smtp(const struct opts *o, const struct conf *c)
{
	struct bs s;
	const char *line;
	size_t len;
	enum lineio_result r;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.c = c;
	maildrop_list_init(&s.rcpts);
	lineio_init(&s.in, STDIN_FILENO, BS_LINE_MAX, BS_TIMEOUT_MS);
	lineio_set_wait_hook(&s.in, bs_flush, NULL);
	reply("220 %s ESMTP Tern (sendmail -bs)", conf_str(c, "myhostname"));
	for (;;) {
		r = lineio_read(&s.in, &line, &len, NULL);
		if (r == LINEIO_TOOLONG) {
			reply("500 5.5.2 Error: line too long");
			continue;
		}
		if (r != LINEIO_OK)
			break;
		if (!bs_command(&s, line, len))
			break;
	}
	if (r == LINEIO_TIMEOUT)
		reply("421 4.4.2 %s Error: timeout exceeded",
		    conf_str(c, "myhostname"));
	fflush(stdout);
	bs_reset(&s);
	lineio_free(&s.in);
	return EX_OK;
}

/* ---- -bp, -q, newaliases -------------------------------------------------- */

static _Noreturn void
exec_ternctl(const struct opts *o, const struct conf *c, const char *verb)
{
	char path[PATH_MAX];

	command_path(c, "ternctl", path, sizeof(path));
	fflush(stdout);
	execl(path, "ternctl", "-c", o->config_dir, "queue", verb,
	    (char *)NULL);
	die(EX_OSERR, "cannot run %s: %s", path, strerror(errno));
}

static void
map_diag(void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s: %s:%u: %s\n", prog, file, line, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, file, msg);
}

static int
do_aliases(const struct conf *c)
{
	const char *const *maps;
	size_t i, n, count;
	int rc = 0;

	maps = conf_list(c, "alias_maps", &n);
	for (i = 0; i < n; i++) {
		if (strncmp(maps[i], "lmdb:", 5) != 0) {
			printf("%s: not a file table, nothing to build\n",
			    maps[i]);
			continue;
		}
		if (map_build(maps[i] + 5, MAP_ALIASES, map_diag, NULL,
		    &count) != 0) {
			fprintf(stderr, "%s: %s: not built\n", prog,
			    maps[i] + 5);
			rc = 1;
			continue;
		}
		printf("%s.lmdb: %zu %s\n", maps[i] + 5, count,
		    count == 1 ? "alias" : "aliases");
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct conf *c;
	const char *base;
	int i;

	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	memset(&o, 0, sizeof(o));
	if (strcmp(base, "mailq") == 0) {
		prog = "mailq";
		o.mode = M_LIST;
	} else if (strcmp(base, "newaliases") == 0) {
		prog = "newaliases";
		o.mode = M_ALIASES;
	}
	signal(SIGPIPE, SIG_IGN);
	i = parse_opts(argc, argv, &o);
	c = load_conf(o.config_dir);
	if (o.mode != M_SEND && i != argc)
		usage();
	switch (o.mode) {
	case M_LIST:
		exec_ternctl(&o, c, "list");
	case M_FLUSH:
		exec_ternctl(&o, c, "flush");
	case M_ALIASES:
		return do_aliases(c);
	case M_SMTP:
		return do_smtp(&o, c);
	case M_SEND:
		break;
	}
	return do_send(&o, c, argc - i, argv + i);
}
