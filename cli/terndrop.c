/*
 * SPDX-License-Identifier: ISC
 *
 * terndrop.c -- the setgid helper that puts one maildrop file into
 * queue_directory/maildrop/ for pickup.
 *
 *   terndrop [-C config_dir] < maildrop-file
 *
 * Process:  terndrop, run by sendmail(1) as the submitting user, installed
 *           mode 2755 group setgid_group: the real uid is the user's, the
 *           only thing gained is that group.
 * Input:    stdin: a maildrop file (lib/maildrop.h), untrusted, at most
 *           maildrop_size_max(message_size_limit) bytes; the environment
 *           and the command line, both the caller's.
 * Output:   nothing on stdout but the file's name ("maildrop/NAME") when
 *           it is in place; errors on stderr as "terndrop: ...".
 * Exit:     0 the file is durably in maildrop/; 64 (EX_USAGE) bad
 *           arguments; 65 (EX_DATAERR) the input is not a valid maildrop
 *           file or is too big; 77 (EX_NOPERM) an untrusted configuration
 *           or maildrop/ refused us; 78 (EX_CONFIG) the configuration has
 *           errors; 75 (EX_TEMPFAIL) the file could not be written (disk
 *           full, I/O error): try again later.
 *
 * What a hostile caller controls, and why it gains nothing:
 *
 * - The group is held only where it is needed.  The first thing
 *   terndrop does is set its effective gid back to the real one (the
 *   setgid group stays in the saved set-gid); it reads the configuration
 *   and stdin with the caller's own rights, so -C, TERN_CONFIG_DIR and
 *   symbolic links can make it read only what the caller can read
 *   anyway.  The group comes back only to open maildrop/, create the
 *   file, and connect to public/pickup.
 * - -C DIR and TERN_CONFIG_DIR choose the configuration, which names
 *   queue_directory and message_size_limit.  Under the setgid group a
 *   configuration is used only when its tern.conf is owned by root and
 *   writable by no one else (or the caller is root): a user cannot write
 *   one, so cannot point terndrop at another directory or raise the size
 *   limit.  Without a gained group (not installed setgid, as in a demo
 *   run by one user) any configuration is fine: nothing is at stake.
 * - Whatever directory a trusted configuration names, terndrop creates
 *   only a new file under a name it makes itself ("t." + a fresh queue
 *   ID, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0640), and renames it to the
 *   queue ID without replacing anything (RENAME_NOREPLACE).  It never
 *   reads, lists, replaces or removes a file in maildrop/, and the
 *   directory (01730) gives the group no read permission: it cannot even
 *   learn the names of other users' files.  The file's owner is the
 *   caller's real uid; that is how pickup knows who submitted it, and
 *   nothing in the file can claim otherwise.
 * - The content is checked with the parser pickup uses (maildrop_parse)
 *   before anything is written, so terndrop never leaves a file that
 *   pickup would refuse (a truncated write is removed).
 * - The environment is not used beyond TERN_CONFIG_DIR (glibc already
 *   ignores LD_* and the like for a setgid program); the umask is set
 *   to 077, descriptors above 2 are closed and 0..2 made to exist;
 *   SIGXFSZ is ignored so that a small RLIMIT_FSIZE fails the write
 *   (and the file is removed) instead of killing terndrop.  A caller who
 *   kills terndrop halfway leaves at worst a "t." file, which pickup
 *   removes once it is an hour old.  A setgid process cannot be traced
 *   by the caller.
 * - Works while the master is down: only the wake-up of pickup needs it,
 *   and a failed wake-up is fine (pickup also scans every few seconds).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "buf.h"
#include "conf.h"
#include "lineio.h"
#include "maildrop.h"
#include "qid.h"
#include "qlist.h"

#ifdef __SANITIZE_ADDRESS__
/*
 * The sanitizer build only.  A setgid process is not dumpable: its
 * /proc/self/environ, where the runtime would read ASAN_OPTIONS, cannot
 * be read, and LeakSanitizer cannot stop it to scan its memory (it
 * fails and turns the exit status into 1).  No leak check here, then.
 */
const char *__lsan_default_options(void);

