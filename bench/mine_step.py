"""Hard-negative mining against the peer: `finetune_nb.mining.mine_hard_negatives` vs sentence-transformers'
`util.mine_hard_negatives`, same model (the packaged all-MiniLM-L6-v2, CPU), same data, same range and count.
Corpus: the course's 123 shell passages plus 5,000 numbered variants of them (no two equal); queries: the 196
training queries. Both mine 15 negatives from ranks 10-60 of the ranking without positives (sentence-transformers'
meaning of a range, our range_mode='filtered'), taking the top of the window (sampling 'top'), so the two candidate
sets can be compared exactly. Reported: wall time of each (encode + search + selection), their ratio, and the overlap
(mean Jaccard per query) of the mined negatives and of the eligible candidate windows. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/mine_step.py
"""
import os, time
import numpy as np

def main():
    os.environ['HF_HUB_OFFLINE'] = '1'
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives as st_mine
    from finetune_nb.core import packaged_model
    from finetune_nb.embed import load_embedder
    from finetune_nb.data import shell_commands
    from finetune_nb.mining import mine_hard_negatives
    torch.set_num_threads(os.cpu_count())
    shell = shell_commands()
    texts = list(shell['corpus'].values())
    corpus = {**shell['corpus'], **{f'd{i}': f'{texts[i % len(texts)]} Note {i}: see also section {i // len(texts)}.' for i in range(5000)}}
    rows = shell['train']
    lo, hi, n = 10, 60, 15
    emb = load_embedder('minilm', device='cpu'); st = SentenceTransformer(str(packaged_model('minilm')), device='cpu')
    emb.encode_passages(texts[:64]); st.encode(texts[:64])                      # warm up both
    t = time.perf_counter()
    ds = st_mine(Dataset.from_dict({'query': [r['query'] for r in rows], 'pos': [r['pos'][0] for r in rows]}), st, corpus=list(corpus.values()),
                 range_min=lo, range_max=hi, num_negatives=n, sampling_strategy='top', output_format='n-tuple', batch_size=64, verbose=False)
    t_st = time.perf_counter() - t
    t = time.perf_counter()
    mined, rep = mine_hard_negatives(emb, rows, corpus, (lo, hi), n, range_mode='filtered', sampling='top')
    t_ours = time.perf_counter() - t
    theirs = {r['query']: {r[f'negative_{k}'] for k in range(1, n + 1)} for r in ds}
    ours = {r['query']: set(r['neg']) for r in mined}
    common = [q for q in ours if q in theirs]
    jac = [len(ours[q] & theirs[q]) / len(ours[q] | theirs[q]) for q in common]
    print(f'mining {len(rows)} queries against {len(corpus):,} documents, ranks {lo}-{hi} without positives, {n} negatives, MiniLM, CPU ({os.cpu_count()} cores)')
    print(f'sentence-transformers {t_st:.1f} s, finetune_nb {t_ours:.1f} s, time ratio ours/theirs {t_ours / t_st:.3f}')
    print(f'queries both mined: {len(common)} of {len(rows)}; mined negatives identical for {sum(j == 1 for j in jac)}; mean Jaccard {np.mean(jac):.4f}')
    raw = mine_hard_negatives(emb, rows, corpus, (lo, hi), n, sampling='top')[1]
    print(f"for reference, FlagEmbedding's raw range {lo}-{hi}: {raw.negatives:,} negatives, mean rank {np.mean([k for ks in raw.neg_ranks for k in ks]):.1f} "
          f"(filtered: mean raw rank {np.mean([k for ks in rep.neg_ranks for k in ks]):.1f})")

if __name__ == '__main__': main()
