/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_queue.c -- "ternctl queue": list, show and change queued mail.
 *
 *   list [--json]                       every message, streamed
 *   show ID [--envelope|--headers|--body]
 *   flush                               try deferred mail now
 *   delete ID ... | ALL [--deferred]    remove (no notice to the sender)
 *   hold ID ... | ALL                   to hold/, where qmgr never looks
 *   release ID ... | ALL                hold/ -> incoming/
 *   requeue ID ... | ALL                deferred/, hold/ -> incoming/
 *
 * Process:  ternctl, run by root or mail_owner (the queue directories
 *           are theirs alone); never setuid.  "list" by anyone else
 *           asks the showq service, through terndrop -q (lib/qlist.h).
 * Input:    command line; queue files (parsed by lib/qfile, strictly);
 *           defer/ID lines written by qmgr; one reply line from qmgr.
 *           Addresses and reasons are untrusted text: escaped on output.
 * Failure:  "ternctl: THING: what is wrong" on stderr; exit 0 ok, 1 a
 *           failure (the others still done), 2 usage.
 *
 * A file in incoming/, deferred/, hold/ or corrupt/ is moved or removed
 * here with one rename(2) or unlink(2): atomic, so qmgr, which renames
 * the same files, either gets there first (and this side finds the file
 * gone and looks again) or finds it gone itself and skips it.  A file in
 * active/ is qmgr's: it is asked over private/qmgr (docs/ipc.md), and
 * acted on here only when no qmgr runs (its lock on active/.lock free).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "qlist.h"
#include "ternctl.h"
#include "xmem.h"

#define QMGR_SOCKET	"private/qmgr"
#define QMGR_LOCK	".lock"			/* in active/ */
#define QMGR_TIMEOUT_MS	10000
#define QMGR_REPLY_MAX	256
#define QMGR_REQ_MAX	128
#define TRY_ROUNDS	20			/* per ID ... */
#define TRY_MS		5000			/* ... and at most this long */
#define NOWHERE_MAX	3			/* looks before "no such" */

enum queue {
	Q_INCOMING, Q_ACTIVE, Q_DEFERRED, Q_HOLD, Q_CORRUPT, Q_NQUEUES
};
#define QM(q)		(1U << (q))

#define qnames	qlist_names	/* the same order as enum queue */

struct qctx {
	struct conf	*conf;
	char		 qdir[1024];		/* queue_directory */
	int		 dirs[Q_NQUEUES];
	int		 defer_fd, bounce_fd;
	unsigned	 uid;
	bool		 try_showq;	/* list: EACCES is no error */
	bool		 denied;	/* ... and it happened */
	char		 cmd_dir[1024];	/* command_directory */
};

/* What an ID verb does. */
struct verb {
	const char	*name;
	const char	*did;		/* "removed": stdout and the log */
	unsigned	 from;		/* queues it acts on itself */
	int		 to;		/* where to, or -1: unlink */
	unsigned	 already;	/* queues where nothing is left to do */
	const char	*req;		/* the request to qmgr for active/ */
	unsigned	 all;		/* what ALL takes */
};

static const struct verb verbs[] = {
	{ "delete", "removed",
	    QM(Q_INCOMING) | QM(Q_DEFERRED) | QM(Q_HOLD) | QM(Q_CORRUPT), -1,
	    0, "delete", QM(Q_INCOMING) | QM(Q_ACTIVE) | QM(Q_DEFERRED) |
	    QM(Q_HOLD) | QM(Q_CORRUPT) },
	{ "hold", "held", QM(Q_INCOMING) | QM(Q_DEFERRED), Q_HOLD,
	    QM(Q_HOLD), "hold",
	    QM(Q_INCOMING) | QM(Q_ACTIVE) | QM(Q_DEFERRED) },
	{ "release", "released", QM(Q_HOLD), Q_INCOMING, 0, NULL,
	    QM(Q_HOLD) },
	{ "requeue", "requeued", QM(Q_DEFERRED) | QM(Q_HOLD), Q_INCOMING,
	    QM(Q_INCOMING), "requeue",
	    QM(Q_ACTIVE) | QM(Q_DEFERRED) | QM(Q_HOLD) },
};

/* delete --deferred: deferred/ only, so never a message qmgr holds. */
static const struct verb delete_deferred = {
	"delete", "removed", QM(Q_DEFERRED), -1, 0, NULL, QM(Q_DEFERRED)
};

enum outcome { DONE, NOOP, GONE, FAILED };

/* ---- usage ----------------------------------------------------------- */

