"""Containment (docs/security.md): a session gives the target's processes nothing. Each test
attacks from the target's side during a live session -- a process started the way the runtime's
users start one (`docker exec`, `podman exec`, `ctr task exec`, `runc exec`: the container's
uid, capabilities and seccomp profile) -- and checks that the attack does not get through.
Every attack first proves that its way in exists (the session's root is reachable through
/proc/<session>/root), so a test cannot pass by not attacking at all."""
import ctypes
import json
import os
import random
import secrets
import signal
import shutil
import subprocess
import tempfile
import time
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, describe, exec_in,
                      host_mount_table, images, ns_pid, pid_namespace_members, proc_status,
                      processes_running, read_file, start, wait_for)
from test_agent_pod import start_agent_pod

SESSION_SECONDS = "3607"  # the session's `sleep`: tells it apart from the target's own

# Run by the target's busybox sh as the attacker: $1 = the session's pid in the target's pid
# namespace, $2 = a token naming the proof files. Prints what got through, one line each.
ATTACK = r'''
R=/proc/$1/root; T=$2
ls "$R/" >/dev/null 2>&1 && echo reach
for d in "" tmp usr usr/bin usr/local etc var bin lib; do
  if (echo pwned > "$R/$d/cntr-proof-$T") 2>/dev/null; then echo "wrote:/$d"; fi
done
mkdir "$R/cntr-proof-dir-$T" 2>/dev/null && echo "mkdir:/"
(echo pwned >> "$R/etc/hostname.cntr-proof") 2>/dev/null && echo "wrote:/etc"
if cat "$R/etc/shadow" 2>/dev/null | grep -q :; then echo "read:/etc/shadow"; fi
if cat "$R/etc/gshadow" 2>/dev/null | grep -q :; then echo "read:/etc/gshadow"; fi
for s in run var/run tmp root home var/lib/docker var/lib/containerd var/lib/containers \
         run/containerd/containerd.sock var/run/docker.sock run/podman/podman.sock \
         etc/kubernetes/admin.conf; do
  test -e "$R/$s" && echo "exists:/$s"
done
true
'''

HOST_PROOF_DIRS = ("/", "/tmp", "/usr", "/usr/bin", "/usr/local", "/etc", "/var", "/bin", "/lib")

PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper(on):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def find_session_process(target_pid, seconds=SESSION_SECONDS):
    """Host PID of the session's `sleep SECONDS` inside the target's pid namespace."""
    for pid in pid_namespace_members(target_pid):
        try:
            if read_file("/proc/%d/cmdline" % pid, "rb").split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                return pid
        except OSError:
            pass
    return None


