"""Assistant-only masking at scale: `mask_dataset` vs transformers' batched `apply_chat_template(..., return_assistant_tokens_mask=True)`,
then 100k FineTome-like chats on every core, with peak RSS and a cached re-run.

The chats are generated here (no download): 30% with a system prompt, 1-4 exchanges, questions of 10-150 words and
answers of 1-5 paragraphs, from a vocabulary of made-up words so byte-level BPE splits them as it splits real text.
The tokenizer is the packaged SmolLM2's, with our `qwen3` template (byte-identical to Qwen3's official one); the
transformers side uses TRL's `qwen3_training.jinja`, the official template with `{% generation %}` tags.
The ratio alternates the sides five times and reports the best and the median (timings on a shared 2-core machine
wander by ±20%); both sides get the same rows in `messages` format. The 100k run is a fresh process, so its peak RSS is its own.
`--cold` measures the default call instead, caching on: each of our 3 runs (alternating with transformers') masks into a
fresh, empty `FINETUNE_NB_CACHE` and writes the Arrow cache there; `--short` makes the chats short (2-4 exchanges of
one-sentence questions and 1-3-sentence answers). Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/mask_scale.py [--ratio-rows 5000] [--rows 100000]
    HF_HUB_OFFLINE=1 .venv/bin/python bench/mask_scale.py --cold [--short] [--ratio-rows 3000]
"""
import argparse, json, os, random, resource, subprocess, sys, tempfile, time

def finetome_like(n, seed=0):
    "`n` FineTome-like ShareGPT chats, made up here (see `finetune_nb.data.synthetic_chats`)."
    from finetune_nb.data import synthetic_chats
    return synthetic_chats(n, seed)

def short_chats(n, seed=0):
    "`n` short multi-turn chats in `messages` format: 30% with a system prompt, 2-4 exchanges, answers of 1-3 sentences."
    rng = random.Random(seed)
    syl = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'ze', 'pa', 'qu', 'ish', 'ent', 'ion', 'al', 'er', 'th', 'or', 'an', 'st']
    words = sorted({''.join(rng.choice(syl) for _ in range(rng.randint(1, 4))) for _ in range(2000)}) + 'the of and to in is that for it'.split() * 40
    def sent(): return ' '.join(rng.choice(words) for _ in range(rng.randint(4, 14))).capitalize() + rng.choice('.?!')
    rows = []
    for _ in range(n):
        conv = [{'role': 'system', 'content': sent()}] if rng.random() < 0.3 else []
        for _ in range(rng.randint(2, 4)): conv += [{'role': 'user', 'content': sent()}, {'role': 'assistant', 'content': ' '.join(sent() for _ in range(rng.randint(1, 3)))}]
        rows.append({'messages': conv})
    return rows

def peak_gb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

