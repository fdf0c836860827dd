"""Hard-negative mining throughput: `finetune_nb.mining.mine_hard_negatives` vs its floor, encoding the corpus and the
queries and one faiss search, done directly. all-MiniLM-L6-v2 on CPU, a 5,000-document corpus built from the course's
shell-command set (each passage with a numbered note, so no two are equal), the 196 training queries, ranks 2-200,
15 negatives. Both run in this one process, the floor first. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/mine_step.py
"""
import os, time
import numpy as np

def main():
    os.environ['HF_HUB_OFFLINE'] = '1'
    import torch
    from finetune_nb.embed import shell_commands, load_embedder
    from finetune_nb.mining import mine_hard_negatives
    from finetune_nb.retrieval import faiss_topk
    torch.set_num_threads(os.cpu_count())
    shell = shell_commands()
    texts = list(shell['corpus'].values())
    corpus = {f'd{i}': f'{texts[i % len(texts)]} Note {i}: see also section {i // len(texts)}.' for i in range(5000)}
    rows = shell['train']
    emb = load_embedder('minilm', device='cpu')
    emb.encode_passages(texts[:64])  # warm up
    t = time.perf_counter()
    P = emb.encode_passages(list(corpus.values())).numpy(); Q = emb.encode_queries([r['query'] for r in rows]).numpy()
    faiss_topk(Q, P, 201)
    floor = time.perf_counter() - t
    t = time.perf_counter()
    mined, rep = mine_hard_negatives(emb, rows, corpus=corpus, range_for_sampling=(2, 200), negative_number=15)
    ours = time.perf_counter() - t
    print(f'mining {len(rows)} queries against {len(corpus):,} documents, MiniLM, CPU ({os.cpu_count()} cores)')
    print(f'floor (encode + one faiss search) {floor:.1f} s, mine_hard_negatives {ours:.1f} s, overhead ratio {ours/floor:.3f}')

if __name__ == '__main__': main()
