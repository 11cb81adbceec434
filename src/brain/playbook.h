/*
 * playbook.h  Playbooks: editable text files that say how the agent
 *             handles a kind of call (reception, take a message, intercom,
 *             reservation, price inquiry).  Each has a greeting and the
 *             instructions an LLM brain gets; the offline brain
 *             (`brain = playbook`) uses the greeting.  A persona (per caller
 *             group) names its playbook.
 *
 * File format (docs/playbooks.md): `#` comment lines and `key: value`
 * header lines (title, greeting, greeting_de, playbook), a blank line,
 * then the instructions as free text.  {owner} is replaced by the
 * greeting_owner setting.  Files are NAME.txt in `playbooks_dir` (user
 * files, searched first) and in the bundled playbooks/ folder.
 *
 * Main thread only (reads files; call it at call set-up, not per frame).
 */
#ifndef AGENTLINE_PLAYBOOK_H
#define AGENTLINE_PLAYBOOK_H

#include <stddef.h>

struct conf;

struct playbook {
	char *name;        /* file name without .txt                     */
	char *title;       /* "" if none                                 */
	char *greeting;    /* in the `language` setting, {owner} filled  */
	char *text;        /* instructions for an LLM, {owner} filled    */
	char *path;        /* the file it came from                      */
};

/* Load playbook `name` (NULL or "" = the `playbook` setting).  *pbp is a
 * mem object (mem_deref it).  ENOENT if no such file, EINVAL for a name
 * that is not [A-Za-z0-9_-]+, EFBIG for a file over 64 KiB. */
int  playbook_load(struct playbook **pbp, const struct conf *conf,
		   const char *name);

/* The playbook a persona uses: the persona's own name when such a
 * playbook exists, else the `playbook` setting.  persona may be NULL. */
const char *playbook_for_persona(const struct conf *conf,
				 const char *persona);

/* The digits said in text, as words ("five five five, double two") or
 * figures; returns how many (out is always terminated). */
size_t playbook_digits(char *out, size_t sz, const char *text);

/* The bundled playbooks folder (read-only defaults). */
const char *playbook_bundled_dir(void);

#endif
