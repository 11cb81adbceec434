/*
 * conf.h  Configuration: one declarative option table drives parsing,
 *         validation, --help and log redaction.
 *
 * Sources, lowest to highest precedence: built-in defaults, the config
 * file (`key = value` or `key value` lines, '#' comments), environment
 * variables AGENTLINE_<KEY> (upper case), --set key=value.  A secret key
 * may instead be given as <key>_file naming a file whose first line is the
 * value.  Numbered keys (sip_extension_2, sip_password_2, ...) are declared
 * once in the table with CONF_F_NUMBERED and accepted for n = 1..99.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_CONF_H
#define AGENTLINE_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/*
 * libre's own config module (re_conf.h, pulled in by <re.h>) declares a
 * different conf_alloc() and the same `struct conf` tag.  So that both can
 * be in one translation unit, <re.h> is included here first and ours is
 * linked as agentline_conf_alloc.  Never mix the two kinds of struct conf.
 */
#include <re.h>
#define conf_alloc agentline_conf_alloc

struct re_printf;

enum conf_type {
	CONF_STR = 0,   /* free text (may be empty)                    */
	CONF_INT,       /* integer within [min, max]                   */
	CONF_BOOL,      /* true/false/yes/no/on/off/1/0                */
	CONF_ENUM,      /* one of a '|' separated list in `choices`    */
	CONF_LIST,      /* comma separated list, items validated by fn */
	CONF_PATH,      /* file path; must exist when set (validated)  */
};

enum conf_flags {
	CONF_F_SECRET   = 1 << 0, /* never logged; may be given as _file   */
	CONF_F_NUMBERED = 1 << 1, /* also accepts key_<n>, n = 1..99       */
	CONF_F_RUNTIME  = 1 << 2, /* may be changed while running          */
};

struct conf;

/* Optional per-option validator: return 0 or write a reason into err. */
typedef int (conf_check_h)(const char *value, char *err, size_t errsz);

struct conf_opt {
	const char *key;
	enum conf_type type;
	const char *def;        /* default as text; NULL = unset           */
	int64_t min, max;       /* CONF_INT bounds                          */
	const char *choices;    /* CONF_ENUM: "a|b|c"                       */
	unsigned flags;
	conf_check_h *checkh;   /* extra validation (CONF_STR/LIST/...)     */
	const char *help;       /* one line for --help                      */
};

/* The option table (NULL key terminates). */
extern const struct conf_opt conf_opts[];

/* Problems are reported through this handler, one line each. */
typedef void (conf_err_h)(const char *line, void *arg);

int  conf_alloc(struct conf **confp);
/* Parse a file; each bad line is reported via errh and counted. */
int  conf_load_file(struct conf *conf, const char *path,
		    conf_err_h *errh, void *arg);
/* Parse config text from memory (what conf_load_file does after reading
 * the file; also the fuzzing entry point). source names it in messages. */
int  conf_parse_buf(struct conf *conf, const char *buf, size_t len,
		    const char *source, conf_err_h *errh, void *arg);
/* Apply AGENTLINE_* variables from envp (NULL-terminated). */
int  conf_load_env(struct conf *conf, char *const envp[],
		   conf_err_h *errh, void *arg);
/* Apply one "key=value" (from --set). */
int  conf_set_arg(struct conf *conf, const char *kv,
		  conf_err_h *errh, void *arg);
/* Set one key (source names where it came from, for messages). */
int  conf_set(struct conf *conf, const char *key, const char *value,
	      const char *source, conf_err_h *errh, void *arg);
/* Resolve *_file secrets, check types, bounds, cross-key rules.
 * Returns number of problems (0 = valid), counting those the loaders
 * above already reported (those are not reported again). */
unsigned conf_validate(struct conf *conf, conf_err_h *errh, void *arg);

/* Accessors (after validate). key may be numbered, e.g. "sip_password_2" */
const char *conf_str(const struct conf *conf, const char *key);
int64_t     conf_int(const struct conf *conf, const char *key);
bool        conf_bool(const struct conf *conf, const char *key);
bool        conf_isset(const struct conf *conf, const char *key);
/* Numbered keys that are set, e.g. for "sip_extension": fills nv[] with
 * each n of a set key_<n> (ascending; the plain key is not included) and
 * returns the count. */
size_t      conf_numbered(const struct conf *conf, const char *key,
			  unsigned *nv, size_t max);

/* Option lookup; resolves numbered and _file forms. NULL if unknown. */
const struct conf_opt *conf_opt_find(const char *key);
/* Register all secret values with the log redactor. */
void conf_register_secrets(const struct conf *conf);
/* Print --help option table with defaults. */
int  conf_print_help(struct re_printf *pf);
/* Print effective config with secrets shown as "***". */
int  conf_print(struct re_printf *pf, const struct conf *conf);
/* Print every key commented out with its default and help line (the
 * example config; secrets empty). */
int  conf_print_example(struct re_printf *pf);

#endif
