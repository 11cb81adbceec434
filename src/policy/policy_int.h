/*
 * policy_int.h  Internals shared by the files of src/policy.
 */
#ifndef AGENTLINE_POLICY_INT_H
#define AGENTLINE_POLICY_INT_H

#include <stdbool.h>

/* default_country is an ISO code we know or a calling code */
bool policy_country_valid(const char *dc);

#endif
