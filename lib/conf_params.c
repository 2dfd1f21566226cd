/*
 * SPDX-License-Identifier: ISC
 *
 * conf_params.c -- the tern.conf parameter table and its validators.
 *
 * Process:  all (linked into every program through conf.c).
 * Input:    validators see expanded values that passed their type check.
 * Failure:  a validator returns -1 and a static reason; nothing else.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ascii.h"
#include "conf.h"

/* Set by the build; these keep the file compilable on its own. */
#ifndef TERN_CONFIG_DIR
#define TERN_CONFIG_DIR		"/etc/tern"
#endif
#ifndef TERN_QUEUE_DIR
#define TERN_QUEUE_DIR		"/var/spool/tern"
#endif
#ifndef TERN_DAEMON_DIR
#define TERN_DAEMON_DIR		"/usr/libexec/tern"
#endif
#ifndef TERN_SBIN_DIR
#define TERN_SBIN_DIR		"/usr/sbin"
#endif
#ifndef TERN_VERSION
#define TERN_VERSION		"0"
#endif

#define USER_NAME_MAX		32
#define DOMAIN_MAX		253
#define LABEL_MAX		63
#define HOST_BUF		256

/* A user or group name: [A-Za-z0-9._-]{1,32}, not starting with '-'. */
static int
check_user(const char *v, const char **err_r)
{
	size_t i;

	if (v[0] == '\0') {
		*err_r = "empty name";
		return -1;
	}
	if (strlen(v) > USER_NAME_MAX) {
		*err_r = "name longer than 32 bytes";
		return -1;
	}
	if (v[0] == '-') {
		*err_r = "name starts with \"-\"";
		return -1;
	}
	for (i = 0; v[i] != '\0'; i++) {
		if (!ascii_isalnum((unsigned char)v[i]) && v[i] != '.' &&
		    v[i] != '_' && v[i] != '-') {
			*err_r = "bad character in name";
			return -1;
		}
	}
	return 0;
}

/* One label of a domain name, n bytes at s. */
static int
check_label(const char *s, size_t n, const char **err_r)
{
	size_t i;

	if (n == 0) {
		*err_r = "empty label in domain name";
		return -1;
	}
	if (n > LABEL_MAX) {
		*err_r = "domain name label longer than 63 bytes";
		return -1;
	}
	if (s[0] == '-' || s[n - 1] == '-') {
		*err_r = "domain name label starts or ends with \"-\"";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!ascii_isalnum((unsigned char)s[i]) && s[i] != '-') {
			*err_r = "bad character in domain name";
			return -1;
		}
	}
	return 0;
}

/* A host or domain name: labels of letters, digits and inner hyphens. */
static int
check_domain(const char *v, const char **err_r)
{
	size_t n;

	if (v[0] == '\0') {
		*err_r = "empty domain name";
		return -1;
	}
	if (strlen(v) > DOMAIN_MAX) {
		*err_r = "domain name longer than 253 bytes";
		return -1;
	}
	for (;;) {
		n = strcspn(v, ".");
		if (check_label(v, n, err_r) == -1)
			return -1;
		if (v[n] == '\0')
			return 0;
		v += n + 1;
	}
}

static int
check_log_file(const char *v, const char **err_r)
{
	if (v[0] == '\0')
		return 0;		/* log to syslog */
	if (v[0] != '/') {
		*err_r = "not an absolute path";
		return -1;
	}
	return 0;
}

/* The host's name, qualified through the resolver when it has no dot. */
static int
find_hostname(char *buf, size_t sz)
{
	struct addrinfo hints, *res;
	char host[HOST_BUF];
	int r = -1;

	if (gethostname(host, sizeof(host)) == -1)
		return -1;
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0')
		return -1;
	if (strchr(host, '.') == NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(host, NULL, &hints, &res) == 0) {
			if (res->ai_canonname != NULL &&
			    strchr(res->ai_canonname, '.') != NULL)
				r = strlcpy(buf, res->ai_canonname, sz) < sz ?
				    0 : -1;
			freeaddrinfo(res);
			if (r == 0)
				return 0;
		}
	}
	return strlcpy(buf, host, sz) < sz ? 0 : -1;
}

/*
 * The resolver may be slow or hang on DNS, and the name does not change
 * while a program runs: ask once per process.
 */
