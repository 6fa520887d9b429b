"""The abi3 wheel against a version-specific build of the same module.

    python3 bench/py/abi3.py [--rounds N] [--quick]

Builds the module twice with `pip wheel` (isolated, as a user's install
builds it): once as shipped (Py_LIMITED_API=0x030B0000, tagged abi3) and once
with FUTEX_LIMITED_API=0 (the full API of the running interpreter), unpacks
each under bench/out/abi3/, then runs pybench.py's `call fetch_add` and
`pingpong ours` (pinned to CPUs 0 and 1) against each, interleaved round by
round so that load elsewhere lands on both alike. Prints the medians and the
ratio abi3 / version-specific, and writes bench/out/abi3/results.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench", "out", "abi3")
VARIANTS = {"abi3": "1", "version-specific": "0"}


def build(name, limited):
    dest = os.path.join(OUT, name)
    wheels = os.path.join(OUT, "wheels-" + name)
    os.makedirs(wheels, exist_ok=True)
    for f in os.listdir(wheels):
        os.remove(os.path.join(wheels, f))
    env = dict(os.environ, FUTEX_LIMITED_API=limited, PIP_DISABLE_PIP_VERSION_CHECK="1")
    # From OUT, not the tree: the tree's build/ would shadow the build module.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ROOT],
                   cwd=OUT, env=env, check=True)
    (wheel,) = os.listdir(wheels)
    with zipfile.ZipFile(os.path.join(wheels, wheel)) as z:
        z.extractall(dest)
    return dest, wheel


def run(case, variant_dir, extra_env=None):
    args = {"fetch_add": ["call", "fetch_add"], "pingpong": ["pingpong", "ours", "4000"]}[case]
    env = dict(os.environ, PYTHONPATH=variant_dir, **(extra_env or {}))
    out = subprocess.run([sys.executable, os.path.join(HERE, "pybench.py")] + args, cwd=OUT, env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    return [float(x) for x in line.split()[2:]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="2 rounds")
    a = ap.parse_args()
    rounds = 2 if a.quick else a.rounds
    os.makedirs(OUT, exist_ok=True)
    built = {name: build(name, limited) for name, limited in VARIANTS.items()}
    for name, (d, wheel) in built.items():
        print(f"{name:17} {wheel}")
    samples = {(c, v): [] for c in ("fetch_add", "pingpong") for v in VARIANTS}
    for r in range(rounds):
        # Alternate which variant goes first, so neither always follows the other.
        order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for v in order:
            samples[("fetch_add", v)] += run("fetch_add", built[v][0])
            samples[("pingpong", v)] += run("pingpong", built[v][0], {"BENCH_PIN": "1"})
    results = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "load_average": os.getloadavg(), "rounds": rounds, "cases": {}}
    print(f"\nCPython {platform.python_version()}, {rounds} interleaved rounds, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for case, unit in (("fetch_add", "ns per call"), ("pingpong", "µs per round trip, pinned to CPUs 0 and 1")):
        med = {v: statistics.median(samples[(case, v)]) for v in VARIANTS}
        ratio = med["abi3"] / med["version-specific"]
        results["cases"][case] = {"unit": unit, "median": med, "abi3_over_specific": ratio,
                                  "samples": {v: len(samples[(case, v)]) for v in VARIANTS}}
        print(f"{case:10} abi3 {med['abi3']:.4g}  version-specific {med['version-specific']:.4g}  "
              f"({unit})  abi3/specific = {ratio:.3f}")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