static const struct {
	const char	*verb;
	const char	*usage;
	const char	*what;
} helps[] = {
	{ "list", "list [--json]",
	    "List every queued message: queue ID ('*' active, '!' held,\n"
	    "'#' corrupt), size, arrival time, sender, the recipients still\n"
	    "to deliver and the last reason for deferred mail.  --json: one\n"
	    "JSON object per message and line (postqueue -j's fields)." },
	{ "show", "show ID [--envelope | --headers | --body]",
	    "Show a message: its envelope, header and body (or the parts\n"
	    "named)." },
	{ "flush", "flush",
	    "Ask qmgr to try every deferred message now." },
	{ "delete", "delete ID ... | ALL [--deferred]",
	    "Remove messages without notice to the sender; ALL: every\n"
	    "message (with --deferred: every deferred message)." },
	{ "hold", "hold ID ... | ALL",
	    "Put messages on hold: nothing is delivered until released." },
	{ "release", "release ID ... | ALL",
	    "Release held messages: they are tried again at once." },
	{ "requeue", "requeue ID ... | ALL",
	    "Try deferred or held messages again at once, routed anew." },
};

static void
print_usage(FILE *f, const char *verb)
{
	size_t i;
	bool first = true;

	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		if (verb != NULL && strcmp(verb, helps[i].verb) != 0)
			continue;
		fprintf(f, "%s ternctl [-c config_dir] queue %s\n",
		    first ? "usage:" : "      ", helps[i].usage);
		first = false;
	}
	if (verb == NULL)
		return;
	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(verb, helps[i].verb) == 0)
			fprintf(f, "\n%s\n", helps[i].what);
}

static int
usage(const char *verb)
{
	print_usage(stderr, verb);
	return 2;
}

/* ---- set-up ---------------------------------------------------------- */

struct load_diag {
	int	fatal;
};

static void
conf_diag(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	struct load_diag *d = arg;

	if (sev != CONF_ERROR)
		return;
	if (file != NULL)
		fprintf(stderr, "ternctl: %s:%u: %s%s%s\n", file, line,
		    param ? param : "", param ? ": " : "", msg);
	else
		fprintf(stderr, "ternctl: %s%s%s\n", param ? param : "",
		    param ? ": " : "", msg);
	/* Another parameter's error leaves the queue where it is. */
	if (param == NULL || strcmp(param, "queue_directory") == 0)
		d->fatal++;
}

/* queue_directory/name (or queue_directory itself), opened; or -1. */
static int
open_dir(struct qctx *c, int qfd, const char *name)
{
	int fd;

	if ((fd = openat(qfd, name != NULL ? name : c->qdir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) != -1)
		return fd;
	if (c->try_showq && (errno == EACCES || errno == EPERM) &&
	    getuid() != 0) {
		c->denied = true;	/* showq can list it */
		return -1;
	}
	fprintf(stderr, "ternctl: %s%s%s: ", c->qdir, name != NULL ? "/" : "",
	    name != NULL ? name : "");
	if (errno == EACCES || errno == EPERM)
		fprintf(stderr, "permission denied (run as root or "
		    "mail_owner)\n");
	else if (errno == ENOENT)
		fprintf(stderr, "no such directory (tern creates it when it "
		    "starts)\n");
	else
		fprintf(stderr, "%s\n", strerror(errno));
	return -1;
}

static void
ctx_close(struct qctx *c)
{
	int i;

	for (i = 0; i < Q_NQUEUES; i++)
		if (c->dirs[i] != -1)
			close(c->dirs[i]);
	if (c->defer_fd != -1)
		close(c->defer_fd);
	if (c->bounce_fd != -1)
		close(c->bounce_fd);
	if (c->conf != NULL)
		conf_free(&c->conf);
}

/*
 * Read tern.conf (only it: the queue commands need no service) and open
 * every queue directory.  Returns 0, or -1 after saying why.
 */
static int
ctx_open(struct qctx *c, const char *dir, bool try_showq)
{
	struct load_diag d = { 0 };
	char path[1100];
	int i, qfd;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < Q_NQUEUES; i++)
		c->dirs[i] = -1;
	c->defer_fd = c->bounce_fd = -1;
	c->uid = (unsigned)getuid();
	c->try_showq = try_showq;
	c->conf = conf_new(conf_diag, &d);
	snprintf(path, sizeof(path), "%s/tern.conf", dir);
	if (conf_load(c->conf, path) == -1)
		d.fatal++;
	conf_finish(c->conf);
	if (d.fatal > 0 || strlcpy(c->qdir, conf_str(c->conf,
	    "queue_directory"), sizeof(c->qdir)) >= sizeof(c->qdir) ||
	    strlcpy(c->cmd_dir, conf_str(c->conf, "command_directory"),
	    sizeof(c->cmd_dir)) >= sizeof(c->cmd_dir)) {
		fprintf(stderr, "ternctl: %s: configuration errors; run "
		    "ternctl check\n", path);
		ctx_close(c);
		return -1;
	}
	if ((qfd = open_dir(c, AT_FDCWD, NULL)) == -1) {
		ctx_close(c);
		return -1;
	}
	for (i = 0; i < Q_NQUEUES; i++)
		if ((c->dirs[i] = open_dir(c, qfd, qnames[i])) == -1)
			goto fail;
	if ((c->defer_fd = open_dir(c, qfd, "defer")) == -1 ||
	    (c->bounce_fd = open_dir(c, qfd, "bounce")) == -1)
		goto fail;
	close(qfd);
	return 0;
fail:
	close(qfd);
	ctx_close(c);
	return -1;
}