class LiveSession:
    """`cntr attach TARGET -- sleep 3607` running in the background (optionally through a
    launcher such as `runc exec AGENT`); .pid is the session's command, .ns_pid its PID as
    the target's processes see it."""

    def __init__(self, target, ref=None, cntr_args=(), launcher=None):
        self.target = target
        argv = (launcher or [cntr_binary()]) + ["attach"] + list(cntr_args) + \
            [str(ref or target.pid), "--", "sleep", SESSION_SECONDS]
        self.proc = subprocess.Popen(argv, env=cntr_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def started():
            if self.proc.poll() is not None:
                raise AssertionError("the session ended early: exit %s, %s" % (
                    self.proc.returncode, self.proc.stderr.read().decode(errors="replace")))
            return find_session_process(target.pid)

        self.pid = wait_for(started, "the session's command to start")
        self.ns_pid = ns_pid(self.pid)

    def close(self):
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.communicate(timeout=CMD_TIMEOUT)


class ContainmentTests:
    """Mixed into one TestCase per runtime. RUNTIME, START as in the other node tests."""
    RUNTIME = None
    START = {}
    ATTACKER_USER = None

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME, **cls.START)

    def live_session(self, **kwargs):
        session = LiveSession(self.target, **kwargs)
        self.addCleanup(session.close)
        return session

    def attack(self, session):
        token = secrets.token_hex(4)
        self.addCleanup(self.remove_proofs, token)
        proc = exec_in(self.target, ["/bin/sh", "-c", ATTACK, "attack", str(session.ns_pid), token],
                       user=self.ATTACKER_USER)
        self.assertEqual(proc.returncode, 0, describe(proc))
        lines = proc.stdout.decode(errors="replace").split()
        self.assertIn("reach", lines, "precondition: the target reaches /proc/<session>/root, "
                      "else this test attacks nothing\n" + describe(proc))
        return token, [line for line in lines if line != "reach"]

    def remove_proofs(self, token):
        for d in HOST_PROOF_DIRS:
            for name in ("cntr-proof-" + token, "cntr-proof-dir-" + token):
                path = os.path.join(d, name)
                if os.path.isdir(path):
                    os.rmdir(path)
                elif os.path.lexists(path):
                    os.unlink(path)

    def assertNoProofOnHost(self, token):
        for d in HOST_PROOF_DIRS:
            for name in ("cntr-proof-" + token, "cntr-proof-dir-" + token):
                self.assertFalse(os.path.lexists(os.path.join(d, name)),
                                 "the target created %s on the host" % os.path.join(d, name))

    def test_target_cannot_write_the_session_root_or_read_host_secrets(self):
        self.assertTrue(os.path.exists("/etc/shadow"), "precondition: the host has /etc/shadow")
        token, got_through = self.attack(self.live_session())
        self.assertEqual(got_through, [], "the target got through /proc/<session>/root")
        self.assertNoProofOnHost(token)

    def test_session_itself_cannot_change_the_tools(self):
        for p in ("/usr/cntr-proof", "/etc/cntr-proof", "/cntr-proof"):
            self.addCleanup(lambda path=p: os.path.exists(path) and os.unlink(path))
        out = self.attach_sh(self.target.pid,
                             "for p in /usr/cntr-proof /etc/cntr-proof /cntr-proof; do "
                             "  (echo x > $p) 2>/dev/null && echo wrote:$p; done; "
                             "(echo x >> /etc/debian_version) 2>/dev/null && echo appended; "
                             "cat /etc/shadow 2>/dev/null | grep -q : && echo read-shadow; "
                             "awk '$5 == \"/usr\" || $5 == \"/\" { print \"MNT\", $5, $6 }' "
                             "/proc/self/mountinfo")
        mounts = [line.split()[1:] for line in out.splitlines() if line.startswith("MNT ")]
        self.assertEqual(sorted(m[0] for m in mounts), ["/", "/usr"], out)
        for mount_point, options in mounts:
            with self.subTest(mount_point=mount_point):
                self.assertLessEqual({"ro", "nosuid", "nodev"}, set(options.split(",")))
        self.assertEqual([line for line in out.splitlines() if not line.startswith("MNT ")], [])
        for p in ("/usr/cntr-proof", "/etc/cntr-proof", "/cntr-proof"):
            self.assertFalse(os.path.exists(p))

    def test_writes_into_the_target_still_work(self):
        name = "written-" + secrets.token_hex(4)
        self.attach_sh(self.target.pid, "echo from-session > /var/lib/cntr/%s" % name)
        self.addCleanup(os.unlink, self.target.root_path(name))
        self.assertEqual(read_file(self.target.root_path(name)), "from-session\n")


class DockerContainment(ContainmentTests, CntrTestCase):
    RUNTIME = "docker"


class PodmanUsernsContainment(ContainmentTests, CntrTestCase):
    """User-namespaced: the tools are idmapped so they show as root-owned, never writable."""
    RUNTIME = "podman"
    START = dict(userns_auto=True)

    def test_session_root_cannot_create_root_owned_host_files(self):
        self.addCleanup(lambda: os.path.exists("/usr/local/cntr-proof") and
                        os.unlink("/usr/local/cntr-proof"))
        out = self.attach_sh(self.target.pid,
                             "id -u; touch /usr/local/cntr-proof 2>&1; "
                             "echo x >> /etc/debian_version 2>&1; cat /etc/shadow 2>&1 | head -1")
        self.assertEqual(out.splitlines()[0], "0", "precondition: root in the target")
        self.assertFalse(os.path.exists("/usr/local/cntr-proof"))
        self.assertNotIn("root:", out)
        self.assertIn("Read-only file system", out)


class ContainerdContainment(ContainmentTests, CntrTestCase):
    RUNTIME = "containerd"


class RuncContainment(ContainmentTests, CntrTestCase):
    RUNTIME = "runc"


