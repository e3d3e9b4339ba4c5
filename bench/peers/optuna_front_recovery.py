#!/usr/bin/python3
"""Peer benchmark: how many distinct NAS-Bench-201 architectures Optuna evaluates to
recover 99% of the exact Pareto front's hypervolume on one HW-NAS-Bench device.

Search space: 6 cell edges e0..e5 (arch_str order op_1_0, op_2_0, op_2_1, op_3_0,
op_3_1, op_3_2), each one of 5 ops. Objectives, all minimised: test error
(100 - accuracy on --dataset), the device's latency and, with --energy, its energy.
An architecture with a missing value (empty cell, or a negative sentinel such as
edgetpu's -1) is a failed evaluation and is told to Optuna as FAIL.

Proposals of an already evaluated architecture are answered from the table and cost
nothing; only distinct architectures count as evaluations. After each new valid
evaluation the hypervolume (HV) of all valid results so far is updated; a run stops
when HV >= 0.99 * --target-hv, or at --max-evals distinct evaluations, or at
--max-trials trials.

HV uses the raw objective values and the reference point --ref; a point that is not
strictly better than the reference in every objective contributes nothing. The ratio
HV / target is invariant to per-objective scaling, so using raw instead of
normalised values does not change when a run reaches 99%.

--compute-exact computes the reference point (per-objective maximum over the
architectures whose objectives are all valid) and the exact front HV in Python,
prints them as the first stdout line
    {"device": ..., "dataset": ..., "energy": ..., "ref": [...], "target_hv": ...,
     "valid_archs": ..., "front_size": ...}
and uses them for the runs. Every further stdout line is one run per (sampler, seed):
    {"sampler": "tpe", "device": "edgegpu", "dataset": "cifar10", "energy": false,
     "seed": 0, "evals_to_99": 83, "trials": 120, "reached": true, "evals": 83,
     "hv_ratio": 0.9903, "seconds": 3.2}
where evals is the number of distinct architectures evaluated when the run stopped
and evals_to_99 is null when 99% was not reached. Progress goes to stderr.

Optuna's TPE is sped up by speed_up_optuna_tpe(), which changes none of its
proposals; --stock-optuna turns that off.
"""

import argparse
import bisect
import copy
import csv
import itertools
import json
import math
import multiprocessing
import os
import pickle
import sys
import time

import numpy as np
import optuna
import optuna._hypervolume.wfg as optuna_wfg
import optuna.samplers._tpe.sampler as optuna_tpe

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
N_EDGES = 6
DATASET_COLUMNS = {
    "cifar10": "cifar10_test_acc",
    "cifar100": "cifar100_test_acc",
    "imagenet16_120": "imagenet16_120_test_acc",
}
DEVICES = ["edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"]
ENERGY_DEVICES = ["edgegpu", "eyeriss", "fpga"]  # devices with a <device>_energy_mJ column

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
DEFAULT_ACC_CSV = os.path.join(DATA_DIR, "nas-bench-201", "nb201_test_accuracy.csv")
DEFAULT_HW_CSV = os.path.join(DATA_DIR, "hw-nas-bench", "nb201_cifar10_hw.csv")


def arch_string(ops):
    e0, e1, e2, e3, e4, e5 = ops
    return f"|{e0}~0|+|{e1}~0|{e2}~1|+|{e3}~0|{e4}~1|{e5}~2|"


def parse_value(text):
    """A CSV cell as float, or None when missing (empty, non-finite or negative)."""
    if text.strip() == "":
        return None
    value = float(text)
    return value if math.isfinite(value) and value >= 0 else None


def load_objectives(acc_csv, hw_csv, dataset, device, energy):
    """Map every arch_str of the space to its objective tuple, or None if any is missing."""
    acc_column = DATASET_COLUMNS[dataset]
    with open(acc_csv, newline="") as f:
        accuracy = {row["arch_str"]: parse_value(row[acc_column]) for row in csv.DictReader(f)}

    hw_columns = [f"{device}_latency_ms"] + ([f"{device}_energy_mJ"] if energy else [])
    table = {}
    with open(hw_csv, newline="") as f:
        for row in csv.DictReader(f):
            arch = row["arch_str"]
            if arch not in accuracy:
                sys.exit(f"error: {arch} of {hw_csv} is not in {acc_csv}")
            acc = accuracy[arch]
            values = [None if acc is None else 100.0 - acc]
            values += [parse_value(row[c]) for c in hw_columns]
            table[arch] = None if None in values else tuple(values)

    # Every point of the search space must be in the join, otherwise the arch string
    # format or the files disagree with the space definition.
    for ops in itertools.product(OPS, repeat=N_EDGES):
        if arch_string(ops) not in table:
            sys.exit(f"error: {arch_string(ops)} missing from {hw_csv}")
    return table


def weakly_dominates(a, b):
    return all(x <= y for x, y in zip(a, b))


