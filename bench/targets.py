"""Benchmark targets: long-lived busybox containers on each runtime, torn down at exit.

Images come from tests/images/build_images.py (the node tests' offline images) and daemons
are started through scripts/runtimes.sh, which leaves them running for the other tests: the
benchmarks remove only the containers they made.
"""
import json
import os
import platform
import secrets
import subprocess
import tempfile
import time

from benchlib import CLEANUP, TOP, fail, log, ok, sh

BUILD_IMAGES = os.path.join(TOP, "tests/images/build_images.py")
RUNTIMES = os.path.join(TOP, "scripts/runtimes.sh")
CONTAINERD_NS = "cntr-test"  # where build_images.py --import containerd puts the images
CONTAINERD_RUNC_ROOT = "/run/containerd/runc/" + CONTAINERD_NS
SLEEP = ["/bin/sleep", "1000000"]


class Target:
    """A running container: runtime, full ID, name (if the runtime has names), init PID."""

    def __init__(self, runtime, cid, name, pid, bundle=None):
        self.runtime, self.id, self.name, self.pid, self.bundle = runtime, cid, name, pid, bundle

    def __repr__(self):
        return "%s container %s (pid %d)" % (self.runtime, self.id[:12], self.pid)


def images(import_into=()):
    """The image table of build_images.py (rootfs dirs, OCI and docker archives)."""
    cmd = ["/usr/bin/python3", BUILD_IMAGES, "--json"]
    for runtime in import_into:
        cmd += ["--import", runtime]
    return json.loads(sh(cmd, timeout=600).stdout)


def start_daemons(names):
    """Start containerd/dockerd through the shared helper; return the ones that came up."""
    up = []
    for name in names:
        if ok([RUNTIMES, "start", name], timeout=90):
            up.append(name)
        else:
            log("%s did not start: its rows are skipped" % name)
    return up


def new_id():
    # Hex like every engine's IDs, so cntr's ID resolver (hex prefix) accepts it.
    return secrets.token_hex(32)