/* Changes are logged where the daemons log. */
static void
log_setup(struct qctx *c)
{
	const char *file = conf_str(c->conf, "maillog_file");

	if (file[0] != '\0') {
		log_init("ternctl", 0);
		if (log_file(file) == 0)
			return;
		fprintf(stderr, "ternctl: %s: %s; logging to syslog\n", file,
		    strerror(errno));
	}
	log_init("ternctl", LOG_TO_SYSLOG);
}

/* ---- list ------------------------------------------------------------ */

/*
 * The caller cannot enter the queue directories (not root, not
 * mail_owner): showq lists them.  public/, where it listens, admits only
 * setgid_group, so terndrop, setgid that group, asks it (terndrop -q);
 * it says why when it cannot, and exits 0, 1 or 69 (EX_UNAVAILABLE: no
 * master).
 */
static int
list_via_showq(const char *dir, const char *cmd_dir, bool json)
{
	char path[1100];

	if ((size_t)snprintf(path, sizeof(path), "%s/terndrop", cmd_dir) >=
	    sizeof(path)) {
		fprintf(stderr, "ternctl: command_directory too long\n");
		return 1;
	}
	fflush(stdout);
	execl(path, "terndrop", "-C", dir, "-q", json ? "json" : "list",
	    (char *)NULL);
	fprintf(stderr, "ternctl: cannot list the queue: cannot run %s: %s\n",
	    path, strerror(errno));
	return 1;
}

static int
cmd_list(const char *dir, int argc, char *argv[])
{
	struct qlist_dirs d;
	struct qctx c;
	bool json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0)
			json = true;
		else
			return usage("list");
	}
	if (ctx_open(&c, dir, true) == -1) {
		if (!c.denied)
			return 1;
		return list_via_showq(dir, c.cmd_dir, json);
	}
	d.qdir = c.qdir;
	for (i = 0; i < Q_NQUEUES; i++)
		d.dirs[i] = c.dirs[i];
	d.defer_fd = c.defer_fd;
	rc = qlist_write(&d, json, stdout, stderr, "ternctl");
	ctx_close(&c);
	if (rc == -1) {
		fprintf(stderr, "ternctl: standard output: %s\n",
		    strerror(errno));
		return 1;
	}
	return rc;
}

/* ---- show ------------------------------------------------------------ */

#define SHOW_ENVELOPE	0x01
#define SHOW_HEADERS	0x02
#define SHOW_BODY	0x04

/*
 * Open ID wherever it is; a file moving between two queues while they
 * are looked at is looked for again.  Returns the descriptor, or -1
 * (errno ENOENT: in no queue).
 */
static int
find_open(struct qctx *c, const char *id, enum queue *qi_r)
{
	int fd, i, look;

	for (look = 0; look < NOWHERE_MAX; look++) {
		for (i = 0; i < Q_NQUEUES; i++) {
			fd = openat(c->dirs[i], id, O_RDONLY | O_CLOEXEC |
			    O_NOFOLLOW | O_NONBLOCK);
			if (fd != -1) {
				*qi_r = (enum queue)i;
				return fd;
			}
			if (errno != ENOENT)
				return -1;
		}
	}
	errno = ENOENT;
	return -1;
}

