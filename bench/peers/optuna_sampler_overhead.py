#!/usr/bin/python3
"""Peer benchmark: Optuna NSGAIISampler ask+tell throughput on 40 categorical knobs.

Mirrors the hwnas sampler-overhead benchmark: a cheap synthetic two-objective
problem, so that the measured time is almost entirely sampler + storage overhead.

Space: knob k{i} (i = 0..39) takes an integer in 0..c_i-1 with c_i = 2 + i % 7.
With x_i = choice_i / (c_i - 1), both objectives are minimised:
    f1 = sum_i (1 + i % 5) * x_i
    f2 = sum_i (1 + i % 3) * (1 - x_i) + 0.5 * sum_i x_i * x_{(i+1) % 40}

Runs the ask/tell loop once with in-memory storage and once with SQLite storage
(a fresh file in a temporary directory, removed afterwards). A mode whose trial
count is 0 is skipped and reported as null.

Prints exactly one JSON object on stdout, e.g.
    {"optuna_version": "3.1.0", "seed": 0,
     "memory": {"trials": 2000, "seconds": 5.1, "trials_per_s": 392.1, "best_f1_plus_f2": 30.2},
     "sqlite": {...}, "best_f1_plus_f2": 30.2}
where the top-level best_f1_plus_f2 is the minimum of f1 + f2 over all completed
trials of both modes.
"""

import argparse
import json
import os
import shutil
import tempfile
import time

import optuna

N_KNOBS = 40
N_CHOICES = [2 + i % 7 for i in range(N_KNOBS)]


def objectives(choices):
    """Return (f1, f2) for a list of 40 integer choices."""
    x = [c / (n - 1) for c, n in zip(choices, N_CHOICES)]
    f1 = sum((1 + i % 5) * x[i] for i in range(N_KNOBS))
    f2 = sum((1 + i % 3) * (1 - x[i]) for i in range(N_KNOBS))
    f2 += 0.5 * sum(x[i] * x[(i + 1) % N_KNOBS] for i in range(N_KNOBS))
    return f1, f2


def run(storage, n_trials, seed):
    """Run n_trials ask/tell iterations; return (seconds, best f1 + f2)."""
    sampler = optuna.samplers.NSGAIISampler(population_size=50, seed=seed)
    study = optuna.create_study(
        storage=storage, sampler=sampler, directions=["minimize", "minimize"]
    )
    best = float("inf")
    start = time.perf_counter()
    for _ in range(n_trials):
        trial = study.ask()
        choices = [
            trial.suggest_categorical(f"k{i}", list(range(n)))
            for i, n in enumerate(N_CHOICES)
        ]
        f1, f2 = objectives(choices)
        study.tell(trial, [f1, f2])
        best = min(best, f1 + f2)
    seconds = time.perf_counter() - start
    return seconds, best


def report(n_trials, seconds, best):
    return {
        "trials": n_trials,
        "seconds": round(seconds, 3),
        "trials_per_s": round(n_trials / seconds, 1),
        "best_f1_plus_f2": best,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-memory", type=int, default=2000)
    parser.add_argument("--trials-sqlite", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = {"optuna_version": optuna.__version__, "seed": args.seed,
              "memory": None, "sqlite": None}
    bests = []

    if args.trials_memory > 0:
        seconds, best = run(None, args.trials_memory, args.seed)
        result["memory"] = report(args.trials_memory, seconds, best)
        bests.append(best)

    if args.trials_sqlite > 0:
        tmpdir = tempfile.mkdtemp(prefix="optuna_overhead_")
        try:
            storage = optuna.storages.RDBStorage(
                url=f"sqlite:///{os.path.join(tmpdir, 'study.db')}"
            )
            seconds, best = run(storage, args.trials_sqlite, args.seed)
            # Release the SQLAlchemy engine before the file is deleted.
            storage.remove_session()
            storage.engine.dispose()
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        result["sqlite"] = report(args.trials_sqlite, seconds, best)
        bests.append(best)

    result["best_f1_plus_f2"] = min(bests) if bests else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
