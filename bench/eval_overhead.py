"""Evaluation overhead: `finetune_nb.metrics.evaluate_run` (nDCG, recall, MAP and MRR at 1, 3, 5, 10, 100) vs one
direct pytrec_eval call with the same measures (and `recip_rank`, uncut), on a random run of 2,000 queries x 100
documents with graded qrels. Median of 5 repeats each. Run:

    .venv/bin/python bench/eval_overhead.py
"""
import random, time
import numpy as np

def main():
    import pytrec_eval
    from finetune_nb.metrics import evaluate_run
    rng = random.Random(0)
    run = {f'q{i}': {f'd{j}': rng.random() for j in rng.sample(range(5000), 100)} for i in range(2000)}
    qrels = {q: {f'd{j}': rng.randint(0, 2) for j in rng.sample(range(5000), 3) + rng.sample(list(int(d[1:]) for d in docs)[:20], 2)} for q, docs in run.items()}
    ks = '1,3,5,10,100'
    def direct():
        r = pytrec_eval.RelevanceEvaluator(qrels, {f'ndcg_cut.{ks}', f'recall.{ks}', f'map_cut.{ks}', 'recip_rank'}).evaluate(run)
        return {m: np.mean([v[m] for v in r.values()]) for m in next(iter(r.values()))}
    def timed(f):
        ts = []
        for _ in range(5):
            t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
        return sorted(ts)[2]
    d, o = timed(direct), timed(lambda: evaluate_run(run, qrels))
    print(f'2,000 queries x 100 documents: pytrec_eval directly {d:.3f} s, evaluate_run {o:.3f} s, ratio {o/d:.3f}')

if __name__ == '__main__': main()
