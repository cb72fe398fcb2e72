"""`cntr capsule run` (docs/capsules.md): a function from an image directory (or another
container's root) run in one or many targets' context under a throw-away copy-on-write root,
with its sandbox (shared namespaces, capabilities, seccomp) and policies (parallel, iterative,
fail-fast, timeout), checked from outside on real containers."""
import atexit
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

from cntrtest import (CMD_TIMEOUT, DEBUG_PATH, CntrTestCase, cntr_binary, cntr_env, describe,
                      host_mount_table, images, ns_inodes, proc_status, processes_running, start,
                      start_unshare, read_file, wait_for)


def pid_ns(pid):
    """The pid namespace of a process, None once it is gone."""
    try:
        return os.readlink("/proc/%d/ns/pid" % pid)
    except OSError:
        return None


def pids_of(comm):
    """Host PIDs of the processes named comm."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and read_file("/proc/%s/comm" % entry).strip() == comm:
                found.append(int(entry))
        except OSError:
            pass
    return found
from test_invariants import tree_snapshot

CAP_SYS_ADMIN, CAP_NET_ADMIN = 21, 12


def seccomp_tool():
    """cntr-seccomp of this build (ctest sets CNTR_SECCOMP_BIN; empty without libseccomp)."""
    path = os.environ.get("CNTR_SECCOMP_BIN")
    if not path:
        raise unittest.SkipTest("CNTR_SECCOMP_BIN is not set (no cntr-seccomp in this build)")
    return path


_lone_cntr = []


def lone_cntr():
    """A copy of cntr in a directory of its own: installed without cntr-seccomp beside it."""
    if not _lone_cntr:
        directory = tempfile.mkdtemp(prefix="cntr-alone.", dir="/var/tmp")
        atexit.register(shutil.rmtree, directory, True)
        _lone_cntr.append(shutil.copy2(cntr_binary(), os.path.join(directory, "cntr")))
    return _lone_cntr[0]


def tool_env(with_tool=True):
    """cntr's environment, with cntr-seccomp on PATH (cntr looks there after its own directory)."""
    path = os.environ.get("CNTR_SECCOMP_BIN")
    if with_tool and path:
        return cntr_env({"PATH": os.path.dirname(path) + ":" + DEBUG_PATH})
    return cntr_env()