const char *
__lsan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

#ifndef TERN_CONFIG_DIR
#define TERN_CONFIG_DIR	"/etc/tern"
#endif

static const char *prog = "terndrop";	/* "mailq" with -q */
static gid_t	 setgid_gid;	/* the group we were given, or real gid */
static bool	 privileged;	/* setgid_gid differs from the real gid */

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
group_on(bool on)
{
	if (privileged && setegid(on ? setgid_gid : getgid()) == -1)
		die(EX_OSERR, "setegid: %s", strerror(errno));
}

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

/* tern.conf, read with the caller's rights; trusted as said above. */
static struct conf *
load_conf(const char *dir, bool chosen)
{
	static int errors;
	struct conf *c;
	struct stat st;
	char path[PATH_MAX], *text;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/tern.conf", dir) >=
	    sizeof(path))
		die(EX_USAGE, "%s: name too long", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		die(EX_CONFIG, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		die(EX_CONFIG, "%s: not a regular file", path);
	if (privileged && chosen && getuid() != 0 &&
	    (st.st_uid != 0 || (st.st_mode & 022) != 0))
		die(EX_NOPERM, "%s: not owned by root or writable by others: "
		    "refused for a setgid program", path);
	if (st.st_size > CONF_FILE_MAX)
		die(EX_CONFIG, "%s: too big", path);
	text = calloc(1, (size_t)st.st_size + 1);
	if (text == NULL)
		die(EX_OSERR, "out of memory");
	if ((n = read(fd, text, (size_t)st.st_size)) != st.st_size)
		die(EX_CONFIG, "%s: cannot read", path);
	close(fd);
	c = conf_new(conf_diag, &errors);
	if (conf_parse(c, path, text, (size_t)n) != 0 ||
	    conf_finish(c) != 0 || errors != 0)
		die(EX_CONFIG, "%s: configuration errors, see above", path);
	free(text);
	return c;
}

/* All of stdin, at most max bytes. */
static void
read_input(struct buf *in, uint64_t max)
{
	uint8_t chunk[65536];
	ssize_t n;

	buf_init(in, max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max);
	for (;;) {
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die(EX_TEMPFAIL, "reading the input: %s",
			    strerror(errno));
		if (n == 0)
			return;
		if (buf_add(in, chunk, (size_t)n) == -1)
			die(EX_DATAERR, "message too big (over %llu bytes "
			    "with its envelope)", (unsigned long long)max);
	}
}

/* Rename without replacing; link + unlink where the file system lacks it. */
static int
rename_new(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(dirfd, from, dirfd, to, 0) == -1)
		return -1;
	(void)unlinkat(dirfd, from, 0);
	return 0;
}

/*
 * The file, durably: temporary name, write, fsync, rename without
 * replacing, then syncfs() for the rename: maildrop/ cannot be opened
 * for reading by the group, so the directory itself cannot be fsync'd.
 */
static void
drop_file(int dirfd, const struct buf *in, char qid[QID_LEN + 1])
{
	char tmp[QID_LEN + 3];
	bool renamed = false;
	int fd, err;

	if (qid_new(qid) == -1)
		die(EX_OSERR, "cannot make a queue ID");
	snprintf(tmp, sizeof(tmp), "t.%s", qid);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd == -1)
		die(errno == EACCES || errno == EPERM ? EX_NOPERM : EX_TEMPFAIL,
		    "maildrop/%s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0640) == -1 ||
	    lineio_write_all(fd, in->data, in->len) == -1 || fsync(fd) == -1)
		goto fail;
	if (rename_new(dirfd, tmp, qid) == -1)
		goto fail;
	renamed = true;
	if (syncfs(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return;
fail:
	err = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, renamed ? qid : tmp, 0);
	die(EX_TEMPFAIL, "maildrop/%s: %s", renamed ? qid : tmp,
	    strerror(err));
}

