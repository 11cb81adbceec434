/*
 * test_conf.c  Configuration: parsing, precedence, validation messages,
 *              _file secrets, numbered keys, --help and redaction.
 */
#include <stdlib.h>
#include <unistd.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "test.h"

/* Collects reported problem lines. */
struct errs {
	unsigned n;
	char text[8192];
};


static void errs_h(const char *line, void *arg)
{
	struct errs *e = arg;
	size_t len = strlen(e->text);

	++e->n;
	snprintf(e->text + len, sizeof(e->text) - len, "%s\n", line);
}


static bool errs_has(const struct errs *e, const char *s)
{
	if (strstr(e->text, s))
		return true;
	fprintf(stderr, "expected \"%s\" in:\n%s", s, e->text);
	return false;
}


/* Write text to a fresh temporary file; path receives its name. */
static int tmpfile_write(char *path, size_t sz, const char *text, size_t len)
{
	int fd;

	snprintf(path, sz, "/tmp/agentline-test-conf-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return 1;
	}
	close(fd);
	return 0;
}


static int parse(struct conf *conf, const char *text, struct errs *e)
{
	return conf_parse_buf(conf, text, strlen(text), "t.conf", errs_h, e);
}


int test_conf_defaults(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	int err = 0;

	TEST_ERR(conf_alloc(&conf));
	if (conf_validate(conf, errs_h, &e)) {
		fprintf(stderr, "%s", e.text);
		err = 1;
		goto out;
	}
	TEST_STREQ(conf_str(conf, "sip_listen"),
		   "udp:127.0.0.1:5060,tcp:127.0.0.1:5060");
	TEST_STREQ(conf_str(conf, "sip_transport"), "tls");
	TEST_STREQ(conf_str(conf, "app"), "agent");
	TEST_STREQ(conf_str(conf, "codecs"), "G722,PCMU,PCMA");
	TEST_STREQ(conf_str(conf, "media_srtp"), "auto");
	TEST_STREQ(conf_str(conf, "sip_inbound_allow"),
		   "127.0.0.0/8,::1/128");
	TEST_ASSERT(NULL == conf_str(conf, "sip_host"));
	TEST_ASSERT(NULL == conf_str(conf, "sip_password"));
	TEST_ASSERT(NULL == conf_str(conf, "no_such_key"));
	TEST_ASSERT(!conf_isset(conf, "sip_transport"));
	TEST_EQ(conf_int(conf, "rtp_port_min"), 10000);
	TEST_EQ(conf_int(conf, "rtp_port_max"), 20000);
	TEST_EQ(conf_int(conf, "sip_register_expires"), 300);
	TEST_EQ(conf_int(conf, "drain_secs"), 10);
	TEST_ASSERT(conf_bool(conf, "dtmf_inband"));
	TEST_EQ(conf_numbered(conf, "sip_extension", NULL, 99), 0);

	/* every table default is itself valid, and the table is sane */
	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		TEST_ASSERT(o->help && *o->help);
		TEST_ASSERT(conf_opt_find(o->key) == o);
		if (o->type == CONF_ENUM)
			TEST_ASSERT(o->choices && o->def);
		if (o->type == CONF_INT)
			TEST_ASSERT(o->def && o->min <= o->max);
	}
 out:
	mem_deref(conf);
	return err;
}