class ToolsDirContainment(CntrTestCase):
    """--tools DIR: the session's / is DIR; nothing of the host is reachable from the target."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")
        cls.tools = images()["usrmerge"]["rootfs"]

    def test_session_sees_the_tools_dir_and_the_target(self):
        self.assertTrue(os.path.exists("/etc/debian_version"), "precondition")
        out = self.cntr("attach", "--tools", self.tools, str(self.target.pid), "--", "/bin/sh", "-c",
                        "ls -A /; echo ---; test -e /etc/debian_version && echo host-file; "
                        "ls -A /var/lib/cntr").stdout.decode()
        top, _, rest = out.partition("---\n")
        expected = set(os.listdir(self.tools)) | {"proc", "dev", "sys", "var"}
        self.assertEqual(set(top.split()), expected)
        self.assertNotIn("host-file", rest)
        self.assertEqual(set(rest.split()), set(os.listdir(self.target.root_path())))

    def test_cntr_tools_environment_variable_is_the_default(self):
        out = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c",
                        "test -e /etc/debian_version && echo host-file; echo done",
                        env={"CNTR_TOOLS": self.tools}).stdout.decode()
        self.assertEqual(out, "done\n")

    def test_target_reaches_nothing_of_the_host(self):
        session = LiveSession(self.target, cntr_args=("--tools", self.tools))
        self.addCleanup(session.close)
        proc = exec_in(self.target, ["/bin/sh", "-c",
                                     "R=/proc/$1/root; ls -A $R; echo ---; "
                                     "test -e $R/etc/debian_version && echo host-file; "
                                     "(echo x > $R/etc/cntr-proof) 2>/dev/null && echo wrote; true",
                                     "attack", str(session.ns_pid)])
        top, _, rest = proc.stdout.decode().partition("---\n")
        self.assertIn("etc", top.split(), "precondition: the target reaches the session's root")
        self.assertEqual(rest, "")
        self.assertFalse(os.path.exists(os.path.join(self.tools, "etc/cntr-proof")))

    def test_missing_tools_dir_is_a_usage_error(self):
        proc = self.cntr("attach", "--tools", "/nonexistent-tools", str(self.target.pid), "--",
                         "true", expect=None)
        err = self.assertOneLineError(proc, 2)
        self.assertIn("/nonexistent-tools", err)

    def test_rw_tools_is_an_explicit_opt_in_and_says_so(self):
        work = tempfile.mkdtemp(prefix="cntr-rw-tools.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, work)
        shutil.copytree(self.tools, os.path.join(work, "t"), symlinks=True)
        tools = os.path.join(work, "t")
        ro = self.cntr("attach", "--tools", tools, str(self.target.pid), "--", "/bin/sh", "-c",
                       "echo x > /etc/rw-proof 2>/dev/null || echo read-only")
        self.assertEqual(ro.stdout, b"read-only\n")
        rw = self.cntr("attach", "--tools", tools, "--rw-tools", str(self.target.pid), "--",
                       "/bin/sh", "-c", "echo x > /etc/rw-proof && echo written")
        self.assertEqual(rw.stdout, b"written\n")
        self.assertIn(b"--rw-tools", rw.stderr)
        self.assertTrue(os.path.exists(os.path.join(tools, "etc/rw-proof")))


class AgentPodContainment(CntrTestCase):
    """cntr in a privileged hostPID agent pod (as lambda-cntr runs it): the target must not be
    able to plant a cntr for the next user of a warm agent, nor reach the agent's files; its
    environment hooks and seccomp filter are handled as on a node. The target: runc, with
    hooks in its environment and a filter that denies unshare()."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc", env=HOOKS, seccomp_deny=("unshare",))
        cls.agent, stop = start_agent_pod()
        cls.addClassCleanup(stop)

    def in_agent(self, *args, options=()):
        proc = subprocess.run(["runc", "exec", self.agent, "cntr", "attach"] + list(options) +
                              ["-t", "id", "--", self.target.id, "--"] + list(args), capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
        self.assertEqual(proc.returncode, 0, describe(proc))
        return proc.stdout.decode()

    def test_target_cannot_plant_files_in_the_agent(self):
        agent_cntr = "/proc/%d/root/usr/bin/cntr" % agent_pid(self.agent)
        before = read_file(agent_cntr, "rb")
        session = LiveSession(self.target, ref=self.target.id,
                              launcher=["runc", "exec", self.agent, "cntr"])
        self.addCleanup(session.close)
        proc = exec_in(self.target, ["/bin/sh", "-c",
                                     "R=/proc/$1/root; cat $R/etc/agent-marker; "
                                     "(echo planted > $R/usr/bin/cntr) 2>/dev/null && echo planted; "
                                     # A busy binary is replaced by renaming over it.
                                     "(echo x > $R/usr/bin/.p && mv -f $R/usr/bin/.p $R/usr/bin/cntr) "
                                     "2>/dev/null && echo replaced; "
                                     "(echo x > $R/tmp/proof) 2>/dev/null && echo wrote-tmp; "
                                     "(echo x > $R/etc/proof) 2>/dev/null && echo wrote-etc; true",
                                     "attack", str(session.ns_pid)])
        self.assertEqual(proc.stdout.decode(), "agent image\n",
                         "the target reached the agent's files and wrote there:\n" + describe(proc))
        self.assertEqual(read_file(agent_cntr, "rb"), before)

    def test_environment_hooks_stay_out_of_the_agents_tools(self):
        self.assertIn(b"LD_PRELOAD=", read_file("/proc/%d/environ" % self.target.pid, "rb"))
        names = {line.split("=", 1)[0] for line in self.in_agent("/usr/bin/env").splitlines()}
        self.assertEqual(names & set(HOOK_NAMES) - {"HOME"}, set())
        self.assertIn("APP_SETTING", names)

    def test_the_targets_seccomp_filter_holds_in_the_session(self):
        self.assertEqual(proc_status(self.target.pid)["Seccomp"], "2", "precondition")
        probe = ("/bin/sh", "-c", "grep ^Seccomp: /proc/self/status; "
                 "unshare -U true 2>/dev/null && echo unshared; true")
        self.assertEqual(self.in_agent(*probe).split(), ["Seccomp:", "2"])
        # Control: the agent itself lets the call through; the denial is the target's filter.
        self.assertEqual(self.in_agent(*probe, options=["--no-seccomp"]).split(),
                         ["Seccomp:", "0", "unshared"])


def agent_pid(agent):
    state = subprocess.run(["runc", "state", agent], capture_output=True, check=True)
    return json.loads(state.stdout)["pid"]


# --- 3: the target's environment runs nothing in the tools ------------------------------------

EVIL_SO = r'''
#include <unistd.h>
__attribute__((constructor)) static void pwned(void) { write(2, "PWNED-LD\n", 9); }
'''
EVIL_SH = "echo PWNED-SCRIPT >&2\n"

HOOKS = ["LD_PRELOAD=/var/lib/cntr/srv/evil.so", "LD_LIBRARY_PATH=/var/lib/cntr/srv",
         "GCONV_PATH=/var/lib/cntr/srv", "BASH_ENV=/var/lib/cntr/srv/evil.sh",
         "ENV=/var/lib/cntr/srv/evil.sh", "PS4=$(echo PWNED-PS4 >&2)",
         "PROMPT_COMMAND=echo PWNED-PROMPT >&2", "HOME=/var/lib/cntr/srv",
         "PYTHONSTARTUP=/var/lib/cntr/srv/evil.py", "NODE_OPTIONS=--require /var/lib/cntr/srv/x.js",
         "PERL5OPT=-Mevil", "PERL5LIB=/var/lib/cntr/srv", "APP_SETTING=kept"]
HOOK_NAMES = [h.split("=", 1)[0] for h in HOOKS if not h.startswith("APP_")]

# Each hook with a command of the debug tools that acts on it and what the payload then shows.
# PS4 and PYTHONSTARTUP have none here: bash ignores PS4 from the environment when run as root
# (the test targets' user) and Python reads PYTHONSTARTUP only on a terminal; their absence
# from the session's environment is checked below with every other hook's.
HOOK_TRIGGERS = [
    ("LD_PRELOAD", "/usr/bin/id", "PWNED-LD"),
    # A libc.so.6 of the target's is picked before the tools' own: the loader names it.
    ("LD_LIBRARY_PATH", "/usr/bin/id", "srv/libc.so.6"),
    ("GCONV_PATH", "echo a | iconv -f EVIL -t UTF-8", "PWNED-LD"),
    ("BASH_ENV", "bash -c true", "PWNED-SCRIPT"),
    ("ENV", "sh -i -c true </dev/null", "PWNED-SCRIPT"),
    ("PROMPT_COMMAND", "echo exit | bash --norc -i", "PWNED-PROMPT"),
    ("HOME", "echo exit | bash -i", "PWNED-SCRIPT"),
    ("NODE_OPTIONS", "node -e 0", "PWNED-NODE"),
    ("PERL5OPT", "perl -e 1", "PWNED-PERL"),
]
# The files the hooks point at, in the target's /srv.
HOOK_FILES = {
    "evil.sh": EVIL_SH, ".bashrc": EVIL_SH, "evil.py": "print('PWNED')\n",
    "x.js": "console.error('PWNED-NODE')\n",
    "evil.pm": "package evil; print STDERR \"PWNED-PERL\\n\"; 1;\n",
    "gconv-modules": "module EVIL// INTERNAL evil 1\nmodule INTERNAL EVIL// evil 1\n",
}


def hook_setting(name):
    return next(h.split("=", 1)[1] for h in HOOKS if h.startswith(name + "="))


def build_evil_so(directory):
    src = os.path.join(directory, "evil.c")
    with open(src, "w") as f:
        f.write(EVIL_SO)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(directory, "evil.so"), src],
                   check=True)


