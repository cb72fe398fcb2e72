#!/usr/bin/python3
"""The file system workloads of bench/fs-overhead, run in one directory and timed from inside.

Usage: fsworkload.py gen DIR SCALE      generate the inputs (source tarball) under DIR/.bench
       fsworkload.py run DIR SCALE      run every workload in DIR; print {"workload": seconds}
SCALE: "full" (>= 50k-file tree, fio 256 MiB) or "smoke" (tiny). The same script runs natively
in the target, inside a cntr session (DIR under /var/lib/cntr) and on a FUSE passthrough, so
only the file system path differs. Timing happens here, so entering the container is not
counted. Tools: tar, gzip, find, xargs, stat, fio, sqlite3 (whatever is missing is skipped and
reported as null).
"""
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time

SCALES = {
    # tree: dirs x subdirs x files; compile: files; fio: MiB (seq) and MiB (random 4k);
    # sqlite: transactions x rows each
    "full": dict(tree=(40, 25, 52), compile=8000, fio_seq=256, fio_rand=64, sqlite=(200, 500)),
    "smoke": dict(tree=(3, 4, 25), compile=120, fio_seq=4, fio_rand=2, sqlite=(4, 50)),
}
WORDS = ("static int struct return if else for while unsigned char void const size_t "
         "include define buffer length error count pointer list node value key").split()


def source_file(rng, size):
    """Text that compresses like source code (roughly 3-4x with gzip)."""
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10))) + ";\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def gen(directory, scale):
    """The source tarball (a deterministic tree: same scale, same bytes), written once."""
    cfg = SCALES[scale]
    inputs = os.path.join(directory, ".bench")
    os.makedirs(inputs, exist_ok=True)
    tarball = os.path.join(inputs, "src-%s.tar" % scale)
    if os.path.exists(tarball):
        return
    rng = random.Random(1)
    dirs, subdirs, files = cfg["tree"]
    with tarfile.open(tarball + ".tmp", "w", format=tarfile.PAX_FORMAT) as tar:
        for d in range(dirs):
            for s in range(subdirs):
                for f in range(files):
                    data = source_file(rng, int(min(rng.lognormvariate(7.5, 1.0), 64000)) + 1)
                    info = tarfile.TarInfo("src/d%03d/s%03d/f%03d.%s" % (d, s, f, "ch"[f % 2]))
                    info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
                    tar.addfile(info, io.BytesIO(data))
    os.rename(tarball + ".tmp", tarball)


def timed(fn, *args):
    # Write back what earlier steps left dirty first: otherwise a workload pays for the
    # previous one's writeback (seen as 10x swings of untar time between repetitions).
    os.sync()
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def run(cmd, **kwargs):
    subprocess.run(cmd, check=True, stdin=kwargs.pop("stdin", subprocess.DEVNULL),
                   stdout=kwargs.pop("stdout", subprocess.DEVNULL), **kwargs)


def untar(directory, scale):
    run(["tar", "-xf", os.path.join(directory, ".bench/src-%s.tar" % scale), "-C", directory])
    # 150 MB in 52k files is mostly writeback: timing it to durable makes the figure depend on
    # the file system path, not on when the kernel happens to flush.
    os.sync()


def find_stat(directory):
    # One stat(1) call per file on top of find's own walk: a metadata storm.
    find = subprocess.Popen(["find", os.path.join(directory, "src"), "-type", "f", "-print0"],
                            stdout=subprocess.PIPE)
    run(["xargs", "-0", "stat", "-c", "%s %Y %U"], stdin=find.stdout)
    find.stdout.close()
    if find.wait() != 0:
        raise RuntimeError("find failed")


def gzip_tree(directory):
    with open(os.path.join(directory, "src.tar.gz"), "wb") as out:
        tar = subprocess.Popen(["tar", "-cf", "-", "-C", directory, "src"], stdout=subprocess.PIPE)
        run(["gzip", "-1"], stdin=tar.stdout, stdout=out)
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar failed")