int test_conf_parse(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	const char *text =
		"# comment\n"
		"\n"
		"   \t\n"
		"sip_host = pbx.example.com\r\n"
		"sip_extension 201\n"
		"  sip_display_name = \"Agent  Line\"  \n"
		"sip_transport=TCP\n"
		"codecs = pcmu , G722\n"
		"max_calls=7\n"
		"dtmf_inband off\n"
		"sip_user_agent = a#b\n"
		"record_dir = /tmp\n"
		"app = tone:1000";  /* no final newline */

	TEST_ERR(conf_alloc(&conf));
	TEST_EQ(parse(conf, text, &e), 0);
	TEST_EQ(e.n, 0);
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	TEST_EQ(e.n, 0);

	TEST_STREQ(conf_str(conf, "sip_host"), "pbx.example.com");
	TEST_STREQ(conf_str(conf, "sip_extension"), "201");
	TEST_STREQ(conf_str(conf, "sip_username"), "201"); /* default */
	TEST_STREQ(conf_str(conf, "sip_display_name"), "Agent  Line");
	TEST_STREQ(conf_str(conf, "sip_transport"), "tcp"); /* normalized */
	TEST_STREQ(conf_str(conf, "codecs"), "PCMU,G722");
	TEST_STREQ(conf_str(conf, "sip_user_agent"), "a#b");
	TEST_STREQ(conf_str(conf, "app"), "tone:1000");
	TEST_EQ(conf_int(conf, "max_calls"), 7);
	TEST_ASSERT(!conf_bool(conf, "dtmf_inband"));
	TEST_ASSERT(conf_isset(conf, "max_calls"));

	/* later line of the same source wins */
	TEST_EQ(parse(conf, "max_calls = 8\nmax_calls = 9\n", &e), 0);
	TEST_EQ(conf_int(conf, "max_calls"), 9);

	mem_deref(conf);
	return 0;
}


int test_conf_precedence(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	char path[64];
	const char *text = "sip_host = from-file\nmax_calls = 5\n"
		"log_level = warn\n";
	char *env[] = {
		"PATH=/bin",
		"AGENTLINE_SIP_HOST=from-env",
		"AGENTLINE_MAX_CALLS=6",
		"AGENTLINE_TEST_DATA=/ignored",
		NULL
	};
	int err = 0;

	TEST_ERR(tmpfile_write(path, sizeof(path), text, strlen(text)));

	/* file < env < --set, applied in the usual order */
	TEST_ERR(conf_alloc(&conf));
	err |= conf_load_file(conf, path, errs_h, &e);
	TEST_STREQ(conf_str(conf, "sip_host"), "from-file");
	err |= conf_load_env(conf, env, errs_h, &e);
	TEST_STREQ(conf_str(conf, "sip_host"), "from-env");
	TEST_EQ(conf_int(conf, "max_calls"), 6);
	err |= conf_set_arg(conf, "sip_host=from-set", errs_h, &e);
	TEST_STREQ(conf_str(conf, "sip_host"), "from-set");
	TEST_EQ(conf_int(conf, "max_calls"), 6);
	TEST_STREQ(conf_str(conf, "log_level"), "warn");
	conf = mem_deref(conf);

	/* the same precedence when applied in the reverse order */
	TEST_ERR(conf_alloc(&conf));
	err |= conf_set_arg(conf, "sip_host=from-set", errs_h, &e);
	err |= conf_load_env(conf, env, errs_h, &e);
	err |= conf_load_file(conf, path, errs_h, &e);
	TEST_STREQ(conf_str(conf, "sip_host"), "from-set");
	TEST_EQ(conf_int(conf, "max_calls"), 6);
	TEST_STREQ(conf_str(conf, "log_level"), "warn");
	TEST_EQ(err, 0);
	TEST_EQ(e.n, 0);
	err |= conf_set(conf, "sip_extension", "100", "test", errs_h, &e);
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	mem_deref(conf);
	unlink(path);
	return err;
}