class EnvironmentHooks:
    RUNTIME = None
    START = {}

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME, **cls.START)
        srv = cls.target.root_path("srv")
        build_evil_so(srv)
        shutil.copy(os.path.join(srv, "evil.so"), os.path.join(srv, "libc.so.6"))
        for name, text in HOOK_FILES.items():
            with open(os.path.join(srv, name), "w") as f:
                f.write(text)

    def trigger(self, command, env=None):
        """Run a trigger outside any session (env: the whole environment) or, without env, in a
        session of the target; return what it printed."""
        if env is not None:
            proc = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True,
                                  stdin=subprocess.DEVNULL, timeout=60)
        else:
            # The command's own status is not the point (iconv fails without the payload).
            proc = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c", command + "; true")
        return (proc.stdout + proc.stderr).decode(errors="replace")

    def test_each_hook_runs_its_payload_outside_and_nothing_in_a_session(self):
        # A copy on the host: through /proc/PID/root, node resolves the path to the target's.
        srv = os.path.join(tempfile.mkdtemp(prefix="cntr-hooks-"), "srv")
        self.addCleanup(shutil.rmtree, os.path.dirname(srv))
        shutil.copytree(self.target.root_path("srv"), srv)
        for name, command, marker in HOOK_TRIGGERS:
            tool = command.split("|")[-1].split()[0]
            if not shutil.which(tool):
                continue  # node is not on every machine; the environment test still covers it
            with self.subTest(hook=name):
                setting = hook_setting(name).replace("/var/lib/cntr/srv", srv)
                env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", name: setting}
                if name == "PERL5OPT":
                    env["PERL5LIB"] = srv
                self.assertIn(marker, self.trigger(command, env), "precondition: the payload works")
                self.assertNotIn(marker, self.trigger(command))

    def test_precondition_the_payloads_work_outside_a_session(self):
        srv = self.target.root_path("srv")
        env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": os.path.join(srv, "evil.so"),
               "BASH_ENV": os.path.join(srv, "evil.sh")}
        proc = subprocess.run(["/bin/bash", "-c", "/usr/bin/id"], env=env, capture_output=True)
        self.assertIn(b"PWNED-LD", proc.stderr)
        self.assertIn(b"PWNED-SCRIPT", proc.stderr)

    def test_precondition_the_target_has_the_hooks(self):
        env = read_file("/proc/%d/environ" % self.target.pid, "rb").split(b"\0")
        self.assertIn(b"LD_PRELOAD=/var/lib/cntr/srv/evil.so", env)

    def test_hooks_are_not_in_the_sessions_environment_and_verbose_names_them(self):
        proc = self.cntr("-v", "attach", str(self.target.pid), "--", "/bin/cat", "/proc/self/environ")
        names = {item.split(b"=", 1)[0].decode() for item in proc.stdout.split(b"\0") if item}
        for name in HOOK_NAMES:
            with self.subTest(name=name):
                self.assertNotIn(name, names if name != "HOME" else set())
                self.assertIn(name, proc.stderr.decode())
        self.assertIn("APP_SETTING", names, "the target's own settings stay")
        self.assertIn(b"HOME=/root\0", proc.stdout, "HOME is the debug side's")

    def test_exec_mode_keeps_the_targets_whole_environment(self):
        proc = self.cntr("exec", str(self.target.pid), "--", "/bin/cat", "/proc/self/environ")
        self.assertIn(b"LD_PRELOAD=/var/lib/cntr/srv/evil.so\0", proc.stdout)