def compile_phases(directory, files):
    """compilebench-like: create a tree of sources, "compile" each into an object (read the
    source, write a bigger object next to it), then read everything back."""
    root = os.path.join(directory, "cb")
    rng = random.Random(2)
    # Contents are made before the clock starts: only file system work is timed.
    contents = [source_file(rng, rng.randint(512, 24000)) for _ in range(min(files, 500))]
    sources = []

    def create():
        for i in range(files):
            sub = os.path.join(root, "m%02d" % (i % 50), "p%02d" % (i // 50 % 20))
            os.makedirs(sub, exist_ok=True)
            path = os.path.join(sub, "u%05d.c" % i)
            with open(path, "wb") as f:
                f.write(contents[i % len(contents)])
            sources.append(path)

    def compile_():
        for path in sources:
            with open(path, "rb") as f:
                data = f.read()
            with open(path[:-2] + ".o", "wb") as f:
                f.write(data[::-1] + data[: len(data) // 2])

    def read():
        for dirpath, _, names in os.walk(root):
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    while f.read(65536):
                        pass

    return {"compilebench create": timed(create), "compilebench compile": timed(compile_),
            "compilebench read": timed(read)}


def fio_jobs(directory, seq_mib, rand_mib):
    if not shutil.which("fio"):
        return {k: None for k in ("fio seq write", "fio seq read", "fio rand write 4k",
                                  "fio rand read 4k")}
    work = os.path.join(directory, "fio")
    os.makedirs(work, exist_ok=True)
    # invalidate=0: fio would otherwise drop the file's page cache before each job, which works
    # natively but not below FUSE (the lower file system keeps its cache): reads would compare
    # disk against cache. With it, all modes read through a warm page cache.
    common = ["fio", "--directory=" + work, "--ioengine=psync", "--numjobs=1", "--invalidate=0",
              "--group_reporting", "--output-format=terse"]
    jobs = [("fio seq write", ["--name=seq", "--rw=write", "--bs=1M", "--size=%dM" % seq_mib,
                               "--end_fsync=1"]),
            ("fio seq read", ["--name=seq", "--rw=read", "--bs=1M", "--size=%dM" % seq_mib]),
            ("fio rand write 4k", ["--name=rand", "--rw=randwrite", "--bs=4k",
                                   "--size=%dM" % rand_mib, "--end_fsync=1"]),
            ("fio rand read 4k", ["--name=rand", "--rw=randread", "--bs=4k",
                                  "--size=%dM" % rand_mib])]
    return {name: timed(run, common + args) for name, args in jobs}


def sqlite_load(directory, transactions, rows):
    if not shutil.which("sqlite3"):
        return None
    sql = ["CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value REAL, note TEXT);",
           "CREATE INDEX t_name ON t(name);"]
    n = 0
    for _ in range(transactions):
        sql.append("BEGIN;")
        for _ in range(rows):
            n += 1
            sql.append("INSERT INTO t VALUES (%d, 'name%d', %d.5, '%s');" % (n, n % 977, n, "x" * (n % 200)))
        sql.append("COMMIT;")
    script = "\n".join(sql).encode()
    db = os.path.join(directory, "load.db")
    return timed(lambda: subprocess.run(["sqlite3", db], input=script, check=True,
                                        stdout=subprocess.DEVNULL))


def clean(directory):
    for name in ("src", "cb", "fio", "src.tar.gz", "load.db"):
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)


def run_all(directory, scale):
    cfg = SCALES[scale]
    clean(directory)
    results = {"untar + sync": timed(untar, directory, scale),
               "find + stat": timed(find_stat, directory),
               "gzip tree": timed(gzip_tree, directory)}
    results.update(compile_phases(directory, cfg["compile"]))
    results.update(fio_jobs(directory, cfg["fio_seq"], cfg["fio_rand"]))
    results["sqlite load"] = sqlite_load(directory, *cfg["sqlite"])
    clean(directory)
    return results


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("gen", "run") or sys.argv[3] not in SCALES:
        sys.exit(__doc__)
    action, directory, scale = sys.argv[1:]
    if action == "gen":
        gen(directory, scale)
    else:
        json.dump(run_all(directory, scale), sys.stdout)
        print()


if __name__ == "__main__":
    main()
