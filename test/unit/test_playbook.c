/*
 * test_playbook.c  Playbook files (bundled, user folder, persona files
 *                  borrowing a playbook), the offline receptionist driven
 *                  turn by turn through a fake host (replies, listen modes,
 *                  tool calls), and the script brain.
 */
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "brain/brain.h"
#include "brain/playbook.h"
#include "core/conf.h"
#include "test.h"


static int conf_make(struct conf **confp, const char *const *kv)
{
	struct conf *conf = NULL;
	int err = conf_alloc(&conf);

	for (size_t i = 0; !err && kv && kv[i]; i++)
		err = conf_set_arg(conf, kv[i], NULL, NULL);
	if (!err && conf_validate(conf, NULL, NULL))
		err = EINVAL;
	if (err)
		mem_deref(conf);
	else
		*confp = conf;
	return err;
}


int test_playbook_load(void)
{
	static const char *const names[] = {"reception", "message",
		"intercom", "reservation", "inquiry"};
	const char *kv_en[] = {"greeting_owner=Sam", NULL};
	const char *kv_de[] = {"greeting_owner=Sam", "language=de", NULL};
	char dir[] = "/tmp/agentline-test-playbook-XXXXXX";
	char path[600], kv_dir[700];
	const char *kv_user[] = {kv_dir, "greeting_owner=Sam", NULL};
	struct conf *conf = NULL;
	struct playbook *pb = NULL;
	FILE *f;
	int err = 0;

	TEST_ERR(conf_make(&conf, kv_en));
	for (size_t i = 0; i < 5; i++) {
		err = playbook_load(&pb, conf, names[i]);
		if (err) {
			fprintf(stderr, "%s: %d\n", names[i], err);
			goto out;
		}
		TEST_ASSERT(*pb->title && *pb->greeting);
		TEST_ASSERT(strlen(pb->text) > 100);
		TEST_ASSERT(!strstr(pb->text, "{owner}"));
		TEST_ASSERT(!strstr(pb->greeting, "{owner}"));
		pb = mem_deref(pb);
	}
	/* the default comes from the `playbook` setting */
	TEST_ERR(playbook_load(&pb, conf, NULL));
	TEST_STREQ(pb->name, "reception");
	TEST_ASSERT(!strncmp(pb->greeting, "Hello, this is Sam's", 20));
	TEST_ASSERT(strstr(pb->text, "You answer Sam's phone"));
	pb = mem_deref(pb);
	TEST_EQ(playbook_load(&pb, conf, "../etc/passwd"), EINVAL);
	TEST_EQ(playbook_load(&pb, conf, "nosuch"), ENOENT);
	TEST_STREQ(playbook_for_persona(conf, "intercom"), "intercom");
	TEST_STREQ(playbook_for_persona(conf, "nosuch"), "reception");
	TEST_STREQ(playbook_for_persona(conf, NULL), "reception");
	conf = mem_deref(conf);

	TEST_ERR(conf_make(&conf, kv_de));
	TEST_ERR(playbook_load(&pb, conf, "reception"));
	TEST_ASSERT(!strncmp(pb->greeting, "Hallo, hier ist", 15));
	pb = mem_deref(pb);
	conf = mem_deref(conf);

	/* a user folder: a persona file borrowing reception's text, and a
	 * user playbook that shadows a bundled one */
	TEST_ASSERT(mkdtemp(dir));
	re_snprintf(path, sizeof(path), "%s/family.txt", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f);
	fputs("# family persona\nplaybook: reception\n"
	      "greeting: Hi, it's {owner}'s phone.\n\n", f);
	fclose(f);
	re_snprintf(path, sizeof(path), "%s/message.txt", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f);
	fputs("title: Mine\n\nJust take a message for {owner}.\n", f);
	fclose(f);
	re_snprintf(kv_dir, sizeof(kv_dir), "playbooks_dir=%s", dir);
	err = conf_make(&conf, kv_user);
	if (err)
		goto out;
	err = playbook_load(&pb, conf, "family");
	if (err)
		goto out;
	if (strcmp(pb->greeting, "Hi, it's Sam's phone.") ||
	    !strstr(pb->text, "You answer Sam's phone") ||
	    strcmp(pb->title, "Reception and screening"))
		err = 1;
	pb = mem_deref(pb);
	if (!err)
		err = playbook_load(&pb, conf, "message");
	if (!err && (strcmp(pb->text, "Just take a message for Sam.") ||
		     strcmp(pb->title, "Mine") || *pb->greeting))
		err = 1;
	if (!err && strcmp(playbook_for_persona(conf, "family"), "family"))
		err = 1;
 out:
	mem_deref(pb);
	mem_deref(conf);
	re_snprintf(path, sizeof(path), "%s/family.txt", dir);
	unlink(path);
	re_snprintf(path, sizeof(path), "%s/message.txt", dir);
	unlink(path);
	rmdir(dir);
	return err;
}