class DockerEnvironmentHooks(EnvironmentHooks, CntrTestCase):
    RUNTIME = "docker"
    START = dict(options=[arg for h in HOOKS for arg in ("-e", h)])


class PodmanEnvironmentHooks(EnvironmentHooks, CntrTestCase):
    RUNTIME = "podman"
    START = dict(userns_auto=True, options=[arg for h in HOOKS for arg in ("-e", h)])


class ContainerdEnvironmentHooks(EnvironmentHooks, CntrTestCase):
    RUNTIME = "containerd"
    START = dict(env=HOOKS)


class RuncEnvironmentHooks(EnvironmentHooks, CntrTestCase):
    """Also an exported bash function, which only a raw environment can carry."""
    RUNTIME = "runc"
    START = dict(env=HOOKS + ["BASH_FUNC_id%%=() { echo PWNED-FUNC >&2; }"])

    def test_exported_functions_do_not_reach_bash(self):
        self.assertIn(b"BASH_FUNC_id%%=", read_file("/proc/%d/environ" % self.target.pid, "rb"), "precondition")
        outside = subprocess.run(["/bin/bash", "-c", "id -u"], capture_output=True,
                                 env={"PATH": "/usr/bin:/bin", "BASH_FUNC_id%%": "() { echo PWNED-FUNC >&2; }"})
        self.assertIn(b"PWNED-FUNC", outside.stderr, "precondition: the payload works on this bash")
        proc = self.cntr("attach", str(self.target.pid), "--", "/bin/bash", "-c", "id -u")
        self.assertEqual(proc.stdout, b"0\n")
        self.assertNotIn(b"PWNED", proc.stdout + proc.stderr)