static const char *
notify_text(uint8_t n, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (n == 0)
		return "";
	if (n & QFILE_NOTIFY_NEVER)
		return " NOTIFY=NEVER";
	strlcat(buf, " NOTIFY=", sz);
	if (n & QFILE_NOTIFY_SUCCESS)
		strlcat(buf, "SUCCESS,", sz);
	if (n & QFILE_NOTIFY_FAILURE)
		strlcat(buf, "FAILURE,", sz);
	if (n & QFILE_NOTIFY_DELAY)
		strlcat(buf, "DELAY,", sz);
	buf[strlen(buf) - 1] = '\0';
	return buf;
}

static const char *
status_text(uint8_t st)
{
	static const char *const names[] = {
		[QFILE_RS_PENDING] = "pending",
		[QFILE_RS_DELIVERED] = "delivered, success notice owed",
		[QFILE_RS_FAILED] = "failed, failure notice owed",
		[QFILE_RS_DONE] = "done",
	};

	return st <= QFILE_RS_DONE ? names[st] : "unknown";
}

static void
show_sender(const struct qfile *q)
{
	const struct qfile_sender *s = &q->sender;

	fputs("sender: <", stdout);
	qlist_put_text(stdout, s->addr);
	putchar('>');
	if (s->flags & QFILE_SMTPUTF8)
		fputs(" SMTPUTF8", stdout);
	if (s->flags & QFILE_8BITMIME)
		fputs(" BODY=8BITMIME", stdout);
	if (s->flags & QFILE_BINARYMIME)
		fputs(" BODY=BINARYMIME", stdout);
	if (s->ret == QFILE_RET_FULL)
		fputs(" RET=FULL", stdout);
	else if (s->ret == QFILE_RET_HDRS)
		fputs(" RET=HDRS", stdout);
	if (s->envid[0] != '\0') {
		fputs(" ENVID=", stdout);
		qlist_put_text(stdout, s->envid);
	}
	if (s->size != 0)
		printf(" SIZE=%llu", (unsigned long long)s->size);
	putchar('\n');
}

static void
show_client(const struct qfile *q)
{
	const struct qfile_client *cl = &q->client;

	if (!q->has_client) {
		printf("client: none (local submission)\n");
		return;
	}
	fputs("client: ", stdout);
	qlist_put_text(stdout, cl->name[0] != '\0' ? cl->name : "unknown");
	putchar('[');
	qlist_put_text(stdout, cl->addr);
	printf("]:%u, helo=", (unsigned)cl->port);
	qlist_put_text(stdout, cl->helo);
	fputs(", protocol=", stdout);
	qlist_put_text(stdout, cl->proto);
	putchar('\n');
}

static void
show_envelope(const struct qfile *q, const struct qlist_reasons *rs,
    enum queue qi, const char *id)
{
	char when[64], nbuf[64];
	size_t i;

	qlist_fmt_time(when, sizeof(when), q->arrival_sec, true);
	printf("queue_id: %s\nqueue_name: %s\n", id, qnames[qi]);
	printf("arrival_time: %s (%lld.%06u)\n", when,
	    (long long)q->arrival_sec, (unsigned)q->arrival_usec);
	printf("message_size: %llu\n", (unsigned long long)q->content_size);
	show_client(q);
	show_sender(q);
	for (i = 0; i < q->nrcpt; i++) {
		const struct qfile_rcpt *r = &q->rcpts[i];

		fputs("recipient: <", stdout);
		qlist_put_text(stdout, r->addr);
		printf(">%s", notify_text(r->notify, nbuf, sizeof(nbuf)));
		if (r->orcpt_type[0] != '\0') {
			fputs(" ORCPT=", stdout);
			qlist_put_text(stdout, r->orcpt_type);
			putchar(';');
			qlist_put_text(stdout, r->orcpt);
		}
		printf(", status=%s\n", status_text(r->status));
		if (r->status == QFILE_RS_PENDING && rs->data != NULL &&
		    rs->rs[i].text != NULL) {
			fputs("  last delay: ", stdout);
			qlist_put_text(stdout, rs->rs[i].dsn);
			fputs(", relay=", stdout);
			qlist_put_text(stdout, rs->rs[i].relay);
			fputs(" (", stdout);
			qlist_put_text(stdout, rs->rs[i].text);
			fputs(")\n", stdout);
		}
	}
}

/*
 * Where the header section ends: the offset, in the content, just past
 * the empty line that ends it (or the content size when there is none),
 * and *body_r where the body starts.
 */
