/*
 * main.c  agentline command line: run, check, call, version, --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <re.h>
#include "api/api.h"
#include "brain/brain.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "pipeline/agent.h"
#include "pipeline/app.h"
#include "pipeline/harness.h"
#include "sip/call.h"
#include "sip/ua.h"
#include "media/wrtc.h"
#include "store/store.h"

#define MOD "main"

extern char **environ;

enum { EXIT_CONFIG = 2 };

struct opts {
	const char *cmd;
	const char *file;
	const char *uri;
	const char *in, *out, *codec;
	const char *arg2;                 /* say ID TEXT: the text        */
	const char *objective, *persona;  /* call --objective/--persona   */
	bool via_api;                     /* call --api                   */
	bool fast;
	unsigned duration;
	const char *sets[256];
	size_t nsets;
};

static struct {
	bool stopping;
	int exit_code;
	struct call *outcall;
	unsigned duration;
	struct tmr tmr;
} run;


static void usage(FILE *f)
{
	fprintf(f,
		"agentline %s - a phone line for an AI agent\n"
		"\n"
		"usage: agentline run   [-c FILE] [--set key=value]...\n"
		"       agentline check [-c FILE] [--set key=value]...\n"
		"       agentline call  SIP-URI|NUMBER [-c FILE] "
		"[--set key=value]... [--duration SECS]\n"
		"                       [--objective TEXT] [--persona NAME] "
		"[--api]\n"
		"       agentline calls | messages | hangup ID | say ID TEXT "
		"[-c FILE]\n"
		"       agentline pipeline --in CALLER.wav [--out AGENT.wav] "
		"[--codec PCMU|PCMA|G722|none] [--fast] [-c FILE] "
		"[--set ...]\n"
		"       agentline demo\n"
		"       agentline config-example\n"
		"       agentline version\n"
		"       agentline --help\n"
		"\n"
		"  run     answer (and place) calls in the foreground until "
		"SIGTERM/SIGINT\n"
		"  check   validate the configuration: exit 0, or 2 with one "
		"line per problem\n"
		"  call    place one call, print its outcome as JSON, exit 0 "
		"if answered\n"
		"  demo    call the default agent from a scripted caller on "
		"loopback and\n          print the conversation and the "
		"stored message\n"
		"  pipeline  run the agent pipeline over a WAV file (simulated "
		"real time,\n"
		"          or --fast), print one JSON line per turn with "
		"timings\n"
		"\n"
		"  -c, --config FILE   configuration file (key = value lines)\n"
		"  --set key=value     override one key (highest precedence)\n"
		"  --duration SECS     call: hang up after SECS once answered "
		"(default: when the app ends, or 30)\n"
		"\n"
		"Every key may also be set with the environment variable "
		"AGENTLINE_<KEY>;\nsecrets may be given as <key>_file. "
		"Precedence: default < file < env < --set.\n"
		"\nOptions (key, type, default):\n",
		AGENTLINE_VERSION);
	fflush(f);
	(void)re_fprintf(f, "%H", conf_print_help, NULL);
}


static int parse_args(struct opts *o, int argc, char *argv[])
{
	memset(o, 0, sizeof(*o));

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->cmd = "help";
			return 0;
		}
		else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			if (++i >= argc)
				return EINVAL;
			o->file = argv[i];
		}
		else if (!strcmp(a, "--set")) {
			if (++i >= argc || o->nsets >= 256)
				return EINVAL;
			o->sets[o->nsets++] = argv[i];
		}
		else if (!strncmp(a, "--set=", 6)) {
			if (o->nsets >= 256)
				return EINVAL;
			o->sets[o->nsets++] = a + 6;
		}
		else if (!strcmp(a, "--in") || !strcmp(a, "--out")) {
			if (++i >= argc)
				return EINVAL;
			if (a[2] == 'i')
				o->in = argv[i];
			else
				o->out = argv[i];
		}
		else if (!strcmp(a, "--codec")) {
			if (++i >= argc)
				return EINVAL;
			o->codec = argv[i];
		}
		else if (!strcmp(a, "--objective") ||
			 !strcmp(a, "--persona")) {
			if (++i >= argc)
				return EINVAL;
			if (a[2] == 'o')
				o->objective = argv[i];
			else
				o->persona = argv[i];
		}
		else if (!strcmp(a, "--api")) {
			o->via_api = true;
		}
		else if (!strcmp(a, "--fast")) {
			o->fast = true;
		}
		else if (!strcmp(a, "--duration")) {
			if (++i >= argc)
				return EINVAL;
			o->duration = (unsigned)atoi(argv[i]);
		}
		else if (a[0] == '-') {
			fprintf(stderr, "agentline: unknown option %s\n", a);
			return EINVAL;
		}
		else if (!o->cmd) {
			o->cmd = a;
		}
		else if ((!strcmp(o->cmd, "call") ||
			  !strcmp(o->cmd, "hangup") ||
			  !strcmp(o->cmd, "say")) && !o->uri) {
			o->uri = a;
		}
		else if (!strcmp(o->cmd, "say") && !o->arg2) {
			o->arg2 = a;
		}
		else {
			fprintf(stderr, "agentline: unexpected argument %s\n",
				a);
			return EINVAL;
		}
	}
	return 0;
}