# --- 4: never fewer restrictions than the target: its seccomp filter by default ---------------

class SeccompByDefault:
    """PROBE makes a system call the target's profile denies; it prints ALLOWED when the call
    went through."""
    RUNTIME = None
    PROBE = ALLOWED = DENIED = None

    START = {}

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME, **cls.START)

    def test_session_has_the_targets_filters(self):
        target = proc_status(self.target.pid)
        self.assertEqual(target["Seccomp"], "2", "precondition: the target has a filter")
        out = self.attach_sh(self.target.pid, "grep Seccomp /proc/self/status")
        self.assertIn("Seccomp:\t2", out)
        self.assertIn("Seccomp_filters:\t%s" % target["Seccomp_filters"], out)

    def test_a_call_the_target_cannot_make_is_denied_in_the_session(self):
        denied = self.cntr("attach", str(self.target.pid), "--", *self.PROBE, expect=None)
        # The probe itself ran and the kernel refused it (not a cntr error, not a missing tool).
        self.assertEqual(denied.stdout, self.DENIED[0], describe(denied))
        self.assertIn(self.DENIED[1], denied.stderr, describe(denied))
        self.assertNotIn(denied.returncode, (125, 126, 127), describe(denied))

    def test_the_runtimes_filter_is_installed_as_its_faster_rewrite(self):
        # docs/design.md "Seccomp": the rewrite must take this runtime's real filter (its
        # libseccomp's layout), and the session still gets the target's answer.
        denied = self.cntr("-vv", "attach", str(self.target.pid), "--", *self.PROBE, expect=None)
        self.assertRegex(denied.stderr.decode(), r"seccomp: filter \d+ rewritten for a fast install "
                         r"\(\d+ -> \d+ instructions", describe(denied))
        self.assertEqual(denied.stdout, self.DENIED[0], describe(denied))

    def test_no_seccomp_opts_out_and_says_so(self):
        proc = self.cntr("attach", "--no-seccomp", str(self.target.pid), "--", *self.PROBE)
        self.assertEqual(proc.stdout, self.ALLOWED, "the probe works without the filter")
        self.assertIn(b"--no-seccomp", proc.stderr)


