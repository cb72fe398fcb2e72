"""Test harness for the lambda-cntr cluster tests: one API stand-in per test, kubeconfigs for
every way of authenticating, target pods that are real runc containers, and runners for
lambda-cntr with and without a terminal."""

import base64
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apiserver  # noqa: E402
import node  # noqa: E402

SKIP = 77
MANAGED_BY = "app.kubernetes.io/managed-by=lambda-cntr"
# Where agents go unless --agent-namespace says otherwise: it exists once deploy/ is applied.
AGENT_NS = "lambda-cntr-system"


def binaries_or_skip():
    """LAMBDA_CNTR_BIN and CNTR_BIN, or exit 77 (ctest: skipped) unless CI=true."""
    lam, cntr = os.environ.get("LAMBDA_CNTR_BIN", ""), os.environ.get("CNTR_BIN", "")
    problems = []
    if not lam or not os.access(lam, os.X_OK):
        problems.append("lambda-cntr is not built (LAMBDA_CNTR_BIN=%r)" % lam)
    if not cntr or not os.access(cntr, os.X_OK):
        problems.append("cntr is not built (CNTR_BIN=%r)" % cntr)
    if os.geteuid() != 0:
        problems.append("the stand-in's node runs runc containers and needs root")
    for tool in ("runc", "unshare", "nsenter", "openssl"):
        if not shutil.which(tool):
            problems.append("%s is not installed" % tool)
    if problems:
        msg = "cluster tests: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            sys.exit(msg)
        print("SKIP: " + msg)
        sys.exit(SKIP)
    return lam, cntr


def pki_dir():
    """The shared PKI of mkcerts.sh (made once; parallel tests wait for the first)."""
    path = os.path.join(node.CACHE_DIR, "pki")
    if not os.path.exists(os.path.join(path, "broker.crt")):
        with node._CacheLock():
            subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), path, "alice", "bob"], check=True)
    return path


def sleeper(name, command=None, **extra):
    spec = {"name": name, "image": "busybox:1.36"}
    if command:
        spec["command"] = command
    spec.update(extra)
    return spec


