/*
 * reg.h  SIP accounts and their registrations: digest auth, refresh,
 *        exponential backoff with jitter (1 s .. 30 s), operator-readable
 *        failure messages, re-registration after a dropped connection.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_REG_H
#define AGENTLINE_REG_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct account;

int  reg_init(const struct conf *conf, const char *transport_param);
/* Unregister all (Expires: 0); done_h runs when every REGISTER finished
 * or after a bounded wait. */
void reg_shutdown(void);
void reg_close(void);
unsigned reg_count(void);

struct account *account_get(unsigned idx);
const char *account_aor(const struct account *acc);    /* sip:ext@host */
const char *account_user(const struct account *acc);   /* extension    */
const char *account_route(const struct account *acc); /* sip:host;lr  */
const char *account_host(const struct account *acc);
/* For the control API: the account's id in logs and events ("acct1"),
 * and whether its registration currently stands. */
const char *account_tag(const struct account *acc);
bool account_registered(const struct account *acc);

/* sip_auth_h for requests made on behalf of an account */
int account_auth_handler(char **username, char **password,
			 const char *realm, void *arg);

/* Backoff: delay in ms before retry number `failc` (1-based), with
 * jitter; exposed for tests. */
uint32_t reg_backoff_ms(unsigned failc);

#endif
