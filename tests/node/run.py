#!/usr/bin/python3
"""Run one node test module for ctest: `run.py test_MODULE`.

Prints unittest's verbose output, then one summary line with the skip reasons (a runtime that is
absent or cannot start skips its tests). Exits 0 when everything ran and passed, 1 on failure,
and 77 (ctest SKIP_RETURN_CODE) when every test of the module was skipped.
"""
import sys
import unittest

SKIPPED = 77


def main():
    module = sys.argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    reasons = sorted({reason for _, reason in result.skipped})
    print("%s: %d run, %d failed, %d errors, %d skipped%s" % (
        module, result.testsRun, len(result.failures), len(result.errors), len(result.skipped),
        "".join("\n  skipped: " + r for r in reasons)), flush=True)
    if not result.wasSuccessful():
        return 1
    ran = result.testsRun - len(result.skipped)  # setUpClass skips are not counted as run
    if result.skipped and ran <= 0:
        return SKIPPED
    return 0


if __name__ == "__main__":
    sys.exit(main())