int test_conf_errors(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	char longline[5000];
	char *env[] = {"AGENTLINE_SIP_LISEN=x", NULL};
	static const char nul[] = "sip_host = a\0b\n";
	int err;

	TEST_ERR(conf_alloc(&conf));

	err = parse(conf, "# ok\nsip_host = h\nsip_lisen = udp:1.2.3.4:5\n",
		    &e);
	TEST_ASSERT(err != 0);
	TEST_EQ(e.n, 1);
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_lisen\" (t.conf:3)"));

	TEST_ASSERT(0 != parse(conf, "sip_host\n", &e));
	TEST_ASSERT(errs_has(&e, "t.conf:1: missing '=' after \"sip_host\""));
	TEST_ASSERT(0 != parse(conf, "\n = value\n", &e));
	TEST_ASSERT(errs_has(&e, "t.conf:2: empty key"));
	TEST_ASSERT(0 != conf_parse_buf(conf, nul, sizeof(nul) - 1, "t.conf",
					errs_h, &e));
	TEST_ASSERT(errs_has(&e, "t.conf:1: NUL byte in line"));
	TEST_ASSERT(0 != parse(conf, "sip_host = \xff\xfe\n", &e));
	TEST_ASSERT(errs_has(&e, "t.conf:1: invalid UTF-8 in line"));
	TEST_ASSERT(0 != parse(conf, "sip_host = \xc0\xaf\n", &e));
	TEST_ASSERT(0 != parse(conf, "sip_host = a\x1b[0m\n", &e));
	TEST_ASSERT(errs_has(&e, "control character"));

	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	TEST_ASSERT(0 != parse(conf, longline, &e));
	TEST_ASSERT(errs_has(&e, "t.conf:1: line too long (max 4095 bytes)"));

	/* keys that look numbered or _file but are not allowed */
	TEST_ASSERT(0 != parse(conf, "sip_extension_100 = 1\n"
			       "sip_extension_0 = 1\nsip_extension_02 = 1\n"
			       "max_calls_2 = 1\nsip_extension_file = /x\n",
			       &e));
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_extension_100\""));
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_extension_0\""));
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_extension_02\""));
	TEST_ASSERT(errs_has(&e, "unknown key \"max_calls_2\""));
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_extension_file\""));

	TEST_EQ(conf_load_env(conf, env, errs_h, &e), ENOENT);
	TEST_ASSERT(errs_has(&e, "unknown key \"sip_lisen\" "
			     "(env AGENTLINE_SIP_LISEN)"));
	TEST_EQ(conf_set_arg(conf, "max_cals=3", errs_h, &e), ENOENT);
	TEST_ASSERT(errs_has(&e, "unknown key \"max_cals\" (--set)"));
	TEST_EQ(conf_set_arg(conf, "max_calls", errs_h, &e), EINVAL);
	TEST_ASSERT(errs_has(&e, "--set \"max_calls\": expected key=value"));
	TEST_EQ(conf_set_arg(conf, "=3", errs_h, &e), EINVAL);

	TEST_ASSERT(0 != conf_load_file(conf, "/nonexistent/agentline.conf",
					errs_h, &e));
	TEST_ASSERT(errs_has(&e, "cannot read config file "
			     "\"/nonexistent/agentline.conf\""));
	TEST_ASSERT(0 != conf_load_file(conf, "/tmp", errs_h, &e));

	/* problems found by loaders count towards validate's result */
	memset(&e, 0, sizeof(e));
	TEST_ASSERT(conf_validate(conf, errs_h, &e) > 0);
	TEST_ASSERT(conf_str(conf, "sip_host") != NULL);

	mem_deref(conf);
	return 0;
}