static int
default_hostname(char *buf, size_t sz)
{
	static char name[HOST_BUF];
	static int state;	/* 0: not asked, 1: name, -1: failed */

	if (state == 0)
		state = find_hostname(name, sizeof(name)) == 0 ? 1 : -1;
	if (state == -1)
		return -1;
	return strlcpy(buf, name, sz) < sz ? 0 : -1;
}

static int
check_bare_newline(const char *v, const char **err_r)
{
	if (strcmp(v, "reject") == 0 || strcmp(v, "normalize") == 0)
		return 0;
	*err_r = "expected reject or normalize";
	return -1;
}

static int
check_tls_level(const char *v, const char **err_r)
{
	if (v[0] == '\0' || strcmp(v, "none") == 0 || strcmp(v, "may") == 0 ||
	    strcmp(v, "encrypt") == 0)
		return 0;
	*err_r = "expected none, may or encrypt (or empty)";
	return -1;
}

/* The SMTP AUTH back ends smtpd knows. */
static int
check_sasl_type(const char *v, const char **err_r)
{
	if (strcmp(v, "dovecot") == 0)
		return 0;
	*err_r = "expected dovecot";
	return -1;
}

/* The SMTP client's levels (lib/tls_policy.h). */
static int
check_smtp_tls_level(const char *v, const char **err_r)
{
	static const char *const ok[] = { "none", "may", "encrypt", "dane",
	    "verify", "secure" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(v, ok[i]) == 0)
			return 0;
	*err_r = "expected none, may, encrypt, dane, verify or secure";
	return -1;
}

/* dnssec_validation (lib/dns.h, dns_dnssec_parse). */
static int
check_dnssec_validation(const char *v, const char **err_r)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "yes") == 0 ||
	    strcmp(v, "no") == 0)
		return 0;
	*err_r = "expected auto, yes or no";
	return -1;
}

/* "all", or "ipv4" and/or "ipv6", separated by commas or spaces. */
/* A list of IPv4 or IPv6 addresses (proxy_interfaces). */
static int
check_addr_list(const char *v, const char **err_r)
{
	char one[INET6_ADDRSTRLEN + 1];
	uint8_t buf[16];
	size_t n;

	for (;;) {
		v += strspn(v, ", \t");
		if (*v == '\0')
			return 0;
		n = strcspn(v, ", \t");
		if (n >= sizeof(one)) {
			*err_r = "not an IPv4 or IPv6 address";
			return -1;
		}
		memcpy(one, v, n);
		one[n] = '\0';
		if (inet_pton(AF_INET, one, buf) != 1 &&
		    inet_pton(AF_INET6, one, buf) != 1) {
			*err_r = "not an IPv4 or IPv6 address";
			return -1;
		}
		v += n;
	}
}

static int
check_inet_protocols(const char *v, const char **err_r)
{
	size_t n;

	if (strcmp(v, "all") == 0)
		return 0;
	while (*v != '\0') {
		n = strcspn(v, ", \t");
		if (n > 0 && !((n == 4 && (strncmp(v, "ipv4", 4) == 0 ||
		    strncmp(v, "ipv6", 4) == 0)))) {
			*err_r = "expected all, or ipv4 and/or ipv6";
			return -1;
		}
		v += n;
		v += strspn(v, ", \t");
	}
	return 0;
}

#define PARAM(n, t, d, lo, hi, chk, text) \
	{ (n), (t), (d), NULL, (lo), (hi), (chk), (text) }