# A seccomp profile shaped like docker's default (moby profiles/seccomp/default.json): deny by
# default (EPERM), allow about 290 syscalls by name on every ABI of the machine, clone only
# without namespace flags, clone3 as ENOSYS (so libc falls back to clone), personality only
# for the usual personas. Left out, as there: unshare, setns, mount and the new mount API,
# keyctl/add_key/request_key, bpf, perf_event_open, kexec, modules, swap, reboot, clock and
# time setting, NUMA policy, process_vm_*, userfaultfd, name_to_handle_at, quotactl, ...
# Written for the benchmarks: a filter of realistic size, so copying it is timed honestly.
SECCOMP_ALLOWED = """
accept accept4 access adjtimex alarm arch_prctl bind brk capget capset chdir chmod chown
chroot clock_getres clock_gettime clock_nanosleep close close_range connect copy_file_range
creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate
fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr flistxattr
flock fork fremovexattr fsetxattr fstat fstatfs fsync ftruncate futex futex_waitv futimesat
get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid geteuid getgid
getgroups getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresuid getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday
getuid getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel
io_destroy io_getevents io_pgetevents io_setup io_submit io_uring_enter io_uring_register
io_uring_setup ioctl ioprio_get ioprio_set kill lchown lgetxattr link linkat listen
listxattr llistxattr lremovexattr lseek lsetxattr lstat madvise membarrier memfd_create
mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mprotect mq_getsetattr
mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd
msync munlock munlockall munmap nanosleep newfstatat open openat openat2 pause pidfd_getfd
pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll prctl
pread64 preadv preadv2 prlimit64 process_madvise process_mrelease pselect6 ptrace pwrite64
pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min
sched_getaffinity sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select
semctl semget semop semtimedop send sendfile sendmmsg sendmsg sendto set_robust_list
set_thread_area set_tid_address setfsgid setfsuid setgid setgroups setitimer setpgid
setpriority setregid setresgid setresuid setreuid setrlimit setsid setsockopt setuid
setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 socket socketpair
splice stat statfs statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill
time timer_create timer_delete timer_getoverrun timer_gettime timer_settime timerfd_create
timerfd_gettime timerfd_settime times tkill truncate umask uname unlink unlinkat utime
utimensat utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()
SECCOMP_ARCHES = {"x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                  "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]}
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)  # LINUX, UNAME26, LINUX32, both, query


def seccomp_profile():
    """The docker-like profile above as an OCI `linux.seccomp` object. runc skips the names
    its libseccomp does not know for an architecture (send, recv, waitpid: 32-bit ABIs)."""
    return {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": SECCOMP_ARCHES.get(platform.machine(), []),
        "syscalls": [
            {"names": SECCOMP_ALLOWED, "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},  # ENOSYS
        ] + [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{"index": 0, "value": p, "op": "SCMP_CMP_EQ"}]} for p in PERSONAS],
    }


def runc_bundle(bundle, rootfs, args, mounts=(), readonly=True, env=None, seccomp=None):
    """Write an OCI bundle (runc spec defaults) for rootfs; extra bind mounts (src, dst, ro);
    seccomp: a `linux.seccomp` object (e.g. seccomp_profile()), none by default as in runc."""
    os.makedirs(bundle, exist_ok=True)
    config = os.path.join(bundle, "config.json")
    if os.path.exists(config):
        os.unlink(config)
    sh(["runc", "spec", "--bundle", bundle])
    with open(config) as f:
        spec = json.load(f)
    spec["root"] = {"path": rootfs, "readonly": readonly}
    spec["process"]["args"] = list(args)
    spec["process"]["terminal"] = False
    if env:
        spec["process"]["env"] = list(env)
    for src, dst, ro in mounts:
        spec["mounts"].append({"destination": dst, "type": "bind", "source": src,
                               "options": ["rbind", "ro" if ro else "rw"]})
    if seccomp:
        spec["linux"]["seccomp"] = seccomp
    with open(config, "w") as f:
        json.dump(spec, f, indent=1)


def start_runc(bundle, cid=None):
    """`runc run -d` the bundle; return its Target. Deleted (kill -9 + delete) at exit."""
    cid = cid or new_id()
    CLEANUP.push("runc container " + cid[:12], lambda: subprocess.run(
        ["runc", "delete", "-f", cid], capture_output=True))
    run_detached(["runc", "run", "-d", "--bundle", bundle, cid], "runc run of bundle " + bundle)
    pid = json.loads(sh(["runc", "state", cid]).stdout)["pid"]
    return Target("runc", cid, None, pid, bundle)


def run_detached(argv, what):
    """Run an OCI runtime's `run -d`: the container inherits the runtime's stdio, so a pipe
    would stay open as long as the container lives; its stderr goes to a file instead."""
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        if p.returncode != 0:
            err.seek(0)
            lines = err.read().strip().splitlines()
            fail("%s failed: %s" % (what, lines[-1] if lines else "exit %d" % p.returncode))


def start_containerd(ref):
    """`ctr run -d` of an image imported by images(["containerd"]); removed at exit."""
    cid = new_id()
    sh(["ctr", "-n", CONTAINERD_NS, "run", "-d", ref["ref"], cid] + SLEEP, timeout=60)
    CLEANUP.push("containerd container " + cid[:12], remove_containerd, cid)
    pid_file = "/run/containerd/io.containerd.runtime.v2.task/%s/%s/init.pid" % (CONTAINERD_NS, cid)
    with open(pid_file) as f:
        pid = int(f.read())
    return Target("containerd", cid, cid, pid)


def remove_containerd(cid):
    subprocess.run(["ctr", "-n", CONTAINERD_NS, "task", "kill", "-s", "KILL", cid],
                   capture_output=True)
    for _ in range(50):
        if subprocess.run(["ctr", "-n", CONTAINERD_NS, "task", "delete", cid],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["ctr", "-n", CONTAINERD_NS, "containers", "delete", cid], capture_output=True)


def start_engine(engine, ref, name):
    """podman or docker: `run -d --name NAME` of the test image; removed at exit."""
    cli = {"podman": "podman", "docker": "/usr/bin/docker"}[engine]
    subprocess.run([cli, "rm", "-f", name], capture_output=True)
    cid = sh([cli, "run", "-d", "--name", name, ref["ref"]] + SLEEP, timeout=120).stdout.strip()
    CLEANUP.push("%s container %s" % (engine, name),
                 lambda: subprocess.run([cli, "rm", "-f", name], capture_output=True))
    pid = int(sh([cli, "inspect", "-f", "{{.State.Pid}}", name]).stdout.strip())
    return Target(engine, cid, name, pid)