/* ------------------------------------------------- a fake agent host */

struct fake_host {
	char replies[32][800];
	unsigned nreplies;
	char mode[16];
	char tools[4][64];
	char args[4][2000];
	unsigned ntools;
	brain_tool_h *done[4];
	void *done_arg[4];
	uint32_t last_turn;
};


static void fh_reply(uint32_t turn_id, const char *text, bool final,
		     void *arg)
{
	struct fake_host *h = arg;

	h->last_turn = turn_id;
	if (text && h->nreplies < 32)
		str_ncpy(h->replies[h->nreplies++], text,
			 sizeof(h->replies[0]));
	(void)final;
}


static int fh_tool(void *arg, uint32_t turn_id, const char *name,
		   const char *args, brain_tool_h *done, void *done_arg)
{
	struct fake_host *h = arg;
	(void)turn_id;

	if (h->ntools >= 4)
		return ENOSPC;
	str_ncpy(h->tools[h->ntools], name, sizeof(h->tools[0]));
	str_ncpy(h->args[h->ntools], args, sizeof(h->args[0]));
	h->done[h->ntools] = done;
	h->done_arg[h->ntools] = done_arg;
	h->ntools++;
	return 0;
}


static void fh_listen(void *arg, const char *mode)
{
	struct fake_host *h = arg;

	str_ncpy(h->mode, mode, sizeof(h->mode));
}


static const char *last_reply(struct fake_host *h)
{
	return h->nreplies ? h->replies[h->nreplies - 1] : "";
}


static int turn(const struct brain_ops *ops, void *st, uint32_t id,
		enum brain_input kind, const char *text, const char *audio)
{
	struct brain_turn t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.kind = kind;
	t.text = text;
	t.audio_path = audio;
	return ops->turn(st, &t);
}


int test_playbook_receptionist(void)
{
	const char *kv[] = {"greeting_owner=Sam", NULL};
	const struct brain_ops *ops = brain_find("playbook");
	struct fake_host h;
	struct brain_host host = {fh_reply, fh_tool, fh_listen, NULL, &h};
	struct brain_call bc;
	struct conf *conf = NULL;
	void *st = NULL;
	int err = 0;

	TEST_ASSERT(ops && ops->keep_audio && ops->start);
	TEST_ASSERT(brain_find(NULL) == NULL);
	memset(&h, 0, sizeof(h));
	memset(&bc, 0, sizeof(bc));
	bc.callid = "t1";
	bc.language = "en";
	TEST_ERR(conf_make(&conf, kv));
	err = ops->alloc(&st, conf, &bc, &host);
	if (err)
		goto out;

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s (reply " \
	"\"%s\", mode %s)\n", __FILE__, __LINE__, #c, last_reply(&h), \
	h.mode); err = 1; goto out; } } while (0)

	CHECK(ops->start(st) == 0);
	CHECK(strstr(last_reply(&h), "Sam's assistant"));
	CHECK(strstr(last_reply(&h), "your name"));
	CHECK(!strcmp(h.mode, "free") && h.last_turn == 0);

	turn(ops, st, 1, BRAIN_SPEECH, "hello this is Alice Walker", "/a/1.wav");
	CHECK(strstr(last_reply(&h), "What is your call about"));
	/* "repeat that" says the question again */
	turn(ops, st, 2, BRAIN_SPEECH, "sorry can you repeat that", NULL);
	CHECK(strstr(last_reply(&h), "What is your call about"));
	turn(ops, st, 3, BRAIN_SPEECH, "the piano lesson on friday",
	     "/a/3.wav");
	CHECK(strstr(last_reply(&h), "number") && !strcmp(h.mode, "digits"));
	/* not a number: asked again */
	turn(ops, st, 4, BRAIN_SPEECH, "I don't know it", NULL);
	CHECK(strstr(last_reply(&h), "didn't get the number"));
	turn(ops, st, 5, BRAIN_SPEECH, "five five five one two three four",
	     NULL);
	CHECK(!strcmp(h.mode, "yesno"));
	CHECK(strstr(last_reply(&h), "I have five five five one two three "
		     "four. Is that right?"));
	/* "no": asked again; keypad entry this time */
	turn(ops, st, 6, BRAIN_SPEECH, "no", NULL);
	CHECK(strstr(last_reply(&h), "again") && !strcmp(h.mode, "digits"));
	turn(ops, st, 7, BRAIN_DTMF, "0301", NULL);
	turn(ops, st, 8, BRAIN_DTMF, "234#", NULL);
	CHECK(strstr(last_reply(&h), "zero three zero one two three four."));
	/* neither yes nor no */
	turn(ops, st, 9, BRAIN_SPEECH, "hmm", NULL);
	CHECK(strstr(last_reply(&h), "yes or no") &&
	      strstr(last_reply(&h), "zero three zero one"));
	CHECK(h.ntools == 0);
	turn(ops, st, 10, BRAIN_SPEECH, "yes", NULL);
	CHECK(strstr(last_reply(&h), "Goodbye"));
	CHECK(h.ntools == 1 && !strcmp(h.tools[0], "take_message"));
	CHECK(strstr(h.args[0], "\"name\":\"Alice Walker\""));
	CHECK(strstr(h.args[0], "\"callback_number\":\"0301234\""));
	CHECK(strstr(h.args[0], "\"message\":\"the piano lesson on "
		     "friday\""));
	CHECK(strstr(h.args[0], "\"audio_path\":\"/a/t1-message.wav\"") ||
	      strstr(h.args[0], "\"audio_path\":\"/a/3.wav\""));
	/* stored: then the brain hangs up */
	h.done[0](10, 0, "{\"id\":1}", h.done_arg[0]);
	CHECK(h.ntools == 2 && !strcmp(h.tools[1], "hang_up"));