static uint64_t
header_end(const struct qfile *q, uint64_t *body_r)
{
	enum { MID, BOL, BOL_CR } st = BOL;
	uint64_t off = 0;
	size_t i, j;

	for (i = 0; i < q->ncontent; i++) {
		const uint8_t *p = q->base + q->content[i].off;

		for (j = 0; j < q->content[i].len; j++, off++) {
			if (p[j] == '\n' && st != MID) {
				*body_r = off + 1;
				return off + 1 - (st == BOL_CR ? 2 : 1);
			}
			if (p[j] == '\n')
				st = BOL;
			else if (p[j] == '\r' && st == BOL)
				st = BOL_CR;
			else
				st = MID;
		}
	}
	*body_r = off;
	return off;
}

/* Content bytes [from, to) to stdout. */
static void
put_content(const struct qfile *q, uint64_t from, uint64_t to)
{
	uint64_t off = 0, a, b;
	size_t i;

	for (i = 0; i < q->ncontent && off < to; i++) {
		uint64_t len = q->content[i].len;

		a = from > off ? from - off : 0;
		b = to < off + len ? to - off : len;
		if (a < b)
			fwrite(q->base + q->content[i].off + a, 1,
			    (size_t)(b - a), stdout);
		off += len;
	}
}

static int
show_parse(int argc, char *argv[], const char **id_r, int *what_r)
{
	int i;

	*id_r = NULL;
	*what_r = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--envelope") == 0)
			*what_r |= SHOW_ENVELOPE;
		else if (strcmp(argv[i], "--headers") == 0)
			*what_r |= SHOW_HEADERS;
		else if (strcmp(argv[i], "--body") == 0)
			*what_r |= SHOW_BODY;
		else if (argv[i][0] == '-' || *id_r != NULL)
			return -1;
		else
			*id_r = argv[i];
	}
	if (*what_r == 0)
		*what_r = SHOW_ENVELOPE | SHOW_HEADERS | SHOW_BODY;
	return *id_r == NULL ? -1 : 0;
}

static int
cmd_show(const char *dir, int argc, char *argv[])
{
	struct qctx c;
	struct qfile q;
	struct qlist_reasons rs;
	struct stat st;
	enum queue qi;
	const char *id, *err;
	uint64_t hend, body;
	int what, fd, rc = 1;

	if (show_parse(argc, argv, &id, &what) == -1)
		return usage("show");
	if (!qid_valid(id, strlen(id))) {
		fprintf(stderr, "ternctl: %s: not a queue ID\n", id);
		return 1;
	}
	if (ctx_open(&c, dir, false) == -1)
		return 1;
	if ((fd = find_open(&c, id, &qi)) == -1) {
		if (errno == ENOENT)
			fprintf(stderr, "ternctl: %s: no such message in the "
			    "queue\n", id);
		else
			fprintf(stderr, "ternctl: %s: %s\n", id,
			    strerror(errno));
		ctx_close(&c);
		return 1;
	}
	memset(&rs, 0, sizeof(rs));
	qfile_init(&q);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "ternctl: %s: not a regular file\n", id);
		goto out;
	}
	if (qfile_read(fd, (size_t)st.st_size + 1, &q, &err) == -1) {
		fprintf(stderr, "ternctl: %s: %s%s\n", id,
		    errno == EBADMSG ? "corrupt queue file: " : "", err);
		goto out;
	}
	if (what & SHOW_ENVELOPE) {
		qlist_reasons_read(&rs, c.defer_fd, id, q.nrcpt);
		show_envelope(&q, &rs, qi, id);
		if (what & (SHOW_HEADERS | SHOW_BODY))
			putchar('\n');
	}
	hend = header_end(&q, &body);
	if ((what & SHOW_HEADERS) && (what & SHOW_BODY))
		put_content(&q, 0, q.content_size);
	else if (what & SHOW_HEADERS)
		put_content(&q, 0, hend);
	else if (what & SHOW_BODY)
		put_content(&q, body, q.content_size);
	rc = 0;
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "ternctl: standard output: %s\n",
		    strerror(errno));
		rc = 1;
	}
out:
	close(fd);
	qfile_clear(&q);
	qlist_reasons_free(&rs);
	ctx_close(&c);
	return rc;
}

/* ---- qmgr ------------------------------------------------------------ */