static void conf_err_print(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}


/* Load defaults < file < env < --set; returns problems found. */
static unsigned load_conf(struct conf **confp, const struct opts *o)
{
	struct conf *conf = NULL;
	unsigned problems = 0;

	if (conf_alloc(&conf))
		return 1;
	if (o->file && conf_load_file(conf, o->file, conf_err_print, NULL))
		problems++;
	if (conf_load_env(conf, environ, conf_err_print, NULL))
		problems++;
	for (size_t i = 0; i < o->nsets; i++) {
		if (conf_set_arg(conf, o->sets[i], conf_err_print, NULL))
			problems++;
	}
	problems += conf_validate(conf, conf_err_print, NULL);
	*confp = conf;
	return problems;
}


static void apply_logging(const struct conf *conf)
{
	enum log_level lvl;

	if (0 == log_level_parse(&lvl, conf_str(conf, "log_level")))
		log_set_level(lvl);
	log_set_format(!strcmp(conf_str(conf, "log_format"), "json") ?
		       LOG_FMT_JSON : LOG_FMT_TEXT);
	conf_register_secrets(conf);
}


static void exit_handler(void *arg)
{
	(void)arg;
	re_cancel();
}


static void signal_handler(int sig)
{
	if (run.stopping) {
		log_warn(MOD, NULL, "second signal %d: exiting now", sig);
		re_cancel();
		return;
	}
	run.stopping = true;
	log_info(MOD, NULL, "signal %d: draining", sig);
	ua_shutdown(exit_handler, NULL);
}


static void call_done_tmr(void *arg)
{
	(void)arg;
	ua_shutdown(exit_handler, NULL);
}


static void duration_tmr(void *arg)
{
	(void)arg;
	if (run.outcall)
		call_hangup(run.outcall, "local_bye");
}


static void outcome_handler(struct call *call, enum call_outcome o,
			    uint16_t scode, void *arg)
{
	(void)call;
	(void)arg;

	printf("{\"outcome\":\"%s\",\"sip_code\":%u}\n",
	       call_outcome_name(o), scode);
	fflush(stdout);
	run.exit_code = o == CALL_OUTCOME_ANSWERED ? 0 : 1;
	if (o == CALL_OUTCOME_ANSWERED) {
		tmr_start(&run.tmr, run.duration * 1000ull, duration_tmr,
			  NULL);
	}
	else {
		run.outcall = NULL;
		tmr_start(&run.tmr, 0, call_done_tmr, NULL);
	}
}


static void call_end_handler(struct call *call, void *arg)
{
	(void)call;
	(void)arg;
	/* `call`: stop once our call has ended */
	run.outcall = NULL;
	tmr_start(&run.tmr, 0, call_done_tmr, NULL);
}