class CapsuleTestCase(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = images()["busybox"]["rootfs"]
        cls.target = start(cls, "runc")

    def capsule(self, *args, expect=0, with_tool=True):
        binary = cntr_binary() if with_tool else lone_cntr()
        proc = subprocess.run([binary, "capsule", "run"] + list(args), env=tool_env(with_tool),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=CMD_TIMEOUT)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def lines_of(self, proc, target):
        prefix = "[%s] " % target
        return [line[len(prefix):] for line in proc.stdout.decode().splitlines()
                if line.startswith(prefix)]


class CopyOnWriteRoot(CapsuleTestCase):
    def test_what_a_run_writes_is_gone_for_the_next_and_the_image_is_untouched(self):
        before = tree_snapshot(self.image)
        mounts = host_mount_table()
        pid = str(self.target.pid)
        first = self.capsule(self.image, pid, "--", "/bin/sh", "-c",
                             "echo one > /run1 && cat /run1 && rm /bin/cat && echo removed")
        self.assertEqual(self.lines_of(first, pid), ["one", "removed"])
        second = self.capsule(self.image, pid, "--", "/bin/sh", "-c",
                              "test -e /run1 && echo leftover; test -x /bin/cat && echo cat-back")
        self.assertEqual(self.lines_of(second, pid), ["cat-back"])
        self.assertEqual(tree_snapshot(self.image), before)
        self.assertEqual(host_mount_table(), mounts)

    def test_the_target_root_is_at_var_lib_cntr_and_writes_there_land_in_the_target(self):
        pid = str(self.target.pid)
        self.addCleanup(lambda: os.path.exists(self.target.root_path("srv/from-capsule")) and
                        os.unlink(self.target.root_path("srv/from-capsule")))
        self.capsule(self.image, pid, "--", "/bin/sh", "-c", "echo hi > /var/lib/cntr/srv/from-capsule")
        self.assertEqual(read_file(self.target.root_path("srv/from-capsule")), "hi\n")

    def test_tmp_size_caps_the_copy_on_write_layer(self):
        proc = self.capsule("--tmp-size", "1m", self.image, str(self.target.pid), "--", "/bin/sh", "-c",
                            "dd if=/dev/zero of=/big bs=1024 count=4096 2>/dev/null || echo full",
                            expect=None)
        self.assertIn("full", self.lines_of(proc, str(self.target.pid)))


class Sandbox(CapsuleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root_target = start(cls, "unshare")  # every capability, no seccomp filter

    def test_share_net_joins_the_targets_network_but_not_its_pid_namespace(self):
        pid = str(self.target.pid)
        out = self.lines_of(self.capsule("--share", "net", self.image, pid, "--", "/bin/sh", "-c",
                                         "readlink /proc/self/ns/net; readlink /proc/self/ns/pid; "
                                         "ps -o pid | wc -l"), pid)
        want = ns_inodes(self.target.pid)
        self.assertEqual(out[0], want["net"])
        self.assertNotEqual(out[1], want["pid"])
        self.assertLessEqual(int(out[2]), 4, "only the capsule's own processes (and the header)")

    def test_by_default_every_namespace_is_the_targets(self):
        pid = str(self.target.pid)
        out = self.lines_of(self.capsule(self.image, pid, "--", "/bin/sh", "-c",
                                         "readlink /proc/self/ns/net; readlink /proc/self/ns/pid"), pid)
        want = ns_inodes(self.target.pid)
        self.assertEqual(out, [want["net"], want["pid"]])

    def test_default_seccomp_blocks_unshare_even_where_the_target_has_no_filter(self):
        pid = str(self.root_target.pid)
        self.assertEqual(proc_status(self.root_target.pid)["Seccomp"], "0", "precondition")
        # The built-in profile is compiled into cntr: no cntr-seccomp needed for it.
        proc = self.capsule(self.image, pid, "--", "/bin/sh", "-c",
                            "grep Seccomp: /proc/self/status; unshare -U true && echo unshared; echo done",
                            with_tool=False)
        out = self.lines_of(proc, pid)
        self.assertEqual(out[0].split(), ["Seccomp:", "2"])
        self.assertEqual(out[-1], "done")
        self.assertNotIn("unshared", out)
        self.assertIn("Operation not permitted", proc.stderr.decode(), "EPERM, as Docker's default")
        loose = self.capsule("--seccomp-profile", "unconfined", self.image, pid, "--", "/bin/sh", "-c",
                             "grep Seccomp: /proc/self/status; unshare -U true && echo unshared")
        self.assertEqual(self.lines_of(loose, pid), ["Seccomp:\t0", "unshared"])
        self.assertIn(b"unconfined", loose.stderr)

    def test_default_profile_allows_namespaces_to_a_capsule_given_sys_admin(self):
        # --cap-add SYS_ADMIN: the profile's includes.caps rules apply, so cntr recompiles the
        # built-in profile for this capsule with cntr-seccomp.
        seccomp_tool()
        pid = str(self.root_target.pid)
        proc = self.capsule("-v", "--cap-add", "SYS_ADMIN", self.image, pid, "--", "/bin/sh", "-c",
                            "grep Seccomp: /proc/self/status; unshare -U true && echo unshared")
        self.assertEqual(self.lines_of(proc, pid), ["Seccomp:\t2", "unshared"])
        self.assertIn(b"recompiling profile default", proc.stderr)
        missing = self.capsule("--cap-add", "SYS_ADMIN", self.image, pid, "--", "true", expect=125,
                               with_tool=False)
        self.assertIn(b"cntr-seccomp compile --caps", missing.stderr)

    def test_capabilities_are_the_targets_minus_the_dangerous_ones(self):
        pid = str(self.root_target.pid)
        target_caps = int(proc_status(self.root_target.pid)["CapEff"], 16)
        self.assertTrue(target_caps >> CAP_SYS_ADMIN & 1, "precondition: the target has SYS_ADMIN")
        out = self.lines_of(self.capsule(self.image, pid, "--", "/bin/sh", "-c",
                                         "grep CapEff /proc/self/status"), pid)
        caps = int(out[0].split()[1], 16)
        self.assertFalse(caps >> CAP_SYS_ADMIN & 1)
        self.assertTrue(caps >> CAP_NET_ADMIN & 1, "NET_ADMIN stays: a tcpdump capsule needs it")
        added = self.capsule("--cap-add", "SYS_ADMIN", self.image, pid, "--", "/bin/sh", "-c",
                             "grep CapEff /proc/self/status")
        self.assertTrue(int(self.lines_of(added, pid)[0].split()[1], 16) >> CAP_SYS_ADMIN & 1)


DENY_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
}


class SeccompProfiles(CapsuleTestCase):
    """--seccomp-profile FILE: a Docker/OCI JSON profile (compiled by cntr-seccomp) or a cntr
    BPF file, installed on top of the target's own filters."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="cntr-seccomp.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, True)

    def write(self, name, content):
        path = os.path.join(self.work, name)
        with open(path, "w" if isinstance(content, str) else "wb") as f:
            f.write(content)
        return path

    def mkdir_in_capsule(self, *flags, expect=0, with_tool=True):
        pid = str(self.target.pid)
        proc = self.capsule(*flags, self.image, pid, "--", "/bin/sh", "-c",
                            "mkdir /made 2>&1 && echo made", expect=expect, with_tool=with_tool)
        return self.lines_of(proc, pid), proc

    def test_a_json_profile_denying_mkdir_with_errno_13_gives_eacces(self):
        seccomp_tool()
        profile = self.write("deny-mkdir.json", json.dumps(DENY_MKDIR))
        out, _ = self.mkdir_in_capsule("--seccomp-profile", profile, expect=1)
        self.assertEqual(len(out), 1, out)
        self.assertIn("Permission denied", out[0], "errnoRet 13 is EACCES")
        control, _ = self.mkdir_in_capsule()
        self.assertEqual(control, ["made"], "precondition: without the profile mkdir works")

    def test_a_precompiled_bpf_file_needs_no_tool_and_round_trips(self):
        profile = self.write("deny-mkdir.json", json.dumps(DENY_MKDIR))
        bpf = os.path.join(self.work, "deny-mkdir.bpf")
        subprocess.run([seccomp_tool(), "compile", "-o", bpf, profile], check=True, timeout=CMD_TIMEOUT)
        with open(bpf, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"CNTRBPF1")
        count = int.from_bytes(data[12:16], "little")
        self.assertEqual(len(data), 32 + 8 * count)
        shown = subprocess.run([seccomp_tool(), "show", bpf], capture_output=True, text=True, check=True)
        self.assertIn("instructions %d" % count, shown.stdout)
        out, _ = self.mkdir_in_capsule("--seccomp-profile", bpf, expect=1, with_tool=False)
        self.assertIn("Permission denied", out[0])
        # The same bytes through the tool's stdin give the same program.
        again = subprocess.run([seccomp_tool(), "compile", "-"], input=json.dumps(DENY_MKDIR).encode(),
                               capture_output=True, check=True)
        self.assertEqual(again.stdout, data)

    def test_a_json_profile_without_the_tool_says_how_to_precompile(self):
        profile = self.write("deny-mkdir.json", json.dumps(DENY_MKDIR))
        _, proc = self.mkdir_in_capsule("--seccomp-profile", profile, expect=None, with_tool=False)
        err = self.assertOneLineError(proc)
        self.assertIn(profile, err)
        self.assertIn("cntr-seccomp compile", err)

    def test_a_bpf_file_compiled_for_other_capabilities_is_refused(self):
        needs_admin = dict(DENY_MKDIR, syscalls=[dict(DENY_MKDIR["syscalls"][0],
                                                      excludes={"caps": ["CAP_SYS_ADMIN"]})])
        profile = self.write("admin.json", json.dumps(needs_admin))
        bpf = os.path.join(self.work, "admin.bpf")
        subprocess.run([seccomp_tool(), "compile", "-o", bpf, profile], check=True, timeout=CMD_TIMEOUT)
        # Found per target (its capabilities decide): the target's line, then the summary.
        _, proc = self.mkdir_in_capsule("--cap-add", "SYS_ADMIN", "--seccomp-profile", bpf, expect=125)
        errors = [l for l in proc.stderr.decode().splitlines() if "cntr: error" in l]
        self.assertEqual(len(errors), 1, describe(proc))
        self.assertIn("--caps 0x200000", errors[0])
        # From the JSON, cntr recompiles: with SYS_ADMIN the rule is excluded, mkdir works.
        out, _ = self.mkdir_in_capsule("--cap-add", "SYS_ADMIN", "--seccomp-profile", profile)
        self.assertEqual(out, ["made"])

    def test_an_allowlist_naming_calls_newer_than_libseccomp_runs_with_them_denied_and_says_so(self):
        seccomp_tool()
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "profiles", "default.json")) as f:
            profile = json.load(f)
        profile["syscalls"][0]["names"].append("a_call_from_the_future")
        path = self.write("future.json", json.dumps(profile))
        pid = str(self.target.pid)
        proc = self.capsule("--seccomp-profile", path, self.image, pid, "--", "/bin/sh", "-c",
                            "echo ran; unshare -U true 2>/dev/null || echo denied")
        self.assertEqual(self.lines_of(proc, pid), ["ran", "denied"])
        warnings = [l for l in proc.stderr.decode().splitlines() if "a_call_from_the_future" in l]
        self.assertEqual(len(warnings), 1, describe(proc))
        self.assertIn("cntr: warning: seccomp profile %s: libseccomp" % path, warnings[0])

    def test_bad_profiles_fail_in_one_line_with_125_and_leave_nothing(self):
        tool = seccomp_tool()
        bad = {
            "malformed.json": ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [', "not JSON"),
            "unknown-call.json": (json.dumps(dict(DENY_MKDIR, syscalls=[
                {"names": ["mkdir", "no_such_call"], "action": "SCMP_ACT_ERRNO"}])),
                "syscalls[0]: unknown system call no_such_call"),
            "unknown-action.json": (json.dumps(dict(DENY_MKDIR, syscalls=[
                {"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}])),
                "syscalls[0]: unknown action SCMP_ACT_EXPLODE"),
            "unknown-op.json": (json.dumps(dict(DENY_MKDIR, syscalls=[
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}])),
                "unknown operator SCMP_CMP_ALMOST"),
            "truncated.bpf": (b"CNTRBPF1" + bytes(20), "not a cntr BPF file"),
            "short.bpf": (b"CNTRBPF1" + (62).to_bytes(4, "little") + (3).to_bytes(4, "little") + bytes(16 + 8),
                          "header says 3 instructions"),
        }
        mounts = host_mount_table()
        for name, (content, problem) in bad.items():
            with self.subTest(profile=name):
                path = self.write(name, content)
                _, proc = self.mkdir_in_capsule("--seccomp-profile", path, expect=None)
                err = self.assertOneLineError(proc)
                self.assertIn(path, err)
                self.assertIn(problem, err)
                self.assertNotIn("TARGET", err, "no target was started: no summary")
        self.assertEqual(host_mount_table(), mounts)
        self.assertEqual(processes_running(os.path.realpath(tool)), [])
        self.assertEqual(processes_running(cntr_binary()), [])
        missing = self.capsule("--seccomp-profile", os.path.join(self.work, "absent.json"), self.image,
                               str(self.target.pid), "--", "true", expect=None)
        self.assertIn("absent.json", self.assertOneLineError(missing))


class ManyTargets(CapsuleTestCase):
    COUNT = 20

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.targets = [start(cls, "unshare") for _ in range(cls.COUNT)]

    def test_parallel_over_twenty_targets_prefixes_output_and_summarises(self):
        refs = [str(t.pid) for t in self.targets]
        proc = self.capsule("--parallel", "8", self.image, *refs, "--", "/bin/sh", "-c",
                            "echo from $$; readlink /proc/self/ns/pid")
        for t in self.targets:
            lines = self.lines_of(proc, str(t.pid))
            self.assertEqual(lines[1], ns_inodes(t.pid)["pid"], "the session ran in its own target")
        summary = proc.stderr.decode().splitlines()
        self.assertEqual(summary[0].split(), ["TARGET", "EXIT", "SECONDS"])
        self.assertEqual(sorted(line.split()[0] for line in summary[1:]), sorted(refs))
        self.assertTrue(all(line.split()[1] == "0" for line in summary[1:]))

    def test_iterative_runs_in_order_and_fail_fast_stops_at_the_first_failure(self):
        refs = [str(t.pid) for t in self.targets[:4]]
        marker = self.targets[1].root_path("srv/fail-here")
        open(marker, "w").close()
        self.addCleanup(os.unlink, marker)
        proc = self.capsule("--iterative", "--fail-fast", "--json", self.image, *refs, "--", "/bin/sh",
                            "-c", "echo ran; test ! -e /var/lib/cntr/srv/fail-here", expect=1)
        report = json.loads(proc.stdout.decode().splitlines()[-1])
        self.assertEqual([r["target"] for r in report["targets"]], refs)
        self.assertEqual([r["exit"] for r in report["targets"]], [0, 1, -1, -1])
        self.assertEqual([r["started"] for r in report["targets"]], [True, True, False, False])
        self.assertEqual(report["failed"], 3)
        ran = [line for line in proc.stdout.decode().splitlines() if line.endswith("] ran")]
        self.assertEqual(ran, ["[%s] ran" % refs[0], "[%s] ran" % refs[1]])

    def test_sigkill_of_cntr_ends_every_targets_session(self):
        refs = [str(t.pid) for t in self.targets[:3]]
        before = set(pids_of("sleep"))  # the targets' own processes, among others
        run = subprocess.Popen([cntr_binary(), "capsule", "run", self.image] + refs +
                               ["--", "/bin/sh", "-c", "echo $$; exec sleep 300"], env=cntr_env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(run.wait)
        self.addCleanup(run.kill)
        lines = [run.stdout.readline().decode() for _ in refs]
        # The commands' PIDs as the host numbers them: the sleeps whose pid namespace is a target's.
        target_ns = {ns_inodes(t.pid)["pid"] for t in self.targets[:3]}
        sleeps = wait_for(lambda: [p for p in pids_of("sleep") if pid_ns(p) in target_ns and p not in before]
                          or None, "the capsules' commands")
        self.assertEqual(len(lines), 3)
        self.addCleanup(lambda: [os.kill(p, 9) for p in sleeps if pid_ns(p) in target_ns])
        run.kill()
        run.wait()
        wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in sleeps) or None,
                 "the sessions to end with cntr")
        wait_for(lambda: processes_running(cntr_binary()) == [] or None, "cntr's per-target processes to end")

    def test_timeout_ends_a_target_with_124(self):
        start_time = time.monotonic()
        proc = self.capsule("--timeout", "1s", self.image, str(self.targets[0].pid), "--", "sleep", "100",
                            expect=124)
        self.assertLess(time.monotonic() - start_time, 30)
        self.assertIn(b"timeout", proc.stderr)


class FromContainer(CapsuleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tools = start(cls, "runc", image="usrmerge")  # its root is the capsule's tools

    def test_another_containers_root_is_the_capsules_and_stays_untouched(self):
        pid = str(self.target.pid)
        out = self.lines_of(self.capsule("--from-container", str(self.tools.pid), pid, "--", "/bin/sh",
                                         "-c", "cat /etc/hostname; readlink /bin; echo x > /proof && echo wrote"), pid)
        self.assertEqual(out[1], "usr/bin", "the tools container's merged /usr layout")
        self.assertEqual(out[2], "wrote", "the capsule's root is writable (copy-on-write)")
        self.assertFalse(os.path.exists(self.tools.root_path("proof")))


def tar_bytes(members):
    """A tar archive of (name, kind, data-or-target) members: kind file, dir or symlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            else:
                info.size, info.mode = len(value), 0o755
                tar.addfile(info, io.BytesIO(value))
    return out.getvalue()


def write_layout(directory, layers, config):
    """An OCI image layout of uncompressed layers (lists of tar members) and a runtime config."""
    blobs = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    layer_descs = [dict(blob(tar_bytes(l)), mediaType="application/vnd.oci.image.layer.v1.tar")
                   for l in layers]
    cfg = dict(blob(json.dumps({"architecture": "amd64", "os": "linux", "config": config}).encode()),
               mediaType="application/vnd.oci.image.config.v1+json")
    manifest = dict(blob(json.dumps({"schemaVersion": 2, "config": cfg, "layers": layer_descs}).encode()),
                    mediaType="application/vnd.oci.image.manifest.v1+json")
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')


class OciImages(CapsuleTestCase):
    """IMAGE as an OCI archive or layout: unpacked once into the cache (CNTR_CAPSULE_CACHE),
    every entry confined to the image's root, whiteouts applied, the config's defaults used."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="cntr-capsule.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.cache = os.path.join(self.work, "cache")

    def run_capsule(self, *args, expect=0):
        proc = subprocess.run([cntr_binary(), "capsule", "run", "-v"] + list(args),
                              env=cntr_env({"CNTR_CAPSULE_CACHE": self.cache}), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=CMD_TIMEOUT)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def test_an_oci_archive_is_unpacked_once_and_its_env_and_workdir_apply(self):
        spec = images()["busybox"]
        pid = str(self.target.pid)
        first = self.run_capsule(spec["oci"], pid, "--", "/bin/sh", "-c", "echo $CNTR_TEST_IMAGE; pwd")
        self.assertEqual(self.lines_of(first, pid), ["busybox", spec["cwd"]])
        self.assertIn(b"unpacking", first.stderr)
        second = self.run_capsule(spec["oci"], pid, "--", "true")
        self.assertIn(b"cached at", second.stderr)
        self.assertNotIn(b"unpacking", second.stderr)
        self.assertEqual(len([d for d in os.listdir(self.cache) if not d.startswith(".")]), 1)

    def test_a_layout_with_hostile_layers_stays_inside_its_root(self):
        outside = os.path.join(self.work, "outside")
        os.mkdir(outside)
        layout = os.path.join(self.work, "layout")
        write_layout(layout, [
            [("bin", "dir", None), ("bin/sh", "file", read_file("/bin/busybox", "rb")),
             ("bin/tool", "file", b"#!/bin/sh\necho tool-ran\n"),
             ("escape", "symlink", outside), ("gone", "file", b"x"), ("opaque", "dir", None),
             ("opaque/old", "file", b"x"), ("../../../dotdot", "file", b"x")],
            [("escape/pwned", "file", b"x"), (".wh.gone", "file", b""), ("opaque", "dir", None),
             ("opaque/.wh..wh..opq", "file", b""), ("opaque/new", "file", b"x")],
        ], {"Entrypoint": ["/bin/tool"], "Env": ["PATH=/bin"]})
        pid = str(self.target.pid)
        proc = self.run_capsule(layout, pid)  # no command: the image's Entrypoint
        self.assertEqual(self.lines_of(proc, pid), ["tool-ran"])
        self.assertEqual(os.listdir(outside), [], "a layer wrote outside the image's root")
        self.assertFalse(os.path.exists(os.path.join(self.work, "dotdot")))
        digest = [d for d in os.listdir(self.cache) if not d.startswith(".")][0]
        rootfs = os.path.join(self.cache, digest, "rootfs")
        self.assertFalse(os.path.exists(os.path.join(rootfs, "gone")), "whiteout applied")
        self.assertEqual(sorted(os.listdir(os.path.join(rootfs, "opaque"))), ["new"], "opaque dir")
        self.assertTrue(os.path.exists(os.path.join(rootfs, outside.lstrip("/"), "pwned")),
                        "the symlink was followed inside the root")


    def test_entrypoint_then_cmd_with_the_images_path_env_and_workdir_and_cmd_replaced_by_the_command(self):
        layout = os.path.join(self.work, "layout")
        write_layout(layout, [[("bin", "dir", None), ("bin/sh", "file", read_file("/bin/busybox", "rb")),
                               ("opt", "dir", None), ("opt/bin", "dir", None),
                               ("opt/bin/tool", "file", b"#!/bin/sh\necho \"$*|$(pwd)|$MODE\"\n")]],
                     {"Entrypoint": ["tool", "first"], "Cmd": ["second"], "Env": ["PATH=/opt/bin:/bin", "MODE=check"],
                      "WorkingDir": "/opt"})
        pid = str(self.target.pid)
        self.assertEqual(self.lines_of(self.run_capsule(layout, pid), pid), ["first second|/opt|check"])
        # A command given after -- replaces Entrypoint and Cmd; it is found on the image's PATH.
        self.assertEqual(self.lines_of(self.run_capsule(layout, pid, "--", "tool", "own"), pid), ["own|/opt|check"])

    def tamper(self, layout, which):
        """Change one byte of the manifest's config or first layer blob (its name stays)."""
        def blob_path(digest):
            return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])
        with open(os.path.join(layout, "index.json")) as f:
            manifest_digest = json.load(f)["manifests"][0]["digest"]
        with open(blob_path(manifest_digest)) as f:
            manifest = json.load(f)
        path = blob_path(manifest["config"]["digest"] if which == "config" else manifest["layers"][0]["digest"])
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            data[len(data) // 2] ^= 0x20
            f.seek(0)
            f.write(data)

    def test_a_blob_that_does_not_match_its_digest_is_refused_and_nothing_is_cached(self):
        pid = str(self.target.pid)
        for which in ("layer", "config"):
            with self.subTest(blob=which):
                layout = os.path.join(self.work, which)
                write_layout(layout, [[("bin", "dir", None), ("bin/sh", "file", read_file("/bin/busybox", "rb"))]],
                             {"Entrypoint": ["/bin/sh", "-c", "echo ran"], "Env": ["PATH=/bin"]})
                self.tamper(layout, which)
                proc = subprocess.run([cntr_binary(), "capsule", "run", layout, pid],
                                      env=cntr_env({"CNTR_CAPSULE_CACHE": self.cache}),
                                      stdin=subprocess.DEVNULL, capture_output=True, timeout=CMD_TIMEOUT)
                err = self.assertOneLineError(proc)
                self.assertIn("does not match its digest", err)
                self.assertEqual(os.listdir(self.cache) if os.path.exists(self.cache) else [], [],
                                 "nothing unpacked is kept, not even half")


class CachePrune(CapsuleTestCase):
    """`cntr capsule prune`: unpacked images no run holds go, and what interrupted unpacks left;
    an image a running capsule uses stays."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="cntr-prune.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.cache = os.path.join(self.work, "cache")
        self.env = cntr_env({"CNTR_CAPSULE_CACHE": self.cache})

    def run_cntr(self, *args, expect=0):
        proc = subprocess.run([cntr_binary(), "capsule"] + list(args), env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=CMD_TIMEOUT)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def entries(self):
        return sorted(e for e in os.listdir(self.cache) if not e.startswith("."))

    def test_unused_images_and_leftovers_go_and_the_next_run_unpacks_again(self):
        pid = str(self.target.pid)
        self.run_cntr("run", images()["busybox"]["oci"], pid, "--", "true")
        self.assertEqual(len(self.entries()), 1)
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(self.cache, ".unpacking-%s-%d" % ("0" * 64, dead.pid))
        live = os.path.join(self.cache, ".unpacking-%s-%d" % ("1" * 64, os.getpid()))
        os.makedirs(os.path.join(stale, "rootfs"))
        os.makedirs(live)
        out = self.run_cntr("prune").stdout.decode()
        self.assertIn("1 removed", out)
        self.assertEqual(self.entries(), [])
        self.assertFalse(os.path.exists(stale), "the scratch directory of a process that is gone")
        self.assertTrue(os.path.exists(live), "the scratch directory of a live process stays")
        self.assertEqual([e for e in os.listdir(self.cache) if e.startswith(".archive-")], [],
                         "the archive's key to the removed entry")
        again = self.run_cntr("run", "-v", images()["busybox"]["oci"], pid, "--", "true")
        self.assertIn(b"unpacking", again.stderr)

    def test_an_image_in_use_or_used_recently_stays(self):
        pid = str(self.target.pid)
        running = subprocess.Popen([cntr_binary(), "capsule", "run", images()["busybox"]["oci"], pid, "--",
                                    "/bin/sh", "-c", "echo started; sleep 30"], env=self.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(running.wait)
        self.addCleanup(running.kill)
        self.assertIn(b"started", running.stdout.readline())
        held = self.run_cntr("prune").stdout.decode()
        self.assertIn("in use", held)
        self.assertEqual(len(self.entries()), 1)
        running.kill()
        running.wait()
        wait_for(lambda: processes_running(cntr_binary()) == [] or None, "the killed run's processes to end")
        recent = self.run_cntr("prune", "--older-than", "1h").stdout.decode()
        self.assertIn("kept    ", recent)
        self.assertIn("used 0s ago", recent.replace("used 1s ago", "used 0s ago"))
        self.assertIn("0 removed", recent)
        self.assertEqual(len(self.entries()), 1)
        self.assertIn("1 removed", self.run_cntr("prune").stdout.decode())
        self.assertEqual(self.entries(), [])

    def test_prune_of_a_missing_cache_and_bad_options(self):
        self.assertIn(b"nothing cached", self.run_cntr("prune").stdout)
        self.assertOneLineError(self.run_cntr("prune", "--older-than", "soon", expect=None), 2)
        self.assertOneLineError(self.run_cntr("prune", "extra", expect=None), 2)


class TcpdumpCapsule(CntrTestCase):
    """The README's worked example: the tcpdump capsule built offline by images/build-capsule.sh
    captures the traffic of a shell-less web server container, with its network joined and
    exactly the capabilities asked for."""

    @classmethod
    def setUpClass(cls):
        cls.web = start(cls, "runc", image="scratch")  # /server 8080, nothing else
        work = tempfile.mkdtemp(prefix="cntr-capsule-image.", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, work, True)
        cls.image = os.path.join(work, "capsule-tcpdump.oci.tar")
        subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "images", "build-capsule.sh"), "tcpdump", "--out", cls.image],
            check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
        cls.cache = os.path.join(work, "cache")

    def test_tcpdump_captures_the_containers_traffic(self):
        ref = str(self.web.pid)
        proc = subprocess.run(
            [cntr_binary(), "capsule", "run", "--share", "net", "--profile", "netadmin", "--cap-add",
             "SETUID,SETGID", "--timeout", "60s", self.image, ref, "--", "/bin/sh", "-c",
             "tcpdump -Z root -n -q -i lo -c 4 tcp port 8080 & sleep 1; "
             "wget -q -O /dev/null http://127.0.0.1:8080/; wait"],
            env=cntr_env({"CNTR_CAPSULE_CACHE": self.cache}), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=CMD_TIMEOUT)
        self.assertEqual(proc.returncode, 0, describe(proc))
        packets = [l for l in proc.stdout.decode().splitlines() if l.startswith("[%s] " % ref)]
        self.assertEqual(len(packets), 4, describe(proc))
        self.assertTrue(all("127.0.0.1.8080" in p for p in packets), packets)

    def test_without_the_capabilities_the_target_lacks_the_capture_is_refused(self):
        ref = str(self.web.pid)
        proc = subprocess.run([cntr_binary(), "capsule", "run", "--share", "net", "--timeout", "60s",
                               self.image, ref, "--", "tcpdump", "-Z", "root", "-n", "-i", "lo", "-c", "1"],
                              env=cntr_env({"CNTR_CAPSULE_CACHE": self.cache}), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=CMD_TIMEOUT)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"permission", proc.stderr.lower())


class Usage(CapsuleTestCase):
    def test_missing_command_image_or_targets_are_usage_errors(self):
        for args in ((self.image, str(self.target.pid)), (self.image, "--", "true"),
                     ("/nonexistent", str(self.target.pid), "--", "true"),
                     ("--share", "user", self.image, str(self.target.pid), "--", "true")):
            with self.subTest(args=args):
                self.assertOneLineError(self.capsule(*args, expect=None), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
