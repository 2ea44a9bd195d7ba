/*
 * Preloaded after libasan into the Lua interpreters of `make asan` only (see
 * spec/support/asan.sh): it takes LD_PRELOAD out of the environment, so the
 * programs the specs run (sh, ps, setpriv, the sandboxed commands) start
 * without ASan, which they are not built for (pgrep deadlocks under it); a
 * `lua` they start goes through the wrapper again.
 */
#include <stdlib.h>

__attribute__((constructor)) static void forget_preload(void)
{
	unsetenv("LD_PRELOAD");
}