class DockerSeccomp(SeccompByDefault, CntrTestCase):
    """Docker's profile denies unshare() without CAP_SYS_ADMIN: no user namespace."""
    RUNTIME = "docker"
    PROBE = ("unshare", "-U", "-r", "id", "-u")
    ALLOWED = b"0\n"
    DENIED = (b"", b"Operation not permitted")  # (stdout, in stderr)


class ContainerdSeccomp(SeccompByDefault, CntrTestCase):
    """containerd's default profile (ctr run --seccomp) denies unshare() without CAP_SYS_ADMIN."""
    RUNTIME = "containerd"
    START = dict(seccomp=True)
    PROBE = ("unshare", "-U", "-r", "id", "-u")
    ALLOWED = b"0\n"
    DENIED = (b"", b"Operation not permitted")


class PodmanSeccomp(SeccompByDefault, CntrTestCase):
    """Podman's profile allows unshare but denies move_pages() (EPERM)."""
    RUNTIME = "podman"
    PROBE = ("python3", "-c", "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
             "print(libc.syscall(279, 0, 0, 0, 0, 0, 0), ctypes.get_errno())")  # x86_64 move_pages
    ALLOWED = b"0 0\n"
    DENIED = (b"-1 1\n", b"")  # EPERM


# --- 5: no orphans: the session dies with cntr, whenever cntr is killed -----------------------

class TracingTarget(CntrTestCase):
    """A user-namespaced target allowed to ptrace (podman --userns=auto --cap-add SYS_PTRACE).
    The session's command is born in the target's pid namespace with cntr's privileges, joins
    the target's user namespace before its "go", and switches to the target's identity only
    after it: in between, CAP_SYS_PTRACE in that namespace was enough to attach to it (and then
    act as host uid 0 with every descriptor cntr handed it). The command is not dumpable until
    its exec, so the target's process is refused."""

    @classmethod
    def setUpClass(cls):
        probe = os.environ.get("PTRACE_PROBE_BIN")
        if not probe:
            raise unittest.SkipTest("PTRACE_PROBE_BIN not built (sanitizer build)")
        cls.target = start(cls, "podman", userns_auto=True, options=["--cap-add", "SYS_PTRACE"])
        shutil.copy(probe, cls.target.root_path("tmp/ptrace_probe"))
        os.chmod(cls.target.root_path("tmp/ptrace_probe"), 0o755)

    def probe(self, pid):
        return exec_in(self.target, ["/tmp/ptrace_probe", str(pid)])

    def test_precondition_the_target_can_trace_its_own_processes(self):
        proc = self.probe(1)
        self.assertEqual(proc.returncode, 0, describe(proc))

    def test_the_target_cannot_attach_to_the_command_before_its_exec(self):
        before = set(processes_running(cntr_binary()))
        cntr = subprocess.Popen([cntr_binary(), "attach", str(self.target.pid), "--", "true"],
                                env=cntr_env({"CNTR_TEST_PAUSE_AT": "joined"}), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: cntr.poll() is None and cntr.kill())

        def paused_command():
            for pid in set(processes_running(cntr_binary())) - before - {cntr.pid}:
                if proc_status(pid)["State"][0] == "T":
                    return pid
            return None
        command = wait_for(paused_command, what="the command paused after joining the target")
        in_target = proc_status(command)["NSpid"].split()[-1]
        proc = self.probe(in_target)
        os.kill(command, signal.SIGCONT)
        out, err = cntr.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertIn(b"denied", proc.stdout)
        self.assertEqual(cntr.returncode, 0, err.decode(errors="replace"))