def pareto_front(points):
    """Non-dominated subset of points (duplicates removed)."""
    front = []
    # In lexicographic order a point can only be weakly dominated by an earlier one.
    for p in sorted(set(points)):
        if not any(weakly_dominates(q, p) for q in front):
            front.append(p)
    return front


def hv2d_sorted(points, ref):
    """Exact 2-D HV of points sorted by (x, y), each strictly inside ref."""
    hv = 0.0
    prev_y = ref[1]
    for x, y in points:
        if y < prev_y:
            hv += (ref[0] - x) * (prev_y - y)
            prev_y = y
    return hv


def hv3d(points, ref):
    """Exact 3-D HV: sweep along z, adding the 2-D HV of the (x, y) slice per z slab."""
    points = sorted(points, key=lambda p: p[2])
    hv = 0.0
    slice_xy = []
    for i, (x, y, z) in enumerate(points):
        bisect.insort(slice_xy, (x, y))
        z_next = points[i + 1][2] if i + 1 < len(points) else ref[2]
        if z_next > z:
            hv += hv2d_sorted(slice_xy, ref) * (z_next - z)
    return hv


def hypervolume(points, ref):
    inside = [p for p in points if all(v < r for v, r in zip(p, ref))]
    if len(ref) == 2:
        return hv2d_sorted(sorted(inside), ref)
    if len(ref) == 3:
        return hv3d(inside, ref)
    raise ValueError(f"hypervolume of {len(ref)} objectives not supported")


class FrontTracker:
    """Running HV of a growing point set; recomputed only when the front changes."""

    def __init__(self, ref):
        self.ref = ref
        self.front = []
        self.hv = 0.0

    def add(self, point):
        # Points outside the reference box, and everything they dominate, add no volume.
        if not all(v < r for v, r in zip(point, self.ref)):
            return
        if any(weakly_dominates(q, point) for q in self.front):
            return
        self.front = [q for q in self.front if not weakly_dominates(point, q)]
        self.front.append(point)
        self.hv = hypervolume(self.front, self.ref)


def exact_reference(table):
    """(ref, target HV, number of valid archs, front size) over all valid architectures."""
    valid = [v for v in table.values() if v is not None]
    ref = tuple(max(column) for column in zip(*valid))
    front = pareto_front(valid)
    return ref, hypervolume(front, ref), len(valid), len(front)


def _repeat_last_result(fn):
    """Wrap a pure function: a call with the same arguments as the previous call
    returns (a copy of) the previous result instead of recomputing it."""
    last = {}

    def wrapper(*args):
        # Pickled arguments compare floats and arrays bit for bit.
        key = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        if last.get("key") != key:
            last["result"] = fn(*args)
            last["key"] = key
        return copy.deepcopy(last["result"])

    return wrapper


def _compute_2d_python(solution_set, reference_point):
    """optuna._hypervolume._compute_2d with the same float operations in the same order,
    on Python floats instead of NumPy scalars, hence bit-identical and ~10x faster."""
    order = np.lexsort((-solution_set[:, 1], solution_set[:, 0]))
    ref_x, ref_y = float(reference_point[0]), float(reference_point[1])
    hv = 0.0
    for x, y in solution_set[order].tolist():
        if ref_y < y:
            continue
        hv += abs((ref_x - x) * (ref_y - y))
        ref_y = y
    reference_point[1] = ref_y  # the original moves its argument's y in place
    return hv


def speed_up_optuna_tpe():
    """Make multi-objective TPE much faster without changing any of its proposals.

    TPESampler(multivariate=False) samples each of the 6 parameters separately and,
    for each one, re-splits the same observations (nondomination ranks, then a greedy
    hypervolume subset selection, HSSP) and recomputes the same hypervolume-contribution
    weights; the 5 repeats per trial are answered from the first one. Within HSSP,
    thousands of tiny 2-D hypervolumes per trial dominate the rest, spent in NumPy
    per-scalar overhead; they are computed with Python floats instead. Patching module
    globals is enough because the callers look these names up at call time.
    """
    for name in ("_split_observation_pairs", "_calculate_weights_below_for_multi_objective"):
        setattr(optuna_tpe, name, _repeat_last_result(getattr(optuna_tpe, name)))
    optuna_wfg._compute_2d = _compute_2d_python


def make_sampler(name, seed, nsga2_population):
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=nsga2_population, seed=seed)
    # Independent TPE; on a multi-objective study Optuna 3.1 runs MOTPE.
    return optuna.samplers.TPESampler(seed=seed, multivariate=False)