/* Each call holds two sockets (RTP, RTCP): lift the soft limit on open
 * files to the hard limit so max_calls is not capped at ~500 by default. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}


static int cmd_run(const struct opts *o, bool one_call)
{
	struct conf *conf = NULL;
	unsigned problems;
	int err;

	problems = load_conf(&conf, o);
	if (problems) {
		fprintf(stderr, "agentline: %u configuration problem%s\n",
			problems, problems > 1 ? "s" : "");
		mem_deref(conf);
		return EXIT_CONFIG;
	}
	apply_logging(conf);
	raise_fd_limit();

	err = libre_init();
	if (err) {
		log_error(MOD, NULL, "libre init failed: %m", err);
		mem_deref(conf);
		return 1;
	}

	if (conf_isset(conf, "events_file") &&
	    *conf_str(conf, "events_file")) {
		err = events_open_file(conf_str(conf, "events_file"));
		if (err) {
			log_error(MOD, NULL, "events_file: cannot open: %m",
				  err);
			goto out;
		}
	}

	/* persistence; `agentline call` is a one-shot and leaves data_dir
	 * to the daemon that may be running */
	if (!one_call && *conf_str(conf, "data_dir")) {
		err = store_open(conf_str(conf, "data_dir"));
		if (err)
			goto out;
		err = store_retention_set((unsigned)conf_int(conf,
							    "retention_days"));
		if (err)
			log_warn(MOD, NULL, "retention: %m", err);
		err = 0;
	}

	err = app_init(conf_str(conf, "app"));
	if (err)
		goto out;
	if (!strcmp(conf_str(conf, "app"), "agent")) {
		err = agent_init(conf);
		if (err)
			goto out;
	}

	/* the DTLS certificate for WebRTC calls; without it only WebRTC
	 * calls fail (wrtc_alloc refuses), so this is not fatal */
	(void)wrtc_init();

	err = ua_init(conf);
	if (err) {
		log_error(MOD, NULL, "cannot start the SIP user agent: %m",
			  err);
		goto out;
	}

	/* the one-shot `agentline call` leaves the API to the daemon */
	err = one_call ? 0 : api_init(conf);
	if (err) {
		log_error(MOD, NULL, "cannot start the control API: %m", err);
		goto out;
	}

	log_info(MOD, NULL, "agentline %s", AGENTLINE_VERSION);
	ua_print_banner();

	if (one_call) {
		tmr_init(&run.tmr);
		run.duration = o->duration ? o->duration : 30;
		run.exit_code = 1;
		err = ua_connect(&run.outcall, o->uri, 0, outcome_handler,
				 NULL);
		if (!err)
			call_set_end_handler(run.outcall, call_end_handler,
					     NULL);
		if (!err && o->objective)
			(void)brain_objective_set(call_id(run.outcall),
						  o->objective);
		if (err) {
			log_error(MOD, NULL, "cannot place the call: %m", err);
			printf("{\"outcome\":\"failed\",\"sip_code\":0}\n");
			goto out;
		}
	}
	log_info(MOD, NULL, "agentline ready");

	err = re_main(signal_handler);
	log_info(MOD, NULL, "stopped");

 out:
	tmr_cancel(&run.tmr);
	api_close();
	ua_close();
	wrtc_close();
	agent_close();
	app_close();
	store_close();
	events_close();
	mem_deref(conf);
	libre_close();
	log_secret_clear();
	if (one_call)
		return err ? 1 : run.exit_code;
	return err ? 1 : 0;
}


static int cmd_pipeline(const struct opts *o)
{
	struct conf *conf = NULL;
	unsigned problems;
	int err;

	if (!o->in) {
		fprintf(stderr, "agentline pipeline: --in FILE is required\n");
		return EXIT_CONFIG;
	}
	problems = load_conf(&conf, o);
	if (problems) {
		mem_deref(conf);
		return EXIT_CONFIG;
	}
	apply_logging(conf);
	err = libre_init();
	if (!err)
		err = harness_run(conf, o->in, o->out,
				  o->codec ? o->codec : "PCMU", o->fast, 2);
	mem_deref(conf);
	libre_close();
	log_secret_clear();
	return err ? 1 : 0;
}


