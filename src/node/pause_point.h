/* Test-only pause points (tests/node/test_faults.py): with CNTR_TEST_PAUSE_AT=PHASE in its
 * environment, the process reaching PHASE stops itself (SIGSTOP) until it is continued, so a
 * test can make the world fail at exactly that step (kill the target) instead of guessing with
 * sleeps. Phases: resolved, opened (target's context and namespaces held), view (mount view
 * built, in the command's process before its exec: it lives in the target's pid namespace and
 * dies with its init), joined (all namespaces joined, before the command execs).
 * Harmless in production: only whoever sets cntr's environment can ask for it. */
#pragma once

void pause_point(const char *phase);
