"Shared by the benchmarks: run each side of a comparison in a fresh process (so peak memory is its own) and collect its JSON."
import argparse, json, subprocess, sys, tempfile

def compare(script, modes, child, default_steps, default_reps=1):
    "Parse `--steps`, `--reps`; as a child run `child(mode, steps, out)`; as the parent run the modes in turn, `reps` times, and return (args, {mode: result})."
    p = argparse.ArgumentParser(); p.add_argument('--steps', type=int, default=default_steps); p.add_argument('--reps', type=int, default=default_reps)
    p.add_argument('--child'); p.add_argument('--out')
    a = p.parse_args()
    if a.child: child(a.child, a.steps, a.out); return a, None
    res = {m: [] for m in modes}
    for _ in range(a.reps):            # the sides alternate: a shared machine's slow spell falls on both
        for mode in modes:
            with tempfile.NamedTemporaryFile(suffix='.json') as f:
                subprocess.run([sys.executable, script, '--child', mode, '--steps', str(a.steps), '--out', f.name], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                res[mode].append(json.load(open(f.name)))
    return a, {m: r[0] if a.reps == 1 else r for m, r in res.items()}