class SigkillStorm:
    """50 x (start a session, SIGKILL cntr 0-50 ms later): attach and exec, with and without a
    TTY. Afterwards the target's processes, its mount table and the host's are as before, and
    no cntr is left. The test process is a child subreaper so that what cntr leaves is ours to
    see (and to reap), whatever reaps orphans on this machine."""
    RUNTIME = None
    KILLS = 50

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME)

    def session_argv(self, i):
        mode = "exec" if i % 2 else "attach"
        return [cntr_binary(), mode, str(self.target.pid), "--", "sleep", SESSION_SECONDS]

    def start_session(self, i):
        if i % 3 == 0:  # with a TTY
            master, slave = os.openpty()
            proc = subprocess.Popen(self.session_argv(i), env=cntr_env(), stdin=slave,
                                    stdout=slave, stderr=subprocess.DEVNULL)
            os.close(slave)
            return proc, master
        proc = subprocess.Popen(self.session_argv(i), env=cntr_env(), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return proc, None

    def kill_cntr(self, proc):
        proc.kill()

    def reap_orphans(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def cntr_processes(self):
        return processes_running(cntr_binary())

    def test_sigkill_at_random_moments_leaves_nothing(self):
        rng = random.Random(7)
        members = pid_namespace_members(self.target.pid)
        mountinfo = read_file("/proc/%d/mountinfo" % self.target.pid, "rb")
        host_mounts = host_mount_table()
        set_child_subreaper(True)
        self.addCleanup(set_child_subreaper, False)
        for i in range(self.KILLS):
            proc, master = self.start_session(i)
            time.sleep(rng.uniform(0, 0.05))
            self.kill_cntr(proc)
            proc.wait(timeout=CMD_TIMEOUT)
            if master is not None:
                os.close(master)
            if proc.stdin:
                proc.stdin.close()

        def settled():
            self.reap_orphans()
            return pid_namespace_members(self.target.pid) <= members and not self.cntr_processes()
        try:
            wait_for(settled, "the sessions' processes to end")
        except AssertionError:
            left = pid_namespace_members(self.target.pid) - members
            self.fail("left in the target: %s; cntr processes: %s" % ([
                read_file("/proc/%d/cmdline" % p, "rb") for p in left if os.path.exists("/proc/%d" % p)],
                self.cntr_processes()))
        self.assertEqual(read_file("/proc/%d/mountinfo" % self.target.pid, "rb"), mountinfo)
        self.assertEqual(host_mount_table(), host_mounts)
        self.assertIn(proc_status(self.target.pid)["State"][0], "SR",
                      "the target must not stay stopped by a seccomp copy's ptrace")


class RuncSigkillStorm(SigkillStorm, CntrTestCase):
    RUNTIME = "runc"


class DockerSigkillStorm(SigkillStorm, CntrTestCase):
    RUNTIME = "docker"


class PodmanUsernsSigkillStorm(SigkillStorm, CntrTestCase):
    RUNTIME = "podman"

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "podman", userns_auto=True)


class ContainerdSigkillStorm(SigkillStorm, CntrTestCase):
    RUNTIME = "containerd"


class AgentPodSigkillStorm(SigkillStorm, CntrTestCase):
    """cntr started in the agent pod by `runc exec` (as the API server's exec starts it): the
    kill goes to cntr itself, inside the agent."""
    RUNTIME = "runc"
    KILLS = 20  # each start is a `runc exec` (~20 ms more)

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")
        cls.agent, stop = start_agent_pod()
        cls.addClassCleanup(stop)

    def session_argv(self, i):
        return ["runc", "exec"] + (["-t"] if i % 3 == 0 else []) + [
            self.agent, "cntr", "exec" if i % 2 else "attach", "-t", "id", "--", self.target.id,
            "--", "sleep", SESSION_SECONDS]

    def cntr_processes(self):
        agent_ns = os.readlink("/proc/%d/ns/mnt" % agent_pid(self.agent))
        found = []
        for pid in processes_named("cntr"):
            try:
                if os.readlink("/proc/%d/ns/mnt" % pid) == agent_ns:
                    found.append(pid)
            except OSError:
                pass
        return found

    def kill_cntr(self, proc):
        # The kill is for cntr itself: wait until `runc exec` has started it (killing runc exec
        # alone would leave a cntr that nobody killed, as a vanished API client does).
        pids = wait_for(self.cntr_processes, "cntr to start in the agent")
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        proc.kill()


def processes_named(comm):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if read_file("/proc/%s/comm" % entry).strip() == comm:
                    found.append(int(entry))
            except OSError:
                pass
    return found


if __name__ == "__main__":
    unittest.main(verbosity=2)
