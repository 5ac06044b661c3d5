"""The machine a run was measured on, for BENCHMARKS.md's first section.

Usage: machine.py OUT.json MODE PROFILE
"""

import json, os, platform, subprocess, sys
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
cpu = platform.processor() or platform.machine()
if os.path.exists("/proc/cpuinfo"):
    names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
    cpu = names[0] if names else cpu
elif platform.system() == "Darwin":
    cpu = run("sysctl", "-n", "machdep.cpu.brand_string")
memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
json.dump({"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
           "os": platform.platform(terse=True), "kernel": platform.release(),
           "rustc": run("rustc", "--version"), "python": platform.python_version(),
           "node": run("node", "--version"), "date": run("date", "-u", "+%Y-%m-%d"),
           "mode": sys.argv[2], "profile": sys.argv[3]}, open(sys.argv[1], "w"), indent=1)
