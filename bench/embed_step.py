"""Embedding training throughput (pairs/s): `finetune_nb.embed.train_embedder` vs sentence-transformers'
`SentenceTransformerTrainer` with `MultipleNegativesRankingLoss`.

Same model (the packaged all-MiniLM-L6-v2), same (query, positive) pairs from the course's shell-command set, same
batch (32), in-batch negatives only, scale 20 (τ = 0.05), fp32 on CPU, the same number of steps. Each side runs in a
fresh process, alternating, 3 times; the best of each counts. Each side is timed from its rows to the trained model: `train_embedder` on one side; the data set, the
`SentenceTransformerTrainer` and `train()` on the other (tokenisation included on both). Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_step.py [--steps 30]
"""
import json, os, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _peers import compare

def child(mode, steps, out):
    os.environ['HF_HUB_OFFLINE'] = '1'
    import torch
    from finetune_nb.core import packaged_model
    from finetune_nb.embed import load_embedder, train_embedder, EmbedArgs
    from finetune_nb.data import shell_commands
    torch.set_num_threads(os.cpu_count())
    rows = shell_commands()['train']
    with tempfile.TemporaryDirectory() as d:
        if mode == 'ours':
            emb = load_embedder('minilm', device='cpu')
            t = time.perf_counter()
            res = train_embedder(emb, rows, args=EmbedArgs(output_dir=d, max_steps=steps, batch_size=32, lr=5e-5, logging_steps=steps))
            secs = time.perf_counter() - t
        else:
            from datasets import Dataset
            from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
            from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
            model = SentenceTransformer(str(packaged_model('minilm')), device='cpu')
            model.max_seq_length = 256
            t = time.perf_counter()       # from the rows, as `train_embedder` is timed: data set, trainer and training
            ds = Dataset.from_list([{'anchor': r['query'], 'positive': r['pos'][0]} for r in rows])
            args = SentenceTransformerTrainingArguments(output_dir=d, max_steps=steps, per_device_train_batch_size=32, learning_rate=5e-5,
                                                        warmup_ratio=0.1, weight_decay=0.01, use_cpu=True, report_to=[],
                                                        save_strategy='no', logging_steps=steps, seed=3407, disable_tqdm=True)
            tr = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model, scale=20.0))
            tr.train(); secs = time.perf_counter() - t
    json.dump({'seconds': secs, 'pairs': steps * 32}, open(out, 'w'))

def main(repeats=3):
    tp = {}
    for _ in range(repeats):      # alternating runs, best of each: a 2-core machine's noise is larger than the gap
        a, res = compare(__file__, ('ours', 'st'), child, default_steps=30)
        if res is None: return
        for m, r in res.items(): tp[m] = max(tp.get(m, 0), r['pairs'] / r['seconds'])
    print(f"best of {repeats} alternating runs each")
    print(f"all-MiniLM-L6-v2, batch 32, in-batch negatives, {a.steps} steps, CPU ({os.cpu_count()} cores)")
    print(f"throughput: ours {tp['ours']:.1f} pairs/s, SentenceTransformerTrainer+MNRL {tp['st']:.1f} pairs/s, ratio ours/ST {tp['ours']/tp['st']:.3f}")

if __name__ == '__main__': main()