/* One byte to public/pickup, without waiting; failure is fine. */
static void
wake_pickup(const char *queue_dir)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/public/pickup", queue_dir) >= sizeof(sun.sun_path))
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		(void)send(fd, "W", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static _Noreturn void
usage(void)
{
	die(EX_USAGE, "usage: terndrop [-C config_dir] < maildrop-file\n"
	    "       terndrop [-C config_dir] -q list|json");
}

/*
 * Whether the process in queue_directory/pid/master.pid exists (a
 * recycled pid can fool this: it only chooses between two messages).
 */
static bool
master_running(const char *qdir)
{
	char path[PATH_MAX], text[32], *end;
	long pid;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/pid/master.pid", qdir) >=
	    sizeof(path) || (fd = open(path, O_RDONLY | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno != 0 || end == text || pid <= 0 || pid > INT_MAX)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/*
 * -q: the queue listing from showq, for a caller who cannot read the
 * queue: connected with the group (public/ admits only it), then the
 * group is given up again before a byte is exchanged.  Exits 0, 1 when
 * showq refused or failed, 69 (EX_UNAVAILABLE) when showq cannot be
 * reached: the master is not running.
 */
static int
list_queue(const struct conf *c, const char *what)
{
	struct sockaddr_un sun;
	const char *qdir, *err;
	char ebuf[512];
	int fd, r, e;

	prog = "mailq";
	if (strcmp(what, "list") != 0 && strcmp(what, "json") != 0)
		usage();
	qdir = conf_str(c, "queue_directory");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    qdir, QLIST_SOCKET) >= sizeof(sun.sun_path))
		die(EX_CONFIG, "queue_directory too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die(EX_OSERR, "socket: %s", strerror(errno));
	group_on(true);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	group_on(false);
	if (r == -1 && (e == ENOENT || e == ECONNREFUSED))
		die(EX_UNAVAILABLE, "cannot list the queue: %s and %s is not "
		    "readable by you", master_running(qdir) ? "the master runs "
		    "no showq service (services.conf)" : "the master is not "
		    "running", qdir);
	if (r == -1)
		die(1, "cannot list the queue: %s: %s", sun.sun_path,
		    strerror(e));
	if (qlist_ask(fd, strcmp(what, "json") == 0, stdout, ebuf,
	    sizeof(ebuf), &err) == -1)
		die(1, "cannot list the queue: %s", err);
	close(fd);
	return EX_OK;
}

static void
sane_process(void)
{
	int fd;

	umask(077);
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	closefrom(STDERR_FILENO + 1);
	/* 0..2 exist, so that no file we open becomes one of them. */
	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
}

int
main(int argc, char *argv[])
{
	struct maildrop md;
	struct conf *conf;
	struct buf in;
	const char *dir, *qdir, *err;
	char qid[QID_LEN + 1], path[PATH_MAX];
	const char *list = NULL;
	bool chosen = false;
	uint64_t limit;
	int ch, dirfd;

	setgid_gid = getegid();
	privileged = setgid_gid != getgid();
	group_on(false);
	sane_process();
	dir = getenv("TERN_CONFIG_DIR");
	if (dir != NULL && dir[0] != '\0')
		chosen = true;
	else
		dir = TERN_CONFIG_DIR;
	while ((ch = getopt(argc, argv, "C:q:")) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			chosen = true;
			break;
		case 'q':
			list = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	conf = load_conf(dir, chosen);
	if (list != NULL)
		return list_queue(conf, list);
	limit = (uint64_t)conf_size(conf, "message_size_limit");
	read_input(&in, maildrop_size_max(limit));
	if (maildrop_parse(in.data, in.len, limit, &md, &err) == -1)
		die(EX_DATAERR, "not a valid maildrop file: %s", err);
	maildrop_clear(&md);

	qdir = conf_str(conf, "queue_directory");
	if ((size_t)snprintf(path, sizeof(path), "%s/maildrop", qdir) >=
	    sizeof(path))
		die(EX_CONFIG, "queue_directory too long");
	group_on(true);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd == -1)
		die(errno == EACCES ? EX_NOPERM : EX_TEMPFAIL, "%s: %s", path,
		    strerror(errno));
	drop_file(dirfd, &in, qid);
	wake_pickup(qdir);
	group_on(false);
	/* The file is in place: a closed stdout changes nothing. */
	printf("maildrop/%s\n", qid);
	return EX_OK;
}