int test_conf_validate(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	unsigned n;

	TEST_ERR(conf_alloc(&conf));
	TEST_ERR(parse(conf,
		       "rtp_timeout_secs = 500\n"
		       "sip_transport = sctp\n"
		       "max_calls = lots\n"
		       "dtmf_inband = maybe\n"
		       "sip_port = 65536\n"
		       "drain_secs = 99999999999999999999999\n"
		       "codecs = G722,opus,g722\n"
		       "sip_listen = udp:127.0.0.1:0,tcp:1.2.3:5060,"
		       "udp:[::1]:5060,udp:::1:5060,sctp:1.2.3.4:5,"
		       "tls:[::1]:5061,udp:1.2.3.4\n"
		       "sip_inbound_allow = 10.0.0.0/8,10.0.0.0/33,"
		       "fd00::/8,::1/129,bogus,192.168.1.1\n"
		       "record_dir = /nonexistent-dir\n"
		       "app = tone:10\n"
		       "sip_tls_ca = /nonexistent.pem\n", &e));
	TEST_EQ(e.n, 0);

	n = conf_validate(conf, errs_h, &e);
	if (getenv("TEST_CONF_VERBOSE"))
		fprintf(stderr, "%s", e.text);
	TEST_EQ(n, e.n);
	TEST_ASSERT(errs_has(&e, "rtp_timeout_secs: 500 is out of range "
			     "1..300 (t.conf:1)"));
	TEST_ASSERT(errs_has(&e, "sip_transport: \"sctp\" is not one of "
			     "udp|tcp|tls"));
	TEST_ASSERT(errs_has(&e, "max_calls: \"lots\" is not an integer"));
	TEST_ASSERT(errs_has(&e, "dtmf_inband: \"maybe\" is not a boolean"));
	TEST_ASSERT(errs_has(&e, "sip_port: 65536 is out of range 0..65535"));
	TEST_ASSERT(errs_has(&e, "drain_secs: 99999999999999999999999 is "
			     "out of range 0..300"));
	TEST_ASSERT(errs_has(&e, "codecs: \"opus\" is not one of "
			     "G722|PCMU|PCMA"));
	TEST_ASSERT(errs_has(&e, "codecs: \"G722\" is listed twice"));
	TEST_ASSERT(errs_has(&e, "sip_listen: port 0 is out of range "
			     "1..65535"));
	TEST_ASSERT(errs_has(&e, "sip_listen: \"1.2.3\" is not an IP "
			     "address"));
	TEST_ASSERT(errs_has(&e, "write IPv6 addresses in brackets"));
	TEST_ASSERT(errs_has(&e, "\"sctp:1.2.3.4:5\" is not of the form"));
	TEST_ASSERT(errs_has(&e, "\"udp:1.2.3.4\" is not of the form"));
	TEST_ASSERT(errs_has(&e, "\"10.0.0.0/33\": prefix length must be "
			     "0..32"));
	TEST_ASSERT(errs_has(&e, "\"::1/129\": prefix length must be "
			     "0..128"));
	TEST_ASSERT(errs_has(&e, "\"bogus\" is not a CIDR network"));
	TEST_ASSERT(errs_has(&e, "record_dir: directory \"/nonexistent-dir\""
			     " does not exist"));
	TEST_ASSERT(errs_has(&e, "app: tone frequency \"10\""));
	TEST_ASSERT(errs_has(&e, "sip_tls_ca: file \"/nonexistent.pem\" "
			     "does not exist"));
	TEST_EQ(n, 19);
	TEST_ASSERT(NULL == strstr(e.text, "\"udp:[::1]:5060\""));
	TEST_ASSERT(NULL == strstr(e.text, "tls:[::1]:5061"));
	TEST_ASSERT(NULL == strstr(e.text, "fd00::/8"));
	TEST_ASSERT(NULL == strstr(e.text, "192.168.1.1"));
	conf = mem_deref(conf);

	/* cross-key rules, checked once every value is valid */
	memset(&e, 0, sizeof(e));
	TEST_ERR(conf_alloc(&conf));
	TEST_ERR(parse(conf,
		       "rtp_port_min = 20000\nrtp_port_max = 20000\n"
		       "jitter_min_ms = 300\njitter_max_ms = 100\n"
		       "sip_tls_cert = /etc/hostname\n"
		       "sip_host = pbx\n"
		       "sip_password_3 = secret3\n"
		       "codecs = \n", &e));
	n = conf_validate(conf, errs_h, &e);
	TEST_ASSERT(errs_has(&e, "codecs: needs at least 1 item"));
	TEST_EQ(n, 1);
	TEST_ERR(conf_set(conf, "codecs", "pcma", NULL, errs_h, &e));
	memset(&e, 0, sizeof(e));
	n = conf_validate(conf, errs_h, &e);
	TEST_ASSERT(errs_has(&e, "rtp_port_min (20000) must be below "
			     "rtp_port_max (20000)"));
	TEST_ASSERT(errs_has(&e, "jitter_min_ms (300) must not be above "
			     "jitter_max_ms (100)"));
	TEST_ASSERT(errs_has(&e, "sip_tls_cert and sip_tls_key must be set "
			     "together"));
	TEST_ASSERT(errs_has(&e, "sip_host is set but sip_extension is "
			     "not"));
	TEST_ASSERT(errs_has(&e, "sip_password_3 is set but sip_extension_3 "
			     "is not"));
	TEST_EQ(n, 5);
	TEST_STREQ(conf_str(conf, "codecs"), "PCMA");
	conf = mem_deref(conf);

	/* trailing and empty list items, and a valid edge: 2-port range */
	memset(&e, 0, sizeof(e));
	TEST_ERR(conf_alloc(&conf));
	TEST_ERR(parse(conf, "codecs = PCMU,\nsip_inbound_allow = \n"
		       "rtp_port_min = 1024\nrtp_port_max = 1025\n", &e));
	TEST_EQ(conf_validate(conf, errs_h, &e), 1);
	TEST_ASSERT(errs_has(&e, "codecs: empty item in list \"PCMU,\""));
	TEST_ERR(conf_set(conf, "codecs", "PCMU", NULL, errs_h, &e));
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	TEST_STREQ(conf_str(conf, "sip_inbound_allow"), "");
	mem_deref(conf);
	return 0;
}


