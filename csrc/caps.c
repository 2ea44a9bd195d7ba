/*
 * Capabilities in the child: names are resolved and the sets built in the
 * parent (plan.c); the child only applies them, through libcap calls that
 * are thin wrappers around capset(2) and prctl(2) and allocate nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "plan.h"

/* Shrink the bounding set; needs CAP_SETPCAP, so it runs before any switch of user. */
int caps_drop_bounding(const struct caps_plan *caps)
{
	for (int i = 0; i <= caps->last_cap; i++)
		if (!(caps->bounding & (UINT64_C(1) << i)) && cap_drop_bound((cap_value_t)i) < 0)
			return -1;
	return 0;
}

/*
 * Take the capabilities in mask out of the bounding, effective, permitted
 * and inheritable sets (the ambient set follows), leaving the others as they
 * are. Raw capget/capset: libcap's reading of the sets allocates.
 */
int caps_drop(uint64_t mask)
{
	struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 64; i++)
		if ((mask & (UINT64_C(1) << i)) && prctl(PR_CAPBSET_READ, (long)i, 0L, 0L, 0L) > 0 &&
		    prctl(PR_CAPBSET_DROP, (long)i, 0L, 0L, 0L) < 0)
			return -1;
	if (capget(&head, data) < 0)
		return -1;
	for (int k = 0; k < 2; k++) {
		uint32_t keep = ~(uint32_t)(mask >> (32 * k));

		data[k].effective &= keep;
		data[k].permitted &= keep;
		data[k].inheritable &= keep;
	}
	return capset(&head, data);
}

/* E, P and I exactly as planned, then the ambient set that carries them across exec. */
int caps_apply(const struct caps_plan *caps)
{
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return -1;
	if (cap_set_proc(caps->sets) < 0)
		return -1;
	for (int i = 0; i <= caps->last_cap; i++)
		if ((caps->ambient & (UINT64_C(1) << i)) && cap_set_ambient((cap_value_t)i, CAP_SET) < 0)
			return -1;
	return 0;
}