/* CLI commands that talk to the running daemon's control API. */
static int cmd_api(const struct opts *o)
{
	struct conf *conf = NULL;
	struct mbuf *out = NULL;
	char path[512], *body = NULL;
	const char *method = "GET";
	uint16_t status = 0;
	int err, ret = 1;

	if (load_conf(&conf, o)) {
		mem_deref(conf);
		return EXIT_CONFIG;
	}
	if ((!strcmp(o->cmd, "hangup") || !strcmp(o->cmd, "say")) &&
	    (!o->uri || strchr(o->uri, '/') || strchr(o->uri, '?'))) {
		fprintf(stderr, "agentline %s: give a call id (see "
			"`agentline calls`)\n", o->cmd);
		ret = EXIT_CONFIG;
		goto out;
	}
	if (!strcmp(o->cmd, "calls")) {
		str_ncpy(path, "/api/calls", sizeof(path));
	}
	else if (!strcmp(o->cmd, "messages")) {
		str_ncpy(path, "/api/messages", sizeof(path));
	}
	else if (!strcmp(o->cmd, "hangup")) {
		method = "POST";
		re_snprintf(path, sizeof(path), "/api/calls/%s/hangup", o->uri);
	}
	else if (!strcmp(o->cmd, "say")) {
		if (!o->arg2) {
			fprintf(stderr, "agentline say: ID TEXT\n");
			ret = EXIT_CONFIG;
			goto out;
		}
		method = "POST";
		re_snprintf(path, sizeof(path), "/api/calls/%s/say", o->uri);
		err = re_sdprintf(&body, "{\"text\":%H}", api_jstr_h,
				  (void *)(uintptr_t)o->arg2);
		if (err)
			goto out;
	}
	else {
		method = "POST";
		str_ncpy(path, "/api/calls", sizeof(path));
		err = re_sdprintf(&body, "{\"number\":%H,\"objective\":%H,"
				  "\"persona\":%H}", api_jstr_h,
				  (void *)(uintptr_t)o->uri, api_jstr_h,
				  (void *)(uintptr_t)o->objective, api_jstr_h,
				  (void *)(uintptr_t)o->persona);
		if (err)
			goto out;
	}
	out = mbuf_alloc(4096);
	if (!out)
		goto out;
	err = api_client(conf, method, path, body, out, &status);
	if (err == ECONNREFUSED) {
		fprintf(stderr, "agentline: no daemon answers on "
			"control_listen %s (start `agentline run`)\n",
			conf_str(conf, "control_listen"));
		ret = 3;
		goto out;
	}
	if (err) {
		fprintf(stderr, "agentline: control API request failed: "
			"%s\n", strerror(err));
		goto out;
	}
	fwrite(out->buf, 1, out->end, stdout);
	printf("\n");
	ret = status >= 200 && status < 300 ? 0 : 1;
 out:
	mem_deref(out);
	mem_deref(body);
	mem_deref(conf);
	return ret;
}


static int cmd_check(const struct opts *o)
{
	struct conf *conf = NULL;
	unsigned problems = load_conf(&conf, o);

	if (!problems) {
		if (app_init(conf_str(conf, "app")))
			problems++;
		app_close();
	}
	mem_deref(conf);
	if (problems)
		return EXIT_CONFIG;
	printf("configuration ok\n");
	return 0;
}


/* `agentline demo`: scripts/demo.py (Python, stdlib) runs two agentline
 * processes; this binary is the one it starts. */
static int cmd_demo(void)
{
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 1;
	self[n] = '\0';
	execlp("python3", "python3", AGENTLINE_DATADIR "/../scripts/demo.py",
	       self, (char *)NULL);
	fprintf(stderr, "agentline demo: cannot run python3 %s: %s\n",
		AGENTLINE_DATADIR "/../scripts/demo.py", strerror(errno));
	return 1;
}


int main(int argc, char *argv[])
{
	struct opts o;

	if (parse_args(&o, argc, argv)) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (!o.cmd) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (!strcmp(o.cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(o.cmd, "demo"))
		return cmd_demo();
	if (!strcmp(o.cmd, "config-example")) {
		(void)re_fprintf(stdout, "%H", conf_print_example, NULL);
		return 0;
	}
	if (!strcmp(o.cmd, "version")) {
		printf("agentline %s\n", AGENTLINE_VERSION);
		return 0;
	}
	if (!strcmp(o.cmd, "check"))
		return cmd_check(&o);
	if (!strcmp(o.cmd, "run"))
		return cmd_run(&o, false);
	if (!strcmp(o.cmd, "pipeline"))
		return cmd_pipeline(&o);
	if (!strcmp(o.cmd, "calls") || !strcmp(o.cmd, "messages") ||
	    !strcmp(o.cmd, "hangup") || !strcmp(o.cmd, "say") ||
	    (!strcmp(o.cmd, "call") && o.via_api && o.uri))
		return cmd_api(&o);
	if (!strcmp(o.cmd, "call")) {
		if (!o.uri) {
			fprintf(stderr, "agentline call: missing SIP URI\n");
			return EXIT_CONFIG;
		}
		return cmd_run(&o, true);
	}
	fprintf(stderr, "agentline: unknown command \"%s\"\n", o.cmd);
	usage(stderr);
	return EXIT_CONFIG;
}