int test_conf_secret_file(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	char path[64], path2[64], text[300];
	const char *secret = "s3cret-from-file\nsecond line\n";
	int err = 0;

	TEST_ERR(tmpfile_write(path, sizeof(path), secret, strlen(secret)));
	TEST_ERR(tmpfile_write(path2, sizeof(path2), "pw2\r\n", 5));

	TEST_ERR(conf_alloc(&conf));
	snprintf(text, sizeof(text),
		 "sip_extension = 100\nsip_password_file = %s\n"
		 "sip_extension_2 = 200\nsip_password_2_file = %s\n",
		 path, path2);
	err |= parse(conf, text, &e);
	TEST_ASSERT(conf_isset(conf, "sip_password"));
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	TEST_STREQ(conf_str(conf, "sip_password"), "s3cret-from-file");
	TEST_STREQ(conf_str(conf, "sip_password_2"), "pw2");
	TEST_ASSERT(conf_opt_find("sip_password_2_file") ==
		    conf_opt_find("sip_password"));

	/* a plain value from a higher source replaces the _file form */
	err |= conf_set_arg(conf, "sip_password=direct", errs_h, &e);
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	TEST_STREQ(conf_str(conf, "sip_password"), "direct");
	/* ... and a lower source cannot bring the file back */
	err |= parse(conf, text, &e);
	TEST_STREQ(conf_str(conf, "sip_password"), "direct");
	TEST_EQ(err, 0);
	TEST_EQ(e.n, 0);

	/* missing, empty and non-regular files are clear errors */
	err |= conf_set(conf, "sip_password_2_file", "/nonexistent/pw", "x",
			errs_h, &e);
	TEST_EQ(conf_validate(conf, errs_h, &e), 1);
	TEST_ASSERT(errs_has(&e, "sip_password_2_file: cannot read "
			     "\"/nonexistent/pw\": No such file or directory"));
	TEST_ASSERT(NULL == conf_str(conf, "sip_password_2"));
	err |= conf_set(conf, "sip_password_2_file", "/dev/null", "x",
			errs_h, &e);
	TEST_EQ(conf_validate(conf, errs_h, &e), 1);
	TEST_ASSERT(errs_has(&e, "\"/dev/null\": not a regular file"));
	unlink(path2);
	TEST_ERR(tmpfile_write(path2, sizeof(path2), "", 0));
	err |= conf_set(conf, "sip_password_2_file", path2, "x", errs_h, &e);
	TEST_EQ(conf_validate(conf, errs_h, &e), 1);
	TEST_ASSERT(errs_has(&e, "empty first line"));
	TEST_ASSERT(NULL == strstr(e.text, "s3cret"));
	TEST_EQ(err, 0);

	mem_deref(conf);
	unlink(path);
	unlink(path2);
	return 0;
}