def run(sampler_name, seed, table, ref, target_hv, args):
    """One search; return its result record (without the device/dataset fields)."""
    study = optuna.create_study(
        directions=["minimize"] * len(ref),
        sampler=make_sampler(sampler_name, seed, args.nsga2_population),
    )
    tracker = FrontTracker(ref)
    goal = 0.99 * target_hv
    evaluated = set()
    trials = 0
    evals_to_99 = None
    start = time.perf_counter()
    while len(evaluated) < args.max_evals and trials < args.max_trials:
        trial = study.ask()
        arch = arch_string([trial.suggest_categorical(f"e{i}", OPS) for i in range(N_EDGES)])
        trials += 1
        values = table[arch]
        if values is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, list(values))
        if arch in evaluated:
            continue
        evaluated.add(arch)
        if values is not None:
            tracker.add(values)
            if tracker.hv >= goal:
                evals_to_99 = len(evaluated)
                break
    return {
        "sampler": sampler_name,
        "seed": seed,
        "evals_to_99": evals_to_99,
        "trials": trials,
        "reached": evals_to_99 is not None,
        "evals": len(evaluated),
        "hv_ratio": tracker.hv / target_hv,
        "seconds": round(time.perf_counter() - start, 3),
    }


# Per-process run context, set once per worker so the table is not pickled per task.
_WORKER = {}


def _init_worker(table, ref, target_hv, args):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not args.stock_optuna:
        speed_up_optuna_tpe()
    _WORKER.update(table=table, ref=ref, target_hv=target_hv, args=args)


def _run_task(task):
    sampler_name, seed = task
    return run(sampler_name, seed, _WORKER["table"], _WORKER["ref"],
               _WORKER["target_hv"], _WORKER["args"])


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acc-csv", default=DEFAULT_ACC_CSV)
    parser.add_argument("--hw-csv", default=DEFAULT_HW_CSV)
    parser.add_argument("--dataset", choices=list(DATASET_COLUMNS), default="cifar10")
    parser.add_argument("--device", choices=DEVICES, default="edgegpu")
    parser.add_argument("--energy", action="store_true",
                        help="add the device's energy as a third objective")
    parser.add_argument("--ref", help='reference point "e,l[,en]"')
    parser.add_argument("--target-hv", type=float, help="exact front hypervolume")
    parser.add_argument("--compute-exact", action="store_true",
                        help="compute --ref and --target-hv from the data and print them")
    parser.add_argument("--samplers", default="nsga2,tpe")
    parser.add_argument("--nsga2-population", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=10, help="run N seeds from --first-seed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-evals", type=int, default=1000)
    parser.add_argument("--max-trials", type=int, default=5000)
    parser.add_argument("--stock-optuna", action="store_true",
                        help="run TPE without speed_up_optuna_tpe() "
                             "(same results, several times slower)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="run (sampler, seed) pairs in this many processes")
    args = parser.parse_args()

    if args.energy and args.device not in ENERGY_DEVICES:
        parser.error(f"--energy: {args.device} has no energy column "
                     f"(only {', '.join(ENERGY_DEVICES)})")
    if args.compute_exact:
        if args.ref is not None or args.target_hv is not None:
            parser.error("--compute-exact excludes --ref and --target-hv")
    else:
        if args.ref is None or args.target_hv is None:
            parser.error("give --ref and --target-hv, or --compute-exact")
        args.ref = tuple(float(v) for v in args.ref.split(","))
        if len(args.ref) != (3 if args.energy else 2):
            parser.error("--ref needs one value per objective")
        if args.target_hv <= 0:
            parser.error("--target-hv must be positive")
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be positive and --first-seed not negative")
    args.samplers = args.samplers.split(",")
    for name in args.samplers:
        if name not in ("nsga2", "tpe"):
            parser.error(f"unknown sampler {name!r} (nsga2, tpe)")
    return args


def main():
    args = parse_args()
    table = load_objectives(args.acc_csv, args.hw_csv, args.dataset, args.device, args.energy)
    context = {"device": args.device, "dataset": args.dataset, "energy": args.energy}

    if args.compute_exact:
        ref, target_hv, n_valid, front_size = exact_reference(table)
        print(json.dumps({**context, "ref": list(ref), "target_hv": target_hv,
                          "valid_archs": n_valid, "front_size": front_size}), flush=True)
    else:
        ref, target_hv = args.ref, args.target_hv

    def emit(results):
        for result in results:  # in task order, whatever order they finish in
            record = {"sampler": result.pop("sampler"), **context, **result}
            print(json.dumps(record), flush=True)
            print(f"{record['sampler']} seed {record['seed']}: {record['evals']} evals, "
                  f"{record['trials']} trials, {record['seconds']} s", file=sys.stderr)

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    tasks = [(name, seed) for name in args.samplers for seed in seeds]
    init_args = (table, ref, target_hv, args)
    if args.jobs > 1 and len(tasks) > 1:
        with multiprocessing.Pool(args.jobs, _init_worker, init_args) as pool:
            emit(pool.imap(_run_task, tasks))
    else:
        _init_worker(*init_args)
        emit(map(_run_task, tasks))


if __name__ == "__main__":
    main()
