"""cntr inside a privileged hostPID "agent pod", as lambda-cntr runs it on a node: its own mount,
uts, ipc and cgroup namespaces (so /proc/PID/cgroup paths of the target read "/../…"), the host's
pid namespace, every capability, and its own image as the debug filesystem. Built with runc
directly, since docker --privileged cannot run on these machines."""
import json
import os
import shutil
import subprocess
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, copy_rootfs, new_id, ns_inodes,
                      ns_pid, proc_status, read_file, require_runtime, start)

ALL_CAPS = ["CAP_" + c.upper() for c in (
    "chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap "
    "linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner "
    "sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice "
    "sys_time sys_tty_config mknod lease audit_write audit_control setfcap mac_override "
    "mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf checkpoint_restore").split()]


def start_agent_pod():
    """A runc container shaped like the lambda-cntr agent pod, with the cntr under test in it."""
    require_runtime("runc")
    cid = new_id()
    bundle, rootfs = copy_rootfs("busybox", cid)
    shutil.copy(cntr_binary(), os.path.join(rootfs, "usr/bin/cntr"))
    with open(os.path.join(rootfs, "etc/agent-marker"), "w") as f:
        f.write("agent image\n")
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    config = json.loads(read_file(path))
    process = config["process"]
    process.update(terminal=False, args=["sleep", "3600"], noNewPrivileges=False)
    process["capabilities"] = {k: ALL_CAPS for k in
                               ("bounding", "effective", "permitted", "inheritable")}
    linux = config["linux"]
    # hostPID and host network: no pid or net namespace of its own (as in the agent pod).
    linux["namespaces"] = [{"type": t} for t in ("mount", "uts", "ipc", "cgroup")]
    linux.pop("maskedPaths", None)
    linux.pop("readonlyPaths", None)
    config["mounts"] = [m for m in config["mounts"]
                        if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    config["mounts"].append({"destination": "/sys", "type": "bind", "source": "/sys",
                             "options": ["rbind", "rw"]})
    config["root"] = {"path": rootfs, "readonly": False}
    config["hostname"] = "agent-pod"
    with open(path, "w") as f:
        json.dump(config, f)
    subprocess.run(["runc", "run", "-d", "--bundle", bundle, cid], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=CMD_TIMEOUT)

    def stop():
        subprocess.run(["runc", "delete", "--force", cid], capture_output=True,
                       timeout=CMD_TIMEOUT)
        shutil.rmtree(bundle, ignore_errors=True)

    return cid, stop


class AgentPodTests(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")
        cls.agent, stop = start_agent_pod()
        cls.addClassCleanup(stop)

    def in_agent(self, *args, expect=0):
        proc = subprocess.run(["runc", "exec", self.agent, "cntr"] + list(args),
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, proc.stderr.decode(errors="replace"))
        return proc

    def test_precondition_target_cgroup_paths_are_relative_in_the_agent(self):
        proc = subprocess.run(["runc", "exec", self.agent, "cat",
                               "/proc/%d/cgroup" % self.target.pid],
                              capture_output=True, text=True, check=True)
        self.assertIn("/..", proc.stdout)

    def test_attach_by_id_from_the_agent_joins_the_target_cgroup_and_namespaces(self):
        out = self.in_agent("attach", self.target.id, "--", "/bin/sh", "-c",
                            "cat /proc/self/cgroup; echo ---; "
                            "for n in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$n; done"
                            ).stdout.decode()
        cgroup, _, namespaces = out.partition("---\n")
        self.assertEqual(cgroup, read_file("/proc/%d/cgroup" % self.target.pid))
        want = ns_inodes(self.target.pid)
        got = namespaces.split()
        for ns in ("cgroup", "ipc", "net", "pid", "uts"):
            self.assertIn(want[ns], got, "namespace %s" % ns)
        self.assertNotIn(want["mnt"], got, "the session must have a private mount namespace")

    def test_debug_filesystem_is_the_agent_image(self):
        out = self.in_agent("attach", self.target.id, "--", "/bin/sh", "-c",
                            "cat /etc/agent-marker; ls -A /var/lib/cntr").stdout.decode()
        marker, _, listing = out.partition("\n")
        self.assertEqual(marker, "agent image")
        self.assertEqual(sorted(listing.split()), sorted(os.listdir(self.target.root_path())))

    def test_processes_are_the_targets(self):
        out = self.in_agent("attach", self.target.id, "--", "/bin/sh", "-c",
                            "ps -o pid,comm").stdout.decode()
        pids = {int(line.split()[0]) for line in out.splitlines()[1:]}
        self.assertIn(ns_pid(self.target.pid), pids)
        self.assertLess(len(pids), 10, out)

    def test_credentials_are_the_targets(self):
        out = self.in_agent("attach", self.target.id, "--", "/bin/cat",
                            "/proc/self/status").stdout.decode()
        inside = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
        outside = proc_status(self.target.pid)
        for field in ("Uid", "Gid", "CapBnd", "CapEff", "CapPrm"):
            self.assertEqual(inside[field].strip(), outside[field], field)

    def test_unknown_id_from_the_agent_is_a_one_line_125(self):
        proc = self.in_agent("attach", "0123456789ab", "--", "true", expect=None)
        self.assertOneLineError(proc, 125)


if __name__ == "__main__":
    unittest.main()