int test_conf_numbered(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	unsigned nv[99];
	char *env[] = {"AGENTLINE_SIP_EXTENSION_7=700", NULL};

	TEST_ERR(conf_alloc(&conf));
	TEST_ERR(parse(conf, "sip_extension = 100\nsip_extension_2 = 200\n"
		       "sip_username_2 = bob\nsip_extension_99 = 990\n"
		       "sip_extension_1 = 101\n", &e));
	TEST_ERR(conf_load_env(conf, env, errs_h, &e));
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);

	/* only the key_N forms are listed; the plain key is separate */
	TEST_EQ(conf_numbered(conf, "sip_extension", nv, 99), 4);
	TEST_EQ(nv[0], 1);
	TEST_EQ(nv[1], 2);
	TEST_EQ(nv[2], 7);
	TEST_EQ(nv[3], 99);
	TEST_EQ(conf_numbered(conf, "sip_extension", nv, 2), 2);
	TEST_EQ(conf_numbered(conf, "sip_username", nv, 99), 1);
	TEST_EQ(nv[0], 2);
	TEST_EQ(conf_numbered(conf, "sip_password", nv, 99), 0);

	TEST_STREQ(conf_str(conf, "sip_extension"), "100");
	TEST_STREQ(conf_str(conf, "sip_extension_1"), "101");
	TEST_STREQ(conf_str(conf, "sip_extension_7"), "700");
	TEST_STREQ(conf_str(conf, "sip_username"), "100");
	TEST_STREQ(conf_str(conf, "sip_username_1"), "101");
	TEST_STREQ(conf_str(conf, "sip_username_2"), "bob");
	TEST_STREQ(conf_str(conf, "sip_username_7"), "700");
	TEST_ASSERT(NULL == conf_str(conf, "sip_username_8"));
	TEST_ASSERT(conf_isset(conf, "sip_extension_99"));
	TEST_ASSERT(!conf_isset(conf, "sip_extension_98"));
	TEST_ASSERT(conf_opt_find("sip_password_42") ==
		    conf_opt_find("sip_password"));
	TEST_ASSERT(NULL == conf_opt_find("sip_host_2"));

	mem_deref(conf);
	return 0;
}


int test_conf_help(void)
{
	char *help = NULL, *line;
	int err = 0;

	TEST_ERR(re_sdprintf(&help, "%H", conf_print_help, NULL));

	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		char want[300];

		snprintf(want, sizeof(want), "  %s ", o->key);
		line = strstr(help, want);
		if (!line) {
			fprintf(stderr, "help lacks %s\n", o->key);
			err = 1;
			break;
		}
		snprintf(want, sizeof(want), "default: %s\n",
			 o->def ? o->def : "unset");
		if (!strstr(line, want) || strstr(line, want) >
		    strchr(line, '\n') + 1) {
			fprintf(stderr, "help lacks default of %s\n", o->key);
			err = 1;
			break;
		}
	}
	if (!err) {
		line = strstr(help, "  sip_password ");
		err = !(line && strstr(line, "[secret") &&
			strstr(line, "sip_password_file"));
	}
	if (!err)
		err = !strstr(help, "<int 1..300>  default: 20");
	if (!err)
		err = !strstr(help, "<udp|tcp|tls|wss>  default: tls");
	if (!err)
		err = !strstr(help, "self-signed");

	mem_deref(help);
	return err;
}


int test_conf_redact(void)
{
	struct conf *conf = NULL;
	struct errs e = {0};
	char buf[256], *printed = NULL;
	int err = 0;

	log_secret_clear();
	TEST_ERR(conf_alloc(&conf));
	TEST_ERR(parse(conf, "sip_extension = 100\nsip_password = "
		       "topsecret1\nsip_extension_2 = 200\n"
		       "sip_password_2 = topsecret2\n", &e));
	TEST_EQ(conf_validate(conf, errs_h, &e), 0);
	conf_register_secrets(conf);

	snprintf(buf, sizeof(buf), "pw topsecret1 pw2 topsecret2 ext 100");
	log_redact(buf, sizeof(buf));
	if (strcmp(buf, "pw *** pw2 *** ext 100")) {
		fprintf(stderr, "redacted: %s\n", buf);
		err = 1;
	}

	if (!err)
		err = re_sdprintf(&printed, "%H", conf_print, conf);
	if (!err) {
		err = !(strstr(printed, "sip_password = ***\n") &&
			strstr(printed, "sip_password_2 = ***\n") &&
			strstr(printed, "sip_extension_2 = 200\n") &&
			strstr(printed, "max_calls = 100\n") &&
			strstr(printed, "# sip_host (unset)\n") &&
			!strstr(printed, "topsecret"));
		if (err)
			fprintf(stderr, "%s", printed);
	}

	mem_deref(printed);
	mem_deref(conf);
	log_secret_clear();
	return err;
}
