"""Shared helpers of the benchmark scripts: cleanup, tools, timing, statistics, tables, charts.

The scripts print numbers; they assert nothing about speed. They do fail (exit 1) when cntr
itself does not work, so the smoke runs in ctest keep the benchmarks honest.
"""
import atexit
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A failure that ends the benchmark with a one-line message (exit 1)."""


def fail(msg):
    raise BenchError(msg)


def run_main(main):
    """Run main() so that every registered cleanup runs on success, error and SIGINT/SIGTERM."""
    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        sys.exit(main())
    except BenchError as e:
        log("FAILED: " + str(e))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


# --- cleanup ---------------------------------------------------------------------------------

class Cleanup:
    """A stack of undo actions, run in reverse order at exit; each failure is reported, none
    stops the others, so a half-built setup is still torn down completely."""

    def __init__(self):
        self.actions = []
        atexit.register(self.run)

    def push(self, what, fn, *args):
        self.actions.append((what, fn, args))

    def run(self):
        while self.actions:
            what, fn, args = self.actions.pop()
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 -- report and go on with the rest
                log("cleanup of %s failed: %s" % (what, e))


CLEANUP = Cleanup()


# --- processes and tools ---------------------------------------------------------------------

def sh(cmd, check=True, capture=True, timeout=None, env=None, stdin=subprocess.DEVNULL):
    """Run argv; return CompletedProcess (text). Failure messages name the command and its stderr."""
    p = subprocess.run(cmd, stdin=stdin, capture_output=capture, text=True, timeout=timeout,
                       env=env)
    if check and p.returncode != 0:
        err = (p.stderr or "").strip().splitlines()
        fail("%s exited %d: %s" % (shlex.join(cmd), p.returncode, err[-1] if err else "no stderr"))
    return p


def ok(cmd, timeout=60):
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def need(tool, package, install=True):
    """Return the path of tool, installing its Debian package first when allowed."""
    path = shutil.which(tool)
    if path or not install:
        return path
    log("installing %s (for %s)" % (package, tool))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-q", package], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return shutil.which(tool)


def cntr_binary():
    """$CNTR_BIN, else the static build in build/musl/cntr."""
    path = os.environ.get("CNTR_BIN") or os.path.join(TOP, "build/musl/cntr")
    if not os.access(path, os.X_OK):
        fail("no cntr binary at %s: build it (cmake -S . -B build -G Ninja && ninja -C build) "
             "or set CNTR_BIN" % path)
    return os.path.abspath(path)


def out_dir(name, override=None):
    path = override or os.path.join(HERE, "out", name)
    os.makedirs(path, exist_ok=True)
    return path


# --- timing ----------------------------------------------------------------------------------

def time_once(argv, env=None):
    """Wall time of one run in seconds; raises when the command fails."""
    start = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        fail("%s exited %d: %s" % (shlex.join(argv), p.returncode,
                                   p.stderr.decode(errors="replace").strip()[-300:]))
    return elapsed


def time_runs(argv, runs, warmup=2, idle=0):
    """Times (seconds) of `runs` runs of argv, after `warmup` unmeasured ones. Uses hyperfine
    without a shell (-N) when installed, so no shell start-up is counted; else a plain loop.
    idle: seconds the machine sits idle before each run (hyperfine --prepare 'sleep')."""
    hyperfine = shutil.which("hyperfine")
    if not hyperfine:
        for _ in range(warmup):
            time_once(argv)
        times = []
        for _ in range(runs):
            time.sleep(idle)
            times.append(time_once(argv))
        return times
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [hyperfine, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
               "--export-json", f.name]
        if idle:
            cmd += ["--prepare", "sleep %g" % idle]
        cmd.append(shlex.join(argv))
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if p.returncode != 0:
            # hyperfine hides the command's stderr: run it once to say why it failed.
            time_once(argv)
            fail("hyperfine failed for %s: %s" % (shlex.join(argv), p.stderr.strip()[-300:]))
        return json.load(open(f.name))["results"][0]["times"]


def percentile(values, pct):
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-pct * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "p99": percentile(times, 99), "n": len(times)}


# --- output ----------------------------------------------------------------------------------

def markdown_table(headers, rows):
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep] + [line(r) for r in cells])


def fmt_ms(seconds):
    ms = seconds * 1000.0
    return "%.2f" % ms if ms < 100 else "%.0f" % ms


def fmt_ratio(value, base):
    return "%.2fx" % (value / base) if base else "-"


def gnuplot_available(install=True):
    return need("gnuplot", "gnuplot-nox", install)


def _gp_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plot(path, header, rows, script, install):
    """Write rows (first column the x value or label) to path.dat and run gnuplot with
    script(data_path) -> [lines]. Returns path, or None without gnuplot."""
    gnuplot = gnuplot_available(install)
    if not gnuplot:
        log("gnuplot not available: no chart %s" % path)
        return None
    data = path + ".dat"
    with open(data, "w") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(" ".join(row) + "\n")
    subprocess.run([gnuplot], input="\n".join(script(data)) + "\n", text=True, check=True,
                   capture_output=True)
    return path


def bar_chart(path, title, ylabel, labels, series, logscale=False, install=True):
    """A grouped bar chart (PNG). series: [(name, [value per label])]; None values are gaps."""
    header = "label " + " ".join(_gp_quote(n) for n, _ in series)
    rows = [[_gp_quote(label)] + ["NaN" if s[1][i] is None else "%g" % s[1][i] for s in series]
            for i, label in enumerate(labels)]

    def script(data):
        lines = [
            "set terminal pngcairo size 1100,620 font 'sans,10' background rgb 'white'",
            "set output %s" % _gp_quote(path),
            "set title %s" % _gp_quote(title),
            "set ylabel %s" % _gp_quote(ylabel),
            "set style data histograms", "set style histogram clustered gap 1",
            "set style fill solid 0.8 border -1", "set boxwidth 0.9",
            "set xtics rotate by -35 left noenhanced", "set key top left noenhanced",
            "set grid ytics", "set bmargin 9", "set yrange [%s:*]" % ("0.1" if logscale else "0"),
        ]
        if logscale:
            lines.append("set logscale y")
        plots = ["%s using %d:xtic(1) title columnheader(%d)" % (_gp_quote(data), i + 2, i + 2)
                 for i in range(len(series))]
        return lines + ["plot " + ", ".join(plots)]

    return _plot(path, header, rows, script, install)


def line_chart(path, title, xlabel, ylabel, xs, series, install=True):
    """A line chart (PNG): series [(name, [y per x])]."""
    header = "x " + " ".join(_gp_quote(n) for n, _ in series)
    rows = [["%g" % x] + ["%g" % s[1][i] for s in series] for i, x in enumerate(xs)]

    def script(data):
        plots = ["%s using 1:%d with linespoints lw 2 title columnheader(%d)"
                 % (_gp_quote(data), i + 2, i + 2) for i in range(len(series))]
        return [
            "set terminal pngcairo size 900,500 font 'sans,10' background rgb 'white'",
            "set output %s" % _gp_quote(path),
            "set title %s" % _gp_quote(title), "set xlabel %s" % _gp_quote(xlabel),
            "set ylabel %s" % _gp_quote(ylabel), "set key top left noenhanced", "set grid",
            "set yrange [0:*]", "plot " + ", ".join(plots),
        ]

    return _plot(path, header, rows, script, install)


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
