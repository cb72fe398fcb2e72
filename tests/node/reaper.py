#!/usr/bin/python3
"""Run a command as a child subreaper and report what it leaves behind.

Usage: reaper.py REPORT.json COMMAND [ARG...]
Runs COMMAND with this process's stdio, waits for it, then writes to REPORT.json the list of
processes still alive below this one ({"pid", "cmdline"} each): orphans of COMMAND are
re-parented here instead of to init because of PR_SET_CHILD_SUBREAPER. They are killed, so a
failing test leaves nothing behind. Exits with COMMAND's status (128+N for signal N).
"""
import ctypes
import json
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def children():
    pids = []
    for task in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/children" % task) as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def main():
    report, command = sys.argv[1], sys.argv[2:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))
    child = os.fork()
    if child == 0:
        os.execv(command[0], command)
    _, status = os.waitpid(child, 0)
    leftovers = [{"pid": pid, "cmdline": cmdline(pid)} for pid in children()]
    with open(report, "w") as f:
        json.dump(leftovers, f)
    for item in leftovers:
        try:
            os.kill(item["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
             else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
