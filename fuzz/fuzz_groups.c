/*
 * fuzz_groups.c  Caller-groups file parser/validator on arbitrary bytes:
 *                never crash, leak or overrun; a parsed table classifies
 *                a few numbers without trouble; an error always comes
 *                with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const nums[] = {
		"+15555550100", "+15550", "+4930123456", NULL,
	};
	struct policy_groups *g = NULL;
	struct caller_class cls;
	char err[256];
	int e;

	if (size > 1 << 20)
		return 0;
	e = policy_groups_parse(&g, (const char *)data, size, err,
				sizeof(err));
	if (e) {
		if (g || !err[0] || strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	for (size_t i = 0; i <= 3; i++) {
		memset(&cls, 0, sizeof(cls));
		policy_groups_classify(g, nums[i], &cls);
		if (!cls.group || cls.privilege < 0 || cls.privilege > 3)
			abort();
		/* unknown callers are never privileged */
		if (!nums[i] && cls.privilege != 0)
			abort();
		(void)policy_groups_tool_allowed(g, cls.group, "place_call");
	}
	mem_deref(g);
	return 0;
}