def child(mode, rows, out, reps=5, short=False):
    os.environ['HF_HUB_OFFLINE'] = '1'
    from finetune_nb.chat import load_chat_tokenizer, apply_template, standardize_chats
    from finetune_nb.masking import mask_dataset
    import datasets   # imported up front on both sides: a one-off cost, not masking time
    tok = apply_template(load_chat_tokenizer(), 'qwen3')
    data = short_chats(rows) if short else finetome_like(rows)
    res = {'rows': rows}
    if mode == 'cold':                   # the default call, caching on: a fresh, empty cache dir for each of our runs
        import copy, shutil, statistics, trl
        ref = copy.deepcopy(tok); ref.chat_template = open(os.path.join(os.path.dirname(trl.__file__), 'chat_templates', 'qwen3_training.jinja')).read()
        data = standardize_chats(data)
        convs = [r['messages'] for r in data]
        def theirs():
            r = [ref.apply_chat_template(convs[i:i + 1000], tokenize=True, return_dict=True, return_assistant_tokens_mask=True) for i in range(0, len(convs), 1000)]
            return sum(len(x) for b in r for x in b['input_ids']), sum(sum(x) for b in r for x in b['assistant_masks'])
        def ours():
            os.environ['FINETUNE_NB_CACHE'] = d = tempfile.mkdtemp()
            try:
                t = time.perf_counter(); ds, rep = mask_dataset(tok, data); s = time.perf_counter() - t
                assert not rep.cached and any(f.endswith('.arrow') for f in os.listdir(d))
            finally: shutil.rmtree(d)
            return s, (rep.tokens, rep.trained_tokens)
        times = {'ours': [], 'transformers': []}
        for _ in range(3):
            t = time.perf_counter(); res['theirs_tokens'], res['theirs_trained'] = theirs(); times['transformers'].append(time.perf_counter() - t)
            s, (res['tokens'], res['trained']) = ours(); times['ours'].append(s)
        res.update({k: min(v) for k, v in times.items()}, median={k: statistics.median(v) for k, v in times.items()}, runs=times)
    elif mode == 'ratio':                # the sides alternate, 5 times each: timings on this machine wander by +-20%
        import copy, statistics, trl
        ref = copy.deepcopy(tok); ref.chat_template = open(os.path.join(os.path.dirname(trl.__file__), 'chat_templates', 'qwen3_training.jinja')).read()
        data = standardize_chats(data)                  # both sides get the same rows, in `messages` format
        convs = [r['messages'] for r in data]
        def theirs():
            tokens = trained = 0
            for i in range(0, len(convs), 1000):
                r = ref.apply_chat_template(convs[i:i + 1000], tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
                tokens += sum(map(len, r['input_ids'])); trained += sum(map(sum, r['assistant_masks']))
            return tokens, trained
        times = {'ours_1proc': [], 'ours_default': [], 'transformers': []}
        for _ in range(reps):
            for name, f in (('ours_1proc', lambda: mask_dataset(tok, data, cache_dir=False, num_proc=1, verbose=False)[1]),
                            ('transformers', theirs), ('ours_default', lambda: mask_dataset(tok, data, cache_dir=False, num_proc=2, verbose=False)[1])):
                t = time.perf_counter(); r = f(); times[name].append(time.perf_counter() - t)
                if name == 'transformers': res['theirs_tokens'], res['theirs_trained'] = r
                else: res['tokens'], res['trained'] = r.tokens, r.trained_tokens
        res.update({k: min(v) for k, v in times.items()}, median={k: statistics.median(v) for k, v in times.items()}, runs=times)
    elif mode == 'scale':
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter(); ds, rep = mask_dataset(tok, data, cache_dir=d); res['seconds'] = time.perf_counter() - t
            res.update(tokens=rep.tokens, trained=rep.trained_tokens, report=str(rep), peak_gb=peak_gb())
            t = time.perf_counter(); _, rep2 = mask_dataset(tok, data, cache_dir=d, verbose=False); res['cached_seconds'] = time.perf_counter() - t
            assert rep2.cached and rep2.tokens == rep.tokens
    json.dump(res, open(out, 'w'))

def run(mode, rows, short=False):
    with tempfile.NamedTemporaryFile(suffix='.json') as f:
        subprocess.run([sys.executable, __file__, '--child', mode, '--rows', str(rows), '--out', f.name] + ['--short'] * short, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # the child's own report lines and progress bars
        return json.load(open(f.name))

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--ratio-rows', type=int); p.add_argument('--rows', type=int, default=100_000)
    p.add_argument('--cold', action='store_true'); p.add_argument('--short', action='store_true'); p.add_argument('--child'); p.add_argument('--out')
    a = p.parse_args()
    if a.child: child(a.child, a.rows, a.out, short=a.short); sys.exit()
    if a.cold:
        n = a.ratio_rows or 3000; r = run('cold', n, a.short); md = r['median']
        print(f'# Cold cache: {n:,} {"short" if a.short else "FineTome-like"} chats on {os.cpu_count()} cores; best (and median) of 3 alternating runs, '
              'a fresh FINETUNE_NB_CACHE for each of ours')
        print(f'transformers return_assistant_tokens_mask (qwen3_training)  {r["transformers"]:6.2f} s ({md["transformers"]:.2f})  {r["theirs_tokens"]:,} tokens, {r["theirs_trained"]:,} trained')
        print(f'finetune_nb mask_dataset(tok, rows), defaults, cache written {r["ours"]:6.2f} s ({md["ours"]:.2f})  {r["tokens"]:,} tokens, {r["trained"]:,} trained')
        print(f'ratio ours / transformers: best {r["ours"] / r["transformers"]:.3f}, median {md["ours"] / md["transformers"]:.3f}  (goal < 1.0)')
        sys.exit()
    a.ratio_rows = a.ratio_rows or 5000
    r = run('ratio', a.ratio_rows)
    print(f'# Masking {a.ratio_rows:,} FineTome-like chats on {os.cpu_count()} cores; best (and median) of 5 alternating runs')
    md = r['median']
    print(f'transformers return_assistant_tokens_mask (qwen3_training)  {r["transformers"]:6.2f} s ({md["transformers"]:.2f})  {r["theirs_tokens"]:,} tokens, {r["theirs_trained"]:,} trained')
    print(f'finetune_nb mask_dataset, one process (official qwen3)      {r["ours_1proc"]:6.2f} s ({md["ours_1proc"]:.2f})  {r["tokens"]:,} tokens, {r["trained"]:,} trained')
    print(f'finetune_nb mask_dataset, two worker processes (num_proc=2)  {r["ours_default"]:6.2f} s ({md["ours_default"]:.2f})')
    print(f'ratio ours / transformers, one process (the default here): best {r["ours_1proc"] / r["transformers"]:.3f}, median {md["ours_1proc"] / md["transformers"]:.3f}; '
          f'two processes: best {r["ours_default"] / r["transformers"]:.3f}, median {md["ours_default"] / md["transformers"]:.3f}  (goal <= 1.0)')
    if a.rows:
        s = run('scale', a.rows)
        print(f'\n# {a.rows:,} chats, mask_dataset defaults on {os.cpu_count()} cores, Arrow cache on disk')
        print(s['report'])
        print(f'masked in {s["seconds"]:.1f} s ({a.rows / s["seconds"]:,.0f} chats/s, goal <= 120 s); re-run from the cache {s["cached_seconds"]:.1f} s; '
              f'peak RSS of the main process {s["peak_gb"]:.2f} GB')
