"""Knowledge distillation into a shallower MiniLM on BEIR SciFact: does InfoNCE + KD beat InfoNCE alone for a student
with half the layers? The student is `shallow_student(minilm, 3)` (layers 0, 2 and 5 of the packaged all-MiniLM-L6-v2);
the teacher is 08a_teachers' fused scorer, 0.5 x MiniLM + 0.5 x BM25, each standardised over the row's passages (0.708
nDCG@10 as a reranker of the base model's top 100, against the base model's 0.645). Rows are mined as in 08a (ranks 10-100
of the base model, 15 negatives). Two students see the same rows, groups and order (same seed), one epoch, lr 5e-5,
dropout off, and differ only in the loss. Printed: nDCG@10 and recall of the base model, the untrained student and both
trained students; the paired bootstrap CI of KD's difference over the 300 test claims; the students' encoding speed
against the 6-layer model's (passages/s, the ratio) on the same 500 abstracts. Run:

    .venv/bin/python bench/kd_student.py [--group 4] [--batch 32] [--layers 3] [--cache runs/bench-kd/cache]

Measured on 2 CPU cores (2026-11-25): groups of 4, batch 32: InfoNCE 0.6263, InfoNCE + KD 0.6302, +0.0039 (95% CI
-0.0012 to +0.0097); groups of 8, batch 16: InfoNCE 0.6513, InfoNCE + KD 0.6477, -0.0036 (95% CI -0.0148 to +0.0073).
Both within noise; see 08a_teachers for what that says.
"""
import argparse, os, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='scifact', help="a BEIR folder, or 'scifact' (downloaded once into the cache)")
    p.add_argument('--group', type=int, default=4); p.add_argument('--batch', type=int, default=32)
    p.add_argument('--layers', type=int, default=3); p.add_argument('--epochs', type=float, default=1)
    p.add_argument('--out', default='runs/bench-kd'); p.add_argument('--cache', default=None, help='corpus vectors (default OUT/cache)')
    a = p.parse_args(); out = Path(a.out); cache = Path(a.cache or out/'cache')
    from finetune_nb.formats import load_beir, rows_from_qrels
    from finetune_nb.search import search
    from finetune_nb.metrics import evaluate_run, to_markdown, compare_runs
    from finetune_nb.embed import load_embedder, train_embedder, EmbedArgs
    from finetune_nb.mining import mine_hard_negatives
    from finetune_nb.teachers import fused_scorer, dense_scorer, bm25_scorer, add_teacher_scores, shallow_student
    t0 = time.time()
    tr, te = load_beir(a.data, 'train'), load_beir(a.data, 'test')
    base = load_embedder('minilm', device='cpu')
    runs = {'MiniLM base (6 layers)': search(base, te, 100, cache_dir=cache)}
    rows, _ = mine_hard_negatives(base, rows_from_qrels(tr), tr, range_for_sampling=(10, 100), negative_number=15, cache_dir=cache)
    scored = add_teacher_scores(rows, fused_scorer([(dense_scorer(base, tr, cache_dir=cache), 0.5), (bm25_scorer(tr), 0.5)]))
    runs[f'student base ({a.layers} layers)'] = search(shallow_student(base, a.layers), te, 100)
    secs = {}
    for name, kd in (('InfoNCE', False), ('InfoNCE + KD', True)):
        st = shallow_student(base, a.layers)
        r = train_embedder(st, scored, args=EmbedArgs(output_dir=str(out/f'student-{int(kd)}'), epochs=a.epochs, batch_size=a.batch,
                                                      train_group_size=a.group, lr=5e-5, dropout=0.0, knowledge_distillation=kd))
        secs[name] = r.runtime_s
        runs[f'student + {name}'] = search(st, te, 100)
    sample = [te.doc_text(d) for d in list(te.corpus)[:500]]
    speed = {}
    for k, e in (('teacher', base), ('student', st)):
        t = time.time(); e.encode_passages(sample, progress=False); speed[k] = len(sample) / (time.time() - t)
    print(to_markdown({k: evaluate_run(r, te.qrels) for k, r in runs.items()}))
    print('InfoNCE -> InfoNCE + KD:', compare_runs(runs['student + InfoNCE'], runs['student + InfoNCE + KD'], te.qrels, data=te))
    print(f"encoding: 6 layers {speed['teacher']:.0f} passages/s, {a.layers} layers {speed['student']:.0f} passages/s: "
          f"{speed['student'] / speed['teacher']:.2f}x the 6-layer model's speed")
    print(f'training: ' + ', '.join(f'{k} {v / 60:.1f} min' for k, v in secs.items()) + f'; whole run {(time.time() - t0) / 60:.1f} min on {os.cpu_count()} CPU cores')

if __name__ == '__main__': main()