const struct conf_param conf_params[] = {
	/* Where things are. */
	PARAM("config_directory", CONF_PATH, TERN_CONFIG_DIR, 0, 0, NULL,
	    "directory of tern.conf and services.conf (the one in use)"),
	PARAM("queue_directory", CONF_PATH, TERN_QUEUE_DIR, 0, 0, NULL,
	    "root of the mail queue and of the service sockets"),
	PARAM("daemon_directory", CONF_PATH, TERN_DAEMON_DIR, 0, 0, NULL,
	    "directory of the service programs the master runs"),
	PARAM("command_directory", CONF_PATH, TERN_SBIN_DIR, 0, 0, NULL,
	    "directory of the commands (ternctl, sendmail, terndrop)"),

	/* Who runs it. */
	PARAM("mail_owner", CONF_STR, "tern", 0, 0, check_user,
	    "unprivileged user that owns the queue and runs the services"),
	PARAM("setgid_group", CONF_STR, "terndrop", 0, 0, check_user,
	    "group of the setgid programs that drop local mail into the queue"),
	PARAM("authorized_mailq_users", CONF_LIST, "anyone", 0, 0, NULL,
	    "users who may list the queue through showq (mailq), or anyone"),

	/* Who it is. */
	{ "myhostname", CONF_STR, "localhost", default_hostname, 0, 0,
	    check_domain,
	    "fully qualified name of this host (default: from the system)" },
	PARAM("mydomain", CONF_STR, "localdomain", 0, 0, check_domain,
	    "domain of this host, used in other defaults"),
	PARAM("myorigin", CONF_STR, "$myhostname", 0, 0, NULL,
	    "domain appended to locally posted mail without a domain"),
	PARAM("mydestination", CONF_LIST,
	    "$myhostname, localhost.$mydomain, localhost", 0, 0, NULL,
	    "domains delivered locally rather than forwarded"),
	PARAM("mynetworks", CONF_LIST, "127.0.0.0/8, [::1]/128", 0, 0, NULL,
	    "client networks trusted to relay through this host"),
	PARAM("mail_name", CONF_STR, "Tern", 0, 0, NULL,
	    "name of the mail system in greetings and bounces"),
	PARAM("mail_version", CONF_STR, TERN_VERSION, 0, 0, NULL,
	    "version of the mail system, set when Tern was built"),

	/* Logging. */
	PARAM("maillog_file", CONF_STR, "", 0, 0, check_log_file,
	    "when set, daemons append log lines to this file, not syslog"),

	/* Processes. */
	PARAM("default_process_limit", CONF_INT, "100", 1, 10000, NULL,
	    "most processes of one service unless services.conf says"),
	PARAM("service_throttle_time", CONF_TIME, "60s", 1, 3600, NULL,
	    "pause before restarting a service whose process failed"),
	PARAM("max_idle", CONF_TIME, "100s", 1, 86400, NULL,
	    "how long an idle service process waits for a client, then exits"),
	PARAM("max_use", CONF_INT, "100", 1, 1000000, NULL,
	    "clients a multi-client service process takes before it exits"),
	PARAM("one_client_fork", CONF_BOOL, "no", 0, 0, NULL,
	    "fork one-client processes from a template instead of exec"),
	PARAM("one_client_fork_limit", CONF_INT, "100", 1, 1000000, NULL,
	    "processes one template makes before a new one replaces it"),
	PARAM("ipc_timeout", CONF_TIME, "300s", 1, 86400, NULL,
	    "longest wait for another Tern service to read or answer"),
	PARAM("shutdown_timeout", CONF_TIME, "10s", 1, 3600, NULL,
	    "how long the master waits for its children on stop, then kills"),
	PARAM("master_start_timeout", CONF_TIME, "30s", 1, 3600, NULL,
	    "how long \"ternctl start\" waits for the master to be ready"),

	/* Limits. */
	PARAM("message_size_limit", CONF_SIZE, "10240000", 0, INT64_MAX, NULL,
	    "largest message accepted, in bytes, headers included"),
	PARAM("line_length_limit", CONF_SIZE, "2048", 512, 1048576, NULL,
	    "longest SMTP command line; longer ones get 500 5.5.0"),

	/* SMTP server. */
	PARAM("smtpd_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "how long the SMTP server waits for a client command or data"),
	PARAM("smtpd_banner", CONF_STR, "$myhostname ESMTP $mail_name", 0, 0,
	    NULL, "text after \"220\" in the SMTP greeting"),
	PARAM("smtpd_soft_error_limit", CONF_INT, "10", 0, 1000, NULL,
	    "client errors after which each reply is delayed"),
	PARAM("smtpd_hard_error_limit", CONF_INT, "20", 1, 1000, NULL,
	    "client errors after which the SMTP server disconnects (421)"),
	PARAM("smtpd_error_sleep_time", CONF_TIME, "1s", 0, 60, NULL,
	    "delay before each reply past smtpd_soft_error_limit"),
	PARAM("smtpd_recipient_limit", CONF_INT, "1000", 1, 100000, NULL,
	    "most recipients of one message; more get 452 4.5.3"),
	PARAM("smtpd_forbid_bare_newline", CONF_STR, "reject", 0, 0,
	    check_bare_newline,
	    "bare LF or CR in DATA: reject (550 5.5.2) or normalize to CRLF"),
	PARAM("smtpd_peername_lookup", CONF_BOOL, "yes", 0, 0, NULL,
	    "look up (and forward-confirm) the client's host name"),
	PARAM("smtpd_sasl_auth_enable", CONF_BOOL, "no", 0, 0, NULL,
	    "offer SMTP AUTH (RFC 4954) through smtpd_sasl_type"),
	PARAM("smtpd_sasl_type", CONF_STR, "dovecot", 0, 0, check_sasl_type,
	    "SMTP AUTH back end: dovecot (its auth-client protocol)"),
	PARAM("smtpd_sasl_path", CONF_STR, "private/auth", 0, 0, NULL,
	    "auth server socket: relative to queue_directory, or absolute"),
	PARAM("disable_vrfy_command", CONF_BOOL, "yes", 0, 0, NULL,
	    "answer VRFY with 252 instead of checking the address"),
	PARAM("relay_domains", CONF_LIST, "", 0, 0, NULL,
	    "domains (and their subdomains) this host relays mail to"),
	PARAM("virtual_mailbox_domains", CONF_LIST, "", 0, 0, NULL,
	    "domains whose mailboxes are virtual, not system accounts"),
	PARAM("header_size_limit", CONF_SIZE, "102400", 1024, 16777216, NULL,
	    "largest message header section, in bytes"),
	PARAM("hopcount_limit", CONF_INT, "50", 1, 1000, NULL,
	    "most Received: headers a message may carry, cleanup's included"),


	/* Queue manager. */
	PARAM("queue_run_delay", CONF_TIME, "300s", 1, 86400, NULL,
	    "how often the queue manager scans deferred/ for mail due a retry"),
	PARAM("minimal_backoff_time", CONF_TIME, "300s", 1, 86400, NULL,
	    "shortest wait before a deferred message is tried again"),
	PARAM("maximal_backoff_time", CONF_TIME, "4000s", 1, 604800, NULL,
	    "longest wait before a deferred message is tried again"),
	PARAM("maximal_queue_lifetime", CONF_TIME, "5d", 0, 8640000, NULL,
	    "age after which undeliverable mail is returned to its sender"),
	PARAM("bounce_queue_lifetime", CONF_TIME, "5d", 0, 8640000, NULL,
	    "the same for mail from <> (its failure goes to postmaster)"),
	PARAM("delay_warning_time", CONF_TIME, "0h", 0, 8640000, NULL,
	    "age at which the sender is told mail is delayed (0: never)"),
	PARAM("qmgr_message_active_limit", CONF_INT, "20000", 1, 10000000,
	    NULL, "most messages the queue manager holds in memory"),
	PARAM("qmgr_message_recipient_limit", CONF_INT, "20000", 1, 10000000,
	    NULL, "most recipients the queue manager holds in memory"),
	PARAM("default_destination_concurrency_limit", CONF_INT, "20", 1, 1000,
	    NULL, "most deliveries to one destination at the same time"),
	PARAM("default_destination_recipient_limit", CONF_INT, "50", 1, 100000,
	    NULL, "most recipients in one delivery request"),
	PARAM("delivery_agent_timeout", CONF_TIME, "3600s", 1, 86400, NULL,
	    "longest a delivery agent may take over one request"),
	PARAM("transport_maps", CONF_LIST, "", 0, 0, NULL,
	    "tables of domain or address -> transport:nexthop"),
	PARAM("local_transport", CONF_STR, "local", 0, 0, NULL,
	    "transport for domains in mydestination"),
	PARAM("virtual_transport", CONF_STR, "virtual", 0, 0, NULL,
	    "transport for domains in virtual_mailbox_domains"),
	PARAM("default_transport", CONF_STR, "smtp", 0, 0, NULL,
	    "transport for every other domain"),
	PARAM("relayhost", CONF_STR, "", 0, 0, NULL,
	    "send all remote mail to this host: [host]:port, or empty"),
	PARAM("dns_resolver_config", CONF_STR, "", 0, 0, check_log_file,
	    "unbound.conf(5) file for DNS lookups; empty: the system resolver"),
	PARAM("dnssec_validation", CONF_STR, "auto", 0, 0,
	    check_dnssec_validation,
	    "auto (on unless the system resolver strips DNSSEC), yes or no"),

	/* Delivery agents. */
	PARAM("alias_maps", CONF_LIST, "lmdb:$config_directory/aliases", 0, 0,
	    NULL, "tables of local aliases (built with ternctl map build -a)"),
	PARAM("home_mailbox", CONF_STR, "", 0, 0, NULL,
	    "mailbox under each user's home (Maildir/ ends in /), or empty"),
	PARAM("mail_spool_directory", CONF_PATH, "/var/mail", 0, 0, NULL,
	    "where user mboxes are when home_mailbox is empty"),
	PARAM("allow_mail_to_commands", CONF_LIST, "alias, forward", 0, 0,
	    NULL, "where |command targets are allowed: alias, forward, include"),
	PARAM("allow_mail_to_files", CONF_LIST, "alias, forward", 0, 0, NULL,
	    "where /file targets are allowed: alias, forward, include"),
	PARAM("default_privs", CONF_STR, "nobody", 0, 0, check_user,
	    "user whose rights commands and files in root-owned aliases get"),
	PARAM("command_time_limit", CONF_TIME, "1000s", 1, 86400, NULL,
	    "longest a |command delivery may run before it is killed"),
	PARAM("recipient_delimiter", CONF_STR, "", 0, 0, NULL,
	    "characters that split an extension off a local part (user+ext)"),
	PARAM("virtual_mailbox_maps", CONF_LIST, "", 0, 0, NULL,
	    "tables of address -> mailbox path under virtual_mailbox_base"),
	PARAM("virtual_mailbox_base", CONF_STR, "", 0, 0, NULL,
	    "absolute directory that virtual mailbox paths are under"),
	PARAM("virtual_uid", CONF_STR, "$mail_owner", 0, 0, NULL,
	    "user (name or number) that owns virtual mailboxes"),
	PARAM("virtual_gid", CONF_STR, "$mail_owner", 0, 0, NULL,
	    "group (name or number) that owns virtual mailboxes"),
	PARAM("double_bounce_sender", CONF_STR, "double-bounce", 0, 0, NULL,
	    "sender of notices to postmaster; their failures are dropped"),
	PARAM("bounce_notice_recipient", CONF_STR, "postmaster", 0, 0, NULL,
	    "who gets a bounce that cannot be returned to its sender"),
	PARAM("bounce_size_limit", CONF_SIZE, "50000", 0, 104857600, NULL,
	    "most bytes of the original message returned in a bounce"),

	/* LMTP client. */
	PARAM("lmtp_connect_timeout", CONF_TIME, "30s", 1, 3600, NULL,
	    "longest wait for an LMTP connection to be made"),
	PARAM("lmtp_lhlo_name", CONF_STR, "$myhostname", 0, 0, NULL,
	    "name sent in LHLO"),
	PARAM("lmtp_lhlo_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the greeting and the LHLO reply"),
	PARAM("lmtp_mail_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to MAIL FROM"),
	PARAM("lmtp_rcpt_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to RCPT TO"),
	PARAM("lmtp_data_init_timeout", CONF_TIME, "120s", 1, 3600, NULL,
	    "longest wait for the reply to DATA"),
	PARAM("lmtp_data_xfer_timeout", CONF_TIME, "180s", 1, 3600, NULL,
	    "longest a write of message content may block"),
	PARAM("lmtp_data_done_timeout", CONF_TIME, "600s", 1, 3600, NULL,
	    "longest wait for the per-recipient replies after the final dot"),
	PARAM("lmtp_quit_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to QUIT"),

	/* TLS in the SMTP server (through tlsproxy). */
	PARAM("smtpd_tls_cert_file", CONF_STR, "", 0, 0, NULL,
	    "PEM certificate chain (server first) of the RSA key, or empty"),
	PARAM("smtpd_tls_key_file", CONF_STR, "$smtpd_tls_cert_file", 0, 0,
	    NULL, "PEM private key for smtpd_tls_cert_file (root-readable)"),
	PARAM("smtpd_tls_eccert_file", CONF_STR, "", 0, 0, NULL,
	    "PEM certificate chain of an ECDSA key, offered beside the RSA one"),
	PARAM("smtpd_tls_eckey_file", CONF_STR, "$smtpd_tls_eccert_file", 0, 0,
	    NULL, "PEM private key for smtpd_tls_eccert_file"),
	PARAM("smtpd_tls_security_level", CONF_STR, "", 0, 0, check_tls_level,
	    "none, may or encrypt; empty: may when a certificate is set"),
	PARAM("smtpd_tls_priority", CONF_STR,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", 0, 0, NULL,
	    "GnuTLS priority string for the SMTP server's TLS"),
	PARAM("smtpd_tls_session_tickets", CONF_BOOL, "yes", 0, 0, NULL,
	    "issue TLS session tickets so clients can resume"),
	PARAM("smtpd_tls_session_cache_timeout", CONF_TIME, "3600s", 60, 86400,
	    NULL, "lifetime of a session ticket; ticket keys rotate with it"),
	PARAM("smtpd_tls_ask_ccert", CONF_BOOL, "no", 0, 0, NULL,
	    "ask the client for a certificate and log its fingerprint"),
	PARAM("smtpd_tls_wrappermode", CONF_BOOL, "no", 0, 0, NULL,
	    "implicit TLS before the greeting (set per service with -o)"),
	PARAM("smtpd_tls_auth_only", CONF_BOOL, "yes", 0, 0, NULL,
	    "advertise and accept SMTP AUTH only inside TLS"),
	PARAM("smtpd_starttls_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest TLS handshake, and longest wait for tlsproxy to be ready"),

	/* The SMTP client's TLS policy per destination (lib/tls_policy). */
	PARAM("smtp_tls_policy_maps", CONF_LIST, "", 0, 0, NULL,
	    "tables of next hop or domain -> TLS level [match=names]"),

	/* TLS in the SMTP client (through tlsproxy, client role). */
	PARAM("smtp_tls_priority", CONF_STR,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", 0, 0, NULL,
	    "GnuTLS priority string for the SMTP client's TLS"),
	PARAM("smtp_tls_session_cache_timeout", CONF_TIME, "3600s", 60, 86400,
	    NULL, "how long the SMTP client keeps a TLS session to resume"),
	PARAM("smtp_starttls_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest TLS handshake of the SMTP client"),
	PARAM("smtp_tls_idle_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "an outbound TLS session idle this long is closed by tlsproxy"),

	/* SMTP client (daemons/smtp without --lmtp). */
	PARAM("smtp_helo_name", CONF_STR, "$myhostname", 0, 0, NULL,
	    "name sent in EHLO and HELO"),
	PARAM("smtp_connect_timeout", CONF_TIME, "30s", 1, 3600, NULL,
	    "longest wait for an SMTP connection to be made"),
	PARAM("smtp_helo_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the greeting, EHLO/HELO and STARTTLS replies"),
	PARAM("smtp_mail_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to MAIL FROM (and RSET)"),
	PARAM("smtp_rcpt_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to RCPT TO"),
	PARAM("smtp_data_init_timeout", CONF_TIME, "120s", 1, 3600, NULL,
	    "longest wait for the reply to DATA"),
	PARAM("smtp_data_xfer_timeout", CONF_TIME, "180s", 1, 3600, NULL,
	    "longest a write of message content may block"),
	PARAM("smtp_data_done_timeout", CONF_TIME, "600s", 1, 3600, NULL,
	    "longest wait for the reply after the final dot"),
	PARAM("smtp_quit_timeout", CONF_TIME, "300s", 1, 3600, NULL,
	    "longest wait for the reply to QUIT"),
	PARAM("smtp_tls_security_level", CONF_STR, "may", 0, 0,
	    check_smtp_tls_level,
	    "none, may, encrypt, dane (RFC 7672), verify (MX host) or secure "
	    "(domain)"),
	PARAM("smtp_tls_CAfile", CONF_STR, "", 0, 0, check_log_file,
	    "PEM CA bundle for verify and secure; empty: the system store"),
	PARAM("inet_protocols", CONF_STR, "all", 0, 0, check_inet_protocols,
	    "address families the SMTP client uses: all, ipv4, ipv6"),
	PARAM("proxy_interfaces", CONF_LIST, "", 0, 0, check_addr_list,
	    "addresses reaching this host's smtpd by proxy or NAT (MX loops)"),
	PARAM("smtp_mx_address_limit", CONF_INT, "5", 1, 64, NULL,
	    "most addresses (of all MX hosts) tried for one delivery"),
	PARAM("smtp_mx_session_limit", CONF_INT, "2", 1, 64, NULL,
	    "most servers that greeted, tried for one delivery"),
	PARAM("smtp_connection_cache_time_limit", CONF_TIME, "2s", 1, 300,
	    NULL, "how long an idle SMTP session waits for the next message"),
	PARAM("smtp_connection_reuse_time_limit", CONF_TIME, "300s", 1, 3600,
	    NULL, "how long one SMTP session may be used for messages"),

	{ NULL, CONF_STR, NULL, NULL, 0, 0, NULL, NULL },
};