#undef CHECK

 out:
	mem_deref(st);
	mem_deref(conf);
	return err;
}



static void script_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


int test_playbook_script(void)
{
	static const char script_text[] =
		"# a caller\nHello.\n\ndtmf: 12#\nconfirm: one two\n"
		"six two two, four six one four.\nconfirm: 6224614\n";
	static const char *const heard[] = {"hello who is it",
		"your number please", "I have one three is that right",
		"please say it again", "I have five one two nine",
		"your number please", "I have six two two four six oh one "
		"four", "again please", "I have six two two four six one four",
		"bye"};
	char path[] = "/tmp/agentline-test-script-XXXXXX";
	char kv_brain[100];
	const char *kv[] = {kv_brain, NULL};
	const struct brain_ops *ops;
	struct fake_host h;
	struct brain_host host = {fh_reply, fh_tool, fh_listen, NULL, &h};
	struct brain_call bc;
	struct conf *conf = NULL;
	struct tmr tmr;
	void *st = NULL;
	int fd, err = 0;

	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0);
	TEST_ASSERT(write(fd, script_text, strlen(script_text)) ==
		    (ssize_t)strlen(script_text));
	close(fd);
	re_snprintf(kv_brain, sizeof(kv_brain), "brain=script:%s", path);
	memset(&h, 0, sizeof(h));
	memset(&bc, 0, sizeof(bc));
	bc.callid = "t2";
	tmr_init(&tmr);
	err = conf_make(&conf, kv);
	if (err)
		goto out;
	ops = brain_find(conf_str(conf, "brain"));
	if (!ops || !ops->alloc) {
		err = ENOENT;
		goto out;
	}
	err = ops->alloc(&st, conf, &bc, &host);
	if (err)
		goto out;

	/* each turn of the other side: the next line after a short quiet;
	 * a wrong read-back gets "no" and the number again */
	for (unsigned i = 1; i <= 10; i++) {
		turn(ops, st, i, BRAIN_SPEECH, heard[i - 1], NULL);
		tmr_start(&tmr, 600, script_tmr, NULL);
		re_main(NULL);
	}
	/* the number said again is grouped differently */
	if (h.nreplies != 7 || strcmp(h.replies[0], "Hello.") ||
	    strcmp(h.replies[1], "no.") || strcmp(h.replies[2], "yes.") ||
	    strcmp(h.replies[3], "six two two, four six one four.") ||
	    strcmp(h.replies[4], "no.") ||
	    strcmp(h.replies[5], "six two two, four six, one four.") ||
	    strcmp(h.replies[6], "yes.") ||
	    h.ntools != 3 || strcmp(h.tools[0], "send_dtmf") ||
	    strcmp(h.args[0], "{\"digits\":\"12#\"}") ||
	    strcmp(h.tools[1], "send_dtmf") ||
	    strcmp(h.tools[2], "hang_up")) {
		fprintf(stderr, "script: %u replies, %u tools (%s %s)\n",
			h.nreplies, h.ntools, h.tools[0], h.args[0]);
		for (unsigned i = 0; i < h.nreplies; i++)
			fprintf(stderr, "  %s\n", h.replies[i]);
		err = 1;
	}
 out:
	tmr_cancel(&tmr);
	mem_deref(st);
	mem_deref(conf);
	unlink(path);
	return err;
}