class Cluster:
    """The stand-in plus everything a test needs around it."""

    def __init__(self, v4_only=False, agent_namespace=True):
        self.lambda_bin, self.cntr_bin = binaries_or_skip()
        self.pki = pki_dir()
        self.tmp = tempfile.mkdtemp(prefix="lambda-cntr-test-")
        self.server = apiserver.ApiServer(self.pki, v4_only=v4_only, cntr_bin=self.cntr_bin,
                                          tokens={"tok-carol": "carol", "tok-dave": "dave"}).start()
        self.store = self.server.store
        if agent_namespace:  # as after `kubectl apply -f deploy/`
            self.store.namespaces.add(AGENT_NS)
        self.kubeconfig = self.kubeconfig_cert("alice")
        self.started = []

    def close(self):
        try:
            for proc in self.started:  # a failed test may leave a session running
                if proc.poll() is None:
                    proc.kill()
                if proc.stdin and proc.stdin.closed:
                    proc.stdin = None  # closed by the test: communicate() would fail on it
                proc.communicate()
        finally:
            # Whatever happened above, the stand-in's containers must not outlive the test.
            self.server.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- kubeconfigs --------------------------------------------------------------------------
    def write(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def cluster_yaml(self, name="standin", ca_inline=False):
        if ca_inline:
            with open(os.path.join(self.pki, "ca.crt"), "rb") as f:
                ca = "    certificate-authority-data: %s\n" % base64.b64encode(f.read()).decode()
        else:
            ca = "    certificate-authority: %s\n" % os.path.join(self.pki, "ca.crt")
        return "- name: %s\n  cluster:\n    server: %s\n%s" % (name, self.server.url, ca)

    def context_yaml(self, name, cluster, user, namespace=None):
        ns = "    namespace: %s\n" % namespace if namespace else ""
        return "- name: %s\n  context:\n    cluster: %s\n    user: %s\n%s" % (name, cluster, user, ns)

    def kubeconfig_from(self, filename, users, contexts=None, current="main", clusters=None):
        contexts = contexts if contexts is not None else [self.context_yaml("main", "standin", "me")]
        clusters = clusters if clusters is not None else [self.cluster_yaml()]
        text = "apiVersion: v1\nkind: Config\n"
        if current:
            text += "current-context: %s\n" % current
        text += "clusters:\n" + "".join(clusters) if clusters else ""
        text += "users:\n" + "".join(users) if users else ""
        text += "contexts:\n" + "".join(contexts) if contexts else ""
        return self.write(filename, text)

    def kubeconfig_cert(self, user, filename=None):
        return self.kubeconfig_from(filename or "kc-%s" % user, [
            "- name: me\n  user:\n    client-certificate: %s\n    client-key: %s\n" % (
                os.path.join(self.pki, user + ".crt"), os.path.join(self.pki, user + ".key"))])

    def kubeconfig_token(self, token, filename="kc-token"):
        return self.kubeconfig_from(filename, ["- name: me\n  user:\n    token: %s\n" % token],
                                    clusters=[self.cluster_yaml(ca_inline=True)])

    def kubeconfig_exec_plugin(self, token, filename="kc-exec"):
        plugin = self.write("credential-plugin", (
            "#!/bin/sh\n"
            "# A client.authentication.k8s.io/v1 credential plugin; the token comes from env.\n"
            "[ \"$1\" = --issue ] || { echo \"unexpected args: $*\" >&2; exit 1; }\n"
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"%s\"}}\\n' \"$PLUGIN_TOKEN\"\n"), mode=0o755)
        return self.kubeconfig_from(filename, [(
            "- name: me\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            "      command: %s\n      args: [\"--issue\"]\n      interactiveMode: Never\n"
            "      env:\n      - name: PLUGIN_TOKEN\n        value: %s\n") % (plugin, token)])

    # -- pods ---------------------------------------------------------------------------------
    def target_pod(self, name, containers=None, namespace="default", wait_running=True, **spec):
        pod_spec = {"containers": containers or [sleeper("main")]}
        pod_spec.update(spec)
        self.server.create_pod({"metadata": {"name": name, "labels": {"app": name}}, "spec": pod_spec},
                               namespace)
        if wait_running:
            return self.server.wait_pod(namespace, name, lambda p: p and p["status"].get("phase") == "Running")
        return self.store.get(namespace, name)

    def agents(self, namespace=AGENT_NS):
        items, _ = self.store.list(namespace, apiserver.parse_label_selector(MANAGED_BY), [])
        return items

    def wait_no_agents(self, namespace=AGENT_NS, timeout=20):
        deadline = time.monotonic() + timeout
        while self.agents(namespace) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.agents(namespace)

    def agent_creates(self):
        return sum(1 for ns, name in self.store.creates if name.startswith("lambda-cntr-"))

    # -- running lambda-cntr ------------------------------------------------------------------
    def version(self):
        out = subprocess.run([self.lambda_bin, "--version"], capture_output=True, check=True).stdout
        return out.split()[-1].decode()

    def env(self, kubeconfig=None, extra=None):
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "CNTR_IMAGE", "SOCKET_PATH")}
        env["KUBECONFIG"] = kubeconfig or self.kubeconfig
        env["HOME"] = self.tmp  # never a real ~/.kube/config
        env.update(extra or {})
        return env

    def run(self, *args, kubeconfig=None, env=None, input=None, timeout=90, argv0=None):
        return subprocess.run([argv0 or self.lambda_bin] + list(args), input=input, capture_output=True,
                              env=self.env(kubeconfig, env), timeout=timeout)

    def start(self, *args, kubeconfig=None, env=None):
        proc = subprocess.Popen([self.lambda_bin] + list(args), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env(kubeconfig, env))
        self.started.append(proc)
        return proc

    def run_in_pty(self, args, script_lines, rows=33, cols=101, timeout=60, term="xterm"):
        """Run lambda-cntr on a terminal of rows x cols; type each line after a shell prompt.
        Returns (exit status, everything the terminal showed)."""
        return self.run_pty_steps(args, [(PROMPT, line.encode() + b"\r") for line in script_lines],
                                  rows, cols, timeout, term)

    def run_pty_steps(self, args, steps, rows=33, cols=101, timeout=60, term="xterm"):
        """Like run_in_pty, with steps (regex, action): when the output so far (after the
        previous step) matches regex, action runs: bytes are typed, a callable gets the
        terminal's master fd (e.g. to resize it)."""
        master, slave = pty.openpty()
        set_winsize(slave, rows, cols)
        proc = subprocess.Popen([self.lambda_bin] + list(args), stdin=slave, stdout=slave, stderr=slave,
                                env=self.env(extra={"TERM": term}), start_new_session=True,
                                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        seen, mark, steps = b"", 0, list(steps)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        break
                    if not data:
                        break
                    seen += data
                    while steps and re.search(steps[0][0], seen[mark:]):
                        mark = len(seen)
                        action = steps.pop(0)[1]
                        if callable(action):
                            action(master)
                        else:
                            os.write(master, action)
                elif proc.poll() is not None:
                    break
            return proc.wait(timeout=max(1, deadline - time.monotonic())), seen.decode(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)


PROMPT = rb"[#$] $"


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def read_until(stream, marker, timeout=60):
    """Read a child's stdout until marker shows up (bytes); returns what was read."""
    fd, seen = stream.fileno(), b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            data = os.read(fd, 65536)
            if not data:
                break
            seen += data
    return seen


def pids_with_cmdline(needle):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if needle in f.read():
                    found.append(int(entry))
        except OSError:
            pass
    return found


class ClusterTestCase(unittest.TestCase):
    v4_only = False
    agent_namespace = True  # False: a cluster without lambda-cntr-system

    def setUp(self):
        self.cluster = Cluster(v4_only=self.v4_only, agent_namespace=self.agent_namespace)
        self.addCleanup(self.cluster.close)

    def assertExit(self, result, code, msg=None):
        self.assertEqual(result.returncode, code, msg or "exit %d, wanted %d\nstdout: %s\nstderr: %s" % (
            result.returncode, code, result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace")))


# PID 1 of the node's pid namespace: runs the test as its only child and reaps every orphan
# (runc's, the agents') as an init does, then exits with the test's status.
_NODE_INIT = r"""
import os, signal, sys
child = os.fork()
if child == 0:
    os.execv(sys.argv[1], sys.argv[1:])
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, lambda s, _: os.kill(child, s))
while True:
    pid, status = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
"""


def run_as_node():
    """Re-run this test script in a pid and mount namespace of its own whose init the test owns:
    the stand-in's node for `cntr attach --host` (PID 1 of the agent's pid namespace). The real
    PID 1 of these machines denies even root its /proc entries; a real node's does not. Every
    pod of the stand-in then runs in that namespace, as on a node."""
    if os.environ.get("LAMBDA_CNTR_TEST_NODE") == "1":
        return
    binaries_or_skip()
    env = dict(os.environ, LAMBDA_CNTR_TEST_NODE="1")
    argv = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-c", _NODE_INIT,
            sys.executable] + sys.argv
    os.execvpe("unshare", argv, env)


def kill_leftovers(needle):
    for pid in pids_with_cmdline(needle):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