static bool
not_running(int e)
{
	return e == ENOENT || e == ECONNREFUSED;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Read one reply line before deadline; 0, or -1 with *err_r. */
static int
read_reply(int fd, char *reply, size_t sz, int64_t deadline,
    const char **err_r)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t len = 0;
	ssize_t n = 0;
	int left;

	while (len + 1 < sz) {
		if ((left = (int)(deadline - now_ms())) <= 0 ||
		    poll(&pfd, 1, left) == 0) {
			*err_r = "qmgr did not answer in time";
			errno = ETIMEDOUT;
			return -1;
		}
		if ((n = read(fd, reply + len, sz - 1 - len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err_r = strerror(errno);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		reply[len] = '\0';
		if (memchr(reply, '\n', len) != NULL) {
			*strchr(reply, '\n') = '\0';
			return 0;
		}
	}
	*err_r = n == 0 ? "qmgr closed the connection without an answer" :
	    "qmgr's answer is too long";
	errno = EPROTO;
	return -1;
}

/*
 * One request line to qmgr over private/qmgr, one reply line back
 * (without its newline), within QMGR_TIMEOUT_MS.  Returns 0, or -1 with
 * errno (ENOENT, ECONNREFUSED: no qmgr runs) and *err_r.
 */
static int
qmgr_ask(struct qctx *c, const char *req, char *reply, size_t sz,
    const char **err_r)
{
	struct sockaddr_un sun;
	struct timeval tv = { QMGR_TIMEOUT_MS / 1000, 0 };
	int64_t deadline = now_ms() + QMGR_TIMEOUT_MS;
	size_t len = strlen(req);
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    c->qdir, QMGR_SOCKET) >= sizeof(sun.sun_path)) {
		*err_r = "socket path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*err_r = strerror(errno);
		return -1;
	}
	/* Also bounds connect() when qmgr's backlog is full. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, req, len) != (ssize_t)len) {
		e = errno == EAGAIN ? ETIMEDOUT : errno;
		*err_r = strerror(e);
		close(fd);
		errno = e;
		return -1;
	}
	if (read_reply(fd, reply, sz, deadline, err_r) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * No qmgr answers: take its lock so that none starts (and recovers
 * active/) while we act.  Returns the locked descriptor, -2 when there
 * is no lock file (no qmgr ever ran here), or -1 when a qmgr holds it.
 */
static int
lock_active(struct qctx *c)
{
	int fd;

	fd = openat(c->dirs[Q_ACTIVE], QMGR_LOCK, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd == -1)
		return errno == ENOENT ? -2 : -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- acting on one message ------------------------------------------ */

static void
did(struct qctx *c, const struct verb *v, const char *id)
{
	log_info("%s: %s by ternctl (uid %u)", id, v->did, c->uid);
	printf("ternctl: %s: %s\n", id, v->did);
}

/*
 * Move or remove ID in queue qi.  Returns 1 done, 0 not there, -1 a
 * failure (said on stderr).
 */
static int
act_in(struct qctx *c, const struct verb *v, enum queue qi, const char *id)
{
	int r;

	if (v->to == -1)
		r = unlinkat(c->dirs[qi], id, 0);
	else {
#ifdef RENAME_NOREPLACE
		r = renameat2(c->dirs[qi], id, c->dirs[v->to], id,
		    RENAME_NOREPLACE);
		if (r == -1 && (errno == EINVAL || errno == ENOSYS))
#endif
			r = renameat(c->dirs[qi], id, c->dirs[v->to], id);
	}
	if (r == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == EEXIST)
			fprintf(stderr, "ternctl: %s: in %s/ and %s/ at once: "
			    "left alone\n", id, qnames[qi], qnames[v->to]);
		else
			fprintf(stderr, "ternctl: %s/%s: %s\n", qnames[qi],
			    id, strerror(errno));
		return -1;
	}
	if (v->to == -1) {
		/* The queue file is gone: the commit point.  Its logs now. */
		if (unlinkat(c->defer_fd, id, 0) == -1 && errno != ENOENT)
			fprintf(stderr, "ternctl: defer/%s: %s\n", id,
			    strerror(errno));
		if (unlinkat(c->bounce_fd, id, 0) == -1 && errno != ENOENT)
			fprintf(stderr, "ternctl: bounce/%s: %s\n", id,
			    strerror(errno));
	}
	did(c, v, id);
	return 1;
}

/* Try each queue the verb acts on; as act_in. */
static int
act_direct(struct qctx *c, const struct verb *v, const char *id)
{
	int i, r;

	for (i = 0; i < Q_NQUEUES; i++) {
		if (!(v->from & QM(i)))
			continue;
		if ((r = act_in(c, v, (enum queue)i, id)) != 0)
			return r;
	}
	return 0;
}

/* The queue ID is in now, or -1. */
static int
locate(struct qctx *c, const char *id)
{
	struct stat st;
	int i;

	for (i = 0; i < Q_NQUEUES; i++)
		if (fstatat(c->dirs[i], id, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return i;
	return -1;
}

/*
 * ID is in active/: ask qmgr, or act when none runs.  Returns DONE,
 * FAILED, or GONE meaning "look again".
 */
static enum outcome
act_active(struct qctx *c, const struct verb *v, const char *id)
{
	char req[QMGR_REQ_MAX + 1], reply[QMGR_REPLY_MAX];
	const char *err;
	int lock, r;

	snprintf(req, sizeof(req), "%s %s\n", v->req, id);
	if (qmgr_ask(c, req, reply, sizeof(reply), &err) == 0) {
		if (strcmp(reply, "ok") == 0) {
			/* qmgr does it and logs it, at once or when the
			 * deliveries in flight have ended. */
			printf("ternctl: %s: %s (by qmgr, once its "
			    "deliveries in flight end)\n", id, v->did);
			return DONE;
		}
		if (strcmp(reply, "absent") == 0)
			return GONE;
		fprintf(stderr, "ternctl: %s: qmgr: ", id);
		qlist_put_text(stderr, strncmp(reply, "error ", 6) == 0 ?
		    reply + 6 : reply);
		fputc('\n', stderr);
		return FAILED;
	}
	if (!not_running(errno)) {
		fprintf(stderr, "ternctl: %s/%s: %s\n", c->qdir, QMGR_SOCKET,
		    err);
		return FAILED;
	}
	if ((lock = lock_active(c)) == -1)
		return GONE;		/* a qmgr is starting: ask again */
	r = act_in(c, v, Q_ACTIVE, id);
	if (lock >= 0)
		close(lock);
	return r == 1 ? DONE : r == 0 ? GONE : FAILED;
}

/*
 * The loop every ID verb runs: act where the verb acts itself; else find
 * the file, and if it is in active/, ask qmgr; on "absent" (it moved),
 * look again.  Bounded by TRY_ROUNDS and TRY_MS.
 */
static enum outcome
act_one(struct qctx *c, const struct verb *v, const char *id)
{
	int64_t end = now_ms() + TRY_MS;
	int round, where, nowhere = 0, r;
	enum outcome o;

	for (round = 0; round < TRY_ROUNDS && now_ms() < end; round++) {
		if ((r = act_direct(c, v, id)) != 0)
			return r == 1 ? DONE : FAILED;
		if ((where = locate(c, id)) == -1) {
			/* Moved between two looks, or really gone. */
			if (++nowhere >= NOWHERE_MAX)
				return GONE;
			continue;
		}
		nowhere = 0;
		if (v->from & QM(where))
			continue;	/* it came back: act now */
		if (v->already & QM(where)) {
			printf("ternctl: %s: already in %s/\n", id,
			    qnames[where]);
			return NOOP;
		}
		if (where != Q_ACTIVE || v->req == NULL) {
			fprintf(stderr, "ternctl: %s: in %s/: %s does not "
			    "apply there\n", id, qnames[where], v->name);
			return FAILED;
		}
		if ((o = act_active(c, v, id)) != GONE)
			return o;
		sleep_ms(round < 10 ? 25 * (round + 1) : 250);
	}
	fprintf(stderr, "ternctl: %s: still moving between queues after %d "
	    "tries; try again\n", id, round);
	return FAILED;
}

/* ---- the ID verbs ---------------------------------------------------- */

/* ALL: every queue file in the queues the verb takes, as readdir finds
 * them (never the whole list in memory). */
static int
act_all(struct qctx *c, const struct verb *v)
{
	struct dirent *de;
	unsigned long n = 0;
	DIR *d;
	int i, fd, rc = 0;

	for (i = 0; i < Q_NQUEUES; i++) {
		if (!(v->all & QM(i)))
			continue;
		if ((fd = openat(c->dirs[i], ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
			fprintf(stderr, "ternctl: %s/%s: %s\n", c->qdir,
			    qnames[i], strerror(errno));
			if (fd != -1)
				close(fd);
			rc = 1;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (!qid_valid(de->d_name, strlen(de->d_name)))
				continue;
			switch (act_one(c, v, de->d_name)) {
			case DONE:
				n++;
				break;
			case FAILED:
				rc = 1;
				break;
			default:	/* gone meanwhile: nothing to do */
				break;
			}
		}
		closedir(d);
	}
	printf("ternctl: %lu message%s %s\n", n, n == 1 ? "" : "s", v->did);
	return rc;
}

static int
cmd_ids(const char *dir, const struct verb *v, int argc, char *argv[])
{
	struct qctx c;
	bool all = false, deferred = false;
	int i, nids = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "ALL") == 0)
			all = true;
		else if (strcmp(argv[i], "--deferred") == 0 &&
		    strcmp(v->name, "delete") == 0)
			deferred = true;
		else if (argv[i][0] == '-')
			return usage(v->name);
		else
			nids++;
	}
	if ((all && nids > 0) || (!all && nids == 0))
		return usage(v->name);
	if (deferred)
		v = &delete_deferred;
	if (ctx_open(&c, dir, false) == -1)
		return 1;
	log_setup(&c);
	if (all)
		rc = act_all(&c, v);
	for (i = 1; !all && i < argc; i++) {
		const char *id = argv[i];

		if (id[0] == '-')
			continue;
		if (!qid_valid(id, strlen(id))) {
			fprintf(stderr, "ternctl: %s: not a queue ID\n", id);
			rc = 1;
			continue;
		}
		switch (act_one(&c, v, id)) {
		case GONE:
			fprintf(stderr, "ternctl: %s: no such message in the "
			    "%squeue\n", id, deferred ? "deferred " : "");
			rc = 1;
			break;
		case FAILED:
			rc = 1;
			break;
		default:
			break;
		}
	}
	fflush(stdout);
	ctx_close(&c);
	return rc;
}

/* ---- flush ----------------------------------------------------------- */

/*
 * No qmgr runs: make every deferred message due now, so that the first
 * scan of the next qmgr takes it (a scan skips files whose modification
 * time, the next attempt, is in the future).
 */
static int
flush_offline(struct qctx *c)
{
	struct dirent *de;
	unsigned long n = 0;
	DIR *d;
	int fd, rc = 0;

	if ((fd = openat(c->dirs[Q_DEFERRED], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		fprintf(stderr, "ternctl: %s/deferred: %s\n", c->qdir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (utimensat(c->dirs[Q_DEFERRED], de->d_name, NULL,
		    AT_SYMLINK_NOFOLLOW) == 0)
			n++;
		else if (errno != ENOENT) {
			fprintf(stderr, "ternctl: deferred/%s: %s\n",
			    de->d_name, strerror(errno));
			rc = 1;
		}
	}
	closedir(d);
	printf("ternctl: qmgr is not running: %lu deferred message%s due "
	    "when it starts\n", n, n == 1 ? "" : "s");
	return rc;
}

static int
flush(struct qctx *c)
{
	char reply[QMGR_REPLY_MAX];
	const char *err;

	if (qmgr_ask(c, "flush\n", reply, sizeof(reply), &err) == -1) {
		if (not_running(errno))
			return flush_offline(c);
		fprintf(stderr, "ternctl: %s/%s: %s\n", c->qdir, QMGR_SOCKET,
		    err);
		return 1;
	}
	if (strcmp(reply, "ok") != 0) {
		fputs("ternctl: flush: qmgr: ", stderr);
		qlist_put_text(stderr, strncmp(reply, "error ", 6) == 0 ?
		    reply + 6 : reply);
		fputc('\n', stderr);
		return 1;
	}
	printf("ternctl: flush: qmgr is trying the deferred mail now\n");
	return 0;
}

static int
cmd_flush(const char *dir, int argc, char *argv[])
{
	struct qctx c;
	int rc;

	(void)argv;
	if (argc != 1)
		return usage("flush");
	if (ctx_open(&c, dir, false) == -1)
		return 1;
	rc = flush(&c);
	ctx_close(&c);
	return rc;
}

/* ---- dispatch -------------------------------------------------------- */

static bool
wants_help(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int
ternctl_queue(const char *dir, int argc, char *argv[])
{
	const struct verb *v = NULL;
	const char *verb;
	size_t i;

	if (argc < 2)
		return usage(NULL);
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		print_usage(stdout, NULL);
		return 0;
	}
	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(verb, helps[i].verb) == 0)
			break;
	if (i == sizeof(helps) / sizeof(helps[0]))
		return usage(NULL);
	if (wants_help(argc - 1, argv + 1)) {
		print_usage(stdout, verb);
		return 0;
	}
	if (strcmp(verb, "list") == 0)
		return cmd_list(dir, argc - 1, argv + 1);
	if (strcmp(verb, "show") == 0)
		return cmd_show(dir, argc - 1, argv + 1);
	if (strcmp(verb, "flush") == 0)
		return cmd_flush(dir, argc - 1, argv + 1);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verb, verbs[i].name) == 0)
			v = &verbs[i];
	return cmd_ids(dir, v, argc - 1, argv + 1);
}
