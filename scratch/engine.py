# draft of the Trainer-based embedding engine (moved into nbs/06_embed.ipynb when it works)
import math, random, json, time
from dataclasses import dataclass, InitVar
from pathlib import Path
import torch
from torch import nn
from transformers import Trainer, TrainingArguments, TrainerCallback

from finetune_nb.core import DataError, atomic_open
from finetune_nb.embed import (Embedder, Temperature, info_nce_loss, kd_loss, group_scores, m3_kd_loss, KD_LOSS_TYPES, TAU_RANGE,
                               _is_int, _is_real, _positives_by_query, check_embed_rows, _set_dropout, EmbedResult)


def cpu_bf16()->bool:
    "True on a CPU with bf16 matrix instructions (AVX512-BF16 or AMX). Without them bf16 autocast is emulated, and slower than fp32."
    try: flags = set(next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split())
    except (OSError, StopIteration): return False
    return bool(flags & {'avx512_bf16', 'amx_bf16'})


@dataclass
class EmbedArgs(TrainingArguments):
    "🤗 `TrainingArguments` for an embedder, with the contrastive settings (FlagEmbedding's and Tevatron's names) and the course's defaults."
    output_dir: str = 'runs/embed'
    per_device_train_batch_size: int = 32   # queries per process and step
    num_train_epochs: float = 1.0
    learning_rate: float = 2e-5
    warmup_steps: float = 0.1               # a fraction of the steps (< 1), or a number of steps
    weight_decay: float = 0.01
    logging_steps: float = 5
    save_strategy: str = 'no'               # 'steps' when save_steps is given
    save_steps: float | None = None         # a checkpoint every n steps (for `resume`)
    save_total_limit: int | None = 2
    seed: int = 3407
    bf16: bool | None = None                # None: bf16 autocast on a GPU that has it, and on an x86 CPU (`cpu_bf16`)
    remove_unused_columns: bool = False
    disable_tqdm: bool | None = True        # one bar of our own (`LossBar`)
    train_group_size: int = 1               # passages per query: 1 positive + (n - 1) negatives
    learn_temperature: bool = False
    temperature_lr: float = 1e-2            # τ's own learning rate (Adam moves log τ by about this much a step)
    dropout: float | None = None            # set every dropout of the encoder to this; 0 turns them off (about 1.7x faster on CPU)
    negatives_cross_device: bool = False    # several processes: score each query against the passages of all of them (FlagEmbedding, Tevatron)
    mini_batch_size: int | None = None      # GradCache: embed the batch in chunks of this many texts; memory of a chunk, loss of the batch
    knowledge_distillation: bool = False    # rows carry `pos_scores` / `neg_scores`; learn from them too (FlagEmbedding), see `kd_loss_type`
    kd_temperature: float = 1.0             # T: the teacher's distribution over a group is softmax(scores / T)
    kd_weight: float = 1.0                  # the KD term's weight
    kd_infonce: bool | None = None          # add InfoNCE to the KD term; None: yes for 'kl', no for 'm3' (FlagEmbedding's two modes)
    kd_loss_type: str = 'kl'                # 'kl': `kd_loss` over each group; 'm3': BGE-M3's `m3_kd_loss` over the whole batch
    # the course's earlier names, still accepted (and readable as properties)
    batch_size: InitVar[int | None] = None     # per_device_train_batch_size
    epochs: InitVar[float | None] = None       # num_train_epochs
    lr: InitVar[float | None] = None           # learning_rate
    warmup_ratio: InitVar[float | None] = None # warmup_steps, as a fraction
    def __post_init__(self, batch_size, epochs, lr, warmup_ratio):
        for old, new in (('batch_size', 'per_device_train_batch_size'), ('epochs', 'num_train_epochs'), ('lr', 'learning_rate'), ('warmup_ratio', 'warmup_steps')):
            v = locals()[old]
            if v is not None and not isinstance(v, property): setattr(self, new, v)
        _check_embed_args(self)
        if self.save_steps is not None and self.save_strategy == 'no': self.save_strategy = 'steps'
        if self.bf16 is None: self.bf16 = (torch.cuda.is_bf16_supported() if torch.cuda.is_available() else cpu_bf16())
        if not torch.cuda.is_available(): self.use_cpu = True
        super().__post_init__()

for _old, _new in (('batch_size', 'per_device_train_batch_size'), ('epochs', 'num_train_epochs'), ('lr', 'learning_rate')):
    setattr(EmbedArgs, _old, property(lambda self, n=_new: getattr(self, n), doc=f'`{_new}` (the course\'s earlier name)'))
EmbedArgs.warmup_ratio = property(lambda self: self.warmup_steps if self.warmup_steps < 1 else None, doc='`warmup_steps` when it is a fraction')


def _check_embed_args(a):
    "The contrastive settings, and the shared ones in the form the course uses them; the first bad one raises `ValueError`."
    names = {'per_device_train_batch_size': 'batch_size', 'num_train_epochs': 'epochs', 'learning_rate': 'lr', 'warmup_steps': 'warmup_ratio'}
    nm = lambda k: f'{k} ({names[k]})' if k in names else k
    if not isinstance(a.output_dir, (str, Path)): raise ValueError(f'output_dir must be a path, got {a.output_dir!r}')
    for k in ('per_device_train_batch_size', 'train_group_size', 'logging_steps'):
        if not _is_int(getattr(a, k)) or getattr(a, k) < 1: raise ValueError(f'{nm(k)} must be a whole number >= 1, got {getattr(a, k)!r}')
    for k in ('eval_steps', 'save_steps', 'mini_batch_size'):
        v = getattr(a, k)
        if v is not None and (not _is_int(v) or v < 1): raise ValueError(f'{k} must be None or a whole number >= 1, got {v!r}')
    if not _is_int(a.max_steps): raise ValueError(f'max_steps must be a whole number (> 0, or -1 for `epochs`), got {a.max_steps!r}')
    if not _is_int(a.seed) or not 0 <= a.seed < 2**32: raise ValueError(f'seed must be a whole number in [0, 2**32 - 1], got {a.seed!r}')
    for k in ('learn_temperature', 'gradient_checkpointing', 'negatives_cross_device', 'knowledge_distillation', 'bf16', 'kd_infonce'):
        v = getattr(a, k)
        if not isinstance(v, bool) and not (v is None and k in ('bf16', 'kd_infonce', 'gradient_checkpointing')): raise ValueError(f'{k} must be True or False, got {v!r}')
    for k in ('learning_rate', 'temperature_lr', 'kd_temperature', 'kd_weight'):
        if not _is_real(getattr(a, k)) or not getattr(a, k) > 0: raise ValueError(f'{nm(k)} must be a finite number > 0, got {getattr(a, k)!r}')
    if not _is_real(a.num_train_epochs) or (a.max_steps <= 0 and not a.num_train_epochs > 0):
        raise ValueError(f'{nm("num_train_epochs")} must be a finite number > 0 (or max_steps > 0), got {a.num_train_epochs!r}')
    if not _is_real(a.warmup_steps) or a.warmup_steps < 0 or (a.warmup_steps >= 1 and not _is_int(a.warmup_steps)):
        raise ValueError(f'{nm("warmup_steps")} must be a fraction in [0, 1) or a whole number of steps, got {a.warmup_steps!r}')
    if not _is_real(a.weight_decay) or a.weight_decay < 0: raise ValueError(f'weight_decay must be a finite number >= 0, got {a.weight_decay!r}')
    if a.dropout is not None and (not _is_real(a.dropout) or not 0 <= a.dropout < 1): raise ValueError(f'dropout must be in [0, 1), got {a.dropout!r}')
    if a.kd_loss_type not in KD_LOSS_TYPES: raise ValueError(f"kd_loss_type must be 'kl' or 'm3', got {a.kd_loss_type!r}")
    if not a.knowledge_distillation and (a.kd_infonce is False or a.kd_loss_type != 'kl'):
        what = 'kd_infonce=False (--kd-only)' if a.kd_infonce is False else f'kd_loss_type={a.kd_loss_type!r}'
        raise ValueError(f'{what} needs knowledge_distillation=True (rows with teacher scores); without it the loss is InfoNCE alone')


# ---------------------------------------------------------------- data
class GroupDataset(torch.utils.data.Dataset):
    "One item per training row: its query and a group of G passages (a positive, then G - 1 negatives), drawn afresh each epoch."
    def __init__(self,
                 rows,              # checked rows (`check_embed_rows`): {query, pos: [...], neg: [...]}
                 group_size=1,      # G
                 seed=0,            # with the epoch and the row, decides every draw: the same groups on any number of processes
                 kd=False,          # keep each passage's teacher score (rows need `pos_scores` / `neg_scores`)
                 say=print):
        self.rows, self.G, self.seed, self.kd, self.epoch = rows, group_size, seed, kd, 0
        self.texts = sorted({t for r in rows for t in r['pos'] + r.get('neg', [])})
        pid = {t: i for i, t in enumerate(self.texts)}
        self.qid = {q: i for i, q in enumerate(dict.fromkeys(r['query'] for r in rows))}
        self.pos_of = {q: sorted(pid[t] for t in ts) for q, ts in _positives_by_query(rows).items()}   # every positive of a query
        pos = {q: set(v) for q, v in self.pos_of.items()}
        self.pos = [[pid[t] for t in r['pos']] for r in rows]
        self.negs = [[pid[t] for t in dict.fromkeys(r.get('neg', [])) if pid[t] not in pos[r['query']]] for r in rows]   # distinct, in order
        repeats = sum(len(r.get('neg', [])) - len(set(r.get('neg', []))) for r in rows)
        dropped = sum(len(r.get('neg', [])) for r in rows) - sum(map(len, self.negs)) - repeats
        if dropped: say(f'{dropped} negatives were dropped: they are positives of the same query (in this row or another row of that query)')
        if repeats: say(f'{repeats} negatives were dropped: repeats of a negative listed earlier in the same row')
        short = sum(len(n) < group_size - 1 for n in self.negs)
        if short: say(f'{short} of {len(rows)} rows have fewer than train_group_size - 1 = {group_size - 1} negatives of their own: their groups are '
                      f'filled with passages drawn at random from the data (distinct within a group, never a positive of the query)')
        if kd: self.scores = [dict(zip(map(pid.get, r['pos'] + r['neg']), map(float, r['pos_scores'] + r['neg_scores']))) for r in rows]
    def set_epoch(self, epoch): self.epoch = epoch
    def __len__(self): return len(self.rows)
    def __getitem__(self, i):
        rng = random.Random(f'{self.seed}:{self.epoch}:{i}')       # a string seed: the same draws in every process and Python run
        negs, G, own = self.negs[i], self.G, set(self.pos_of[self.rows[i]['query']])
        group = rng.sample(negs, G - 1) if len(negs) >= G - 1 else list(negs)
        while len(group) < G - 1:
            n = rng.randrange(len(self.texts))
            if n not in own and n not in group: group.append(n)
        group = [rng.choice(self.pos[i])] + group
        item = {'row': i, 'query': self.qid[self.rows[i]['query']], 'pids': group}
        if self.kd: item['teacher'] = [self.scores[i][p] for p in group]
        return item


class GroupCollator:
    "A batch of groups as tensors: tokenized queries and passages, each query's positives (for the exclusion mask) and teacher scores."
    def __init__(self, embedder:Embedder, dataset:GroupDataset):
        self.emb, self.ds = embedder, dataset
        self.q_ids = embedder.tokenize([r['query'] for r in dataset.rows], 'query')
        self.p_ids = embedder.tokenize(dataset.texts, 'passage')
        self.k = max(map(len, dataset.pos_of.values()))
    def __call__(self, items):
        ds, k = self.ds, self.k
        pos = [ds.pos_of[ds.rows[it['row']]['query']] for it in items]
        out = {'query': self.emb.collate([self.q_ids[it['row']] for it in items]),
               'passage': self.emb.collate([self.p_ids[p] for it in items for p in it['pids']]),
               'pids': torch.tensor([p for it in items for p in it['pids']]),
               'positives': torch.tensor([p + [-1] * (k - len(p)) for p in pos])}
        if 'teacher' in items[0]: out['teacher'] = torch.tensor([it['teacher'] for it in items])
        return out


# ---------------------------------------------------------------- losses
class BiEncoder(nn.Module):
    "What the Trainer trains: an `Embedder` and its `Temperature`. One call embeds queries, passages or both (DDP wants one forward per backward)."
    def __init__(self, embedder:Embedder, temperature:Temperature):
        super().__init__(); self.embedder, self.temperature = embedder, temperature
    def forward(self, query=None, passage=None):
        f = lambda b: None if b is None else self.embedder(b['input_ids'], b['attention_mask']).float()
        return {'q': f(query), 'p': f(passage), 'tau': self.temperature()}


class InfoNCELoss(nn.Module):
    "InfoNCE over in-batch and hard negatives (`info_nce_loss`) as a criterion: `(q, p, tau, exclude, teacher) -> loss`."
    def __init__(self, group_size=1): super().__init__(); self.group_size = group_size
    def forward(self, q, p, tau, exclude=None, teacher=None): return info_nce_loss(q, p, tau, self.group_size, exclude)


class DistillLoss(nn.Module):
    "Knowledge distillation from teacher scores ('kl': `kd_loss` per group; 'm3': `m3_kd_loss` over the batch), times `weight`, plus InfoNCE if `infonce`."
    def __init__(self, group_size=1, teacher_temperature=1.0, weight=1.0, kind='kl', infonce=None):
        super().__init__()
        if kind not in KD_LOSS_TYPES: raise ValueError(f"kind must be 'kl' or 'm3', got {kind!r}")
        self.group_size, self.T, self.weight, self.kind = group_size, teacher_temperature, weight, kind
        self.infonce = infonce if infonce is not None else kind == 'kl'
    def forward(self, q, p, tau, exclude=None, teacher=None):
        if teacher is None: raise ValueError('DistillLoss needs teacher scores: rows with pos_scores / neg_scores')
        if self.kind == 'm3': k = m3_kd_loss(q @ p.T / tau, teacher, self.T, exclude)
        else: k = kd_loss(group_scores(q, p, tau), teacher, self.T)
        k = self.weight * k
        return info_nce_loss(q, p, tau, self.group_size, exclude) + k if self.infonce else k


def exclusion_mask(
    positives,  # [B, K] every positive passage id of each query (-1: none)
    pids,       # [B*G] the passage id of each candidate; query i's own positive is candidate i*G
    group_size,
):
    "[B, B*G] bool: candidates that are positives of the query (another copy, or another row's of the same query), its own positive excepted."
    ex = (positives.unsqueeze(-1) == pids.view(1, 1, -1)).any(1)
    i = torch.arange(len(positives), device=ex.device)
    ex[i, i * group_size] = False
    return ex


def _world():
    from finetune_nb.distributed import launched, dist_state
    if not launched(): return 1, 0
    s = dist_state(); return s.num_processes, s.process_index


def _sizes(n, N):
    "Rows on every process (an all-gather of this process's n)."
    if N == 1: return [n]
    from accelerate.utils import gather
    return gather(torch.tensor([n], device=_device())).tolist()


def _device():
    from finetune_nb.distributed import dist_state
    return dist_state().device


class ContrastiveLoss(nn.Module):
    "One step's loss for `EmbeddingTrainer`: embed the batch through the (wrapped) `BiEncoder`, then the criterion on this process's groups or, cross-device, on all of them."
    def __init__(self,
                 criterion:nn.Module=None,  # `InfoNCELoss` (default) or `DistillLoss`
                 group_size=1,              # G
                 cross_device=False):       # several processes: every query against every process's passages
        super().__init__()
        self.criterion, self.group_size, self.cross_device = criterion or InfoNCELoss(group_size), group_size, cross_device
    def forward(self, model, batch):
        out = model(query=batch['query'], passage=batch['passage'])
        return self.objective(out['q'], out['p'], out['tau'], batch)
    def objective(self, q, p, tau, batch):
        "What to back-propagate. Its value is the global batch's loss; summed over processes (DDP averages x N), its gradient is that loss's gradient."
        G, (N, rank), t = self.group_size, _world(), batch.get('teacher')
        n = len(q); sizes = _sizes(n, N)
        if N > 1 and self.cross_device:      # every process computes the global loss; its own rows carry the gradient
            from finetune_nb.distributed import gather_rows
            q, p = gather_rows(q, sizes), gather_rows(p, [s * G for s in sizes])
            pos, pids = gather_rows(batch['positives'], sizes), gather_rows(batch['pids'], [s * G for s in sizes])
            t = None if t is None else gather_rows(t, sizes)
            tau = tau.detach() + (tau - tau.detach()) / N     # every process holds τ's whole gradient; DDP averages N copies of it
            loss = self.criterion(q, p, tau, exclusion_mask(pos, pids, G), t)
            return loss * N - loss.detach() * (N - 1)           # the value of the loss, N x its gradient
        loss = self.criterion(q, p, tau, exclusion_mask(batch['positives'], batch['pids'], G), t)
        return loss if N == 1 else loss * N * n / sum(sizes)    # DDP averages: each process's share of the global mean


def _trim(b):
    "A padded chunk without the columns that are padding in all of its rows."
    keep = b['attention_mask'].bool().any(0)
    return {k: v[:, keep] for k, v in b.items()}


class CachedContrastiveLoss(ContrastiveLoss):
    "GradCache: the loss of the whole batch with the activation memory of `mini_batch_size` texts (embed without a graph, then replay each chunk)."
    def __init__(self, criterion=None, group_size=1, cross_device=False, mini_batch_size=32):
        super().__init__(criterion, group_size, cross_device); self.mini_batch_size = mini_batch_size
    def forward(self, model, batch):
        from finetune_nb.distributed import RandState
        inner, k = getattr(model, 'module', model), self.mini_batch_size
        dev = batch['pids'].device
        chunks, reps = [], {}
        for kind, key in (('query', 'q'), ('passage', 'p')):    # 1. embeddings without a graph, keeping the random state before each chunk
            b, parts = batch[kind], []
            for a in range(0, len(b['input_ids']), k):
                sub = _trim({n: v[a:a + k] for n, v in b.items()})
                chunks.append((kind, key, a, sub, RandState(dev)))
                with torch.no_grad(): parts.append(inner(**{kind: sub})[key])
            reps[key] = torch.cat(parts).requires_grad_()
        tau = inner.temperature().detach().requires_grad_(inner.temperature.log_tau.requires_grad)
        with torch.enable_grad():                                 # 2. the loss, and its gradient with respect to each embedding (and τ)
            loss = self.objective(reps['q'], reps['p'], tau, batch)
            loss.backward()
        grads = {key: r.grad for key, r in reps.items()}
        out = loss.detach().requires_grad_()
        out.register_hook(lambda g: self._replay(model, chunks, grads, tau.grad, g, RandState(dev)))
        return out
    def _replay(self, model, chunks, grads, tau_grad, g, after):
        "3. (when the Trainer back-propagates) each chunk again with a graph and the same dropout masks; its cached gradient flows into the encoder."
        import contextlib
        for i, (kind, key, a, sub, state) in enumerate(chunks):
            state.restore()
            last = i == len(chunks) - 1
            with (contextlib.nullcontext() if last or not hasattr(model, 'no_sync') else model.no_sync()), torch.enable_grad():
                o = model(**{kind: sub})
                s = (o[key] * grads[key][a:a + len(o[key])]).sum()
                if last and tau_grad is not None: s = s + o['tau'] * tau_grad   # τ's gradient goes through the wrapper too (DDP averages it)
                (s * g).backward()
        after.restore()
        return g


def contrastive_loss(args:EmbedArgs)->ContrastiveLoss:
    "The loss module `args` asks for: InfoNCE or KD, on this process's or every process's passages, cached (GradCache) or not."
    G = args.train_group_size
    crit = (DistillLoss(G, args.kd_temperature, args.kd_weight, args.kd_loss_type, args.kd_infonce) if args.knowledge_distillation else InfoNCELoss(G))
    if args.mini_batch_size: return CachedContrastiveLoss(crit, G, args.negatives_cross_device, args.mini_batch_size)
    return ContrastiveLoss(crit, G, args.negatives_cross_device)


# ---------------------------------------------------------------- trainer
class _Epoch(TrainerCallback):
    "Tell the dataset which epoch it is: its draws depend on it (and on nothing that a resume or a second process changes)."
    def on_epoch_begin(self, args, state, control, train_dataloader=None, **kw):
        ds = getattr(train_dataloader, 'dataset', None)
        if hasattr(ds, 'set_epoch'): ds.set_epoch(int(math.floor(state.epoch + 1e-9)))


class EmbeddingTrainer(Trainer):
    "A 🤗 `Trainer` for a `BiEncoder`: the loss is a `ContrastiveLoss` module, τ has its own learning rate, and the log carries τ."
    def __init__(self, model:BiEncoder, args:EmbedArgs, train_dataset:GroupDataset, loss:ContrastiveLoss=None, data_collator=None, **kw):
        super().__init__(model=model, args=args, train_dataset=train_dataset, data_collator=data_collator or GroupCollator(model.embedder, train_dataset), **kw)
        self.loss_fn = loss or contrastive_loss(args)
        self.add_callback(_Epoch())
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None): return self.loss_fn(model, inputs)
    def create_optimizer(self, model=None):
        "The Trainer's optimizer for the encoder; τ (when learned) in a group of its own: `temperature_lr`, no weight decay."
        tau = self.model.temperature.log_tau
        if self.optimizer is not None or not tau.requires_grad: return super().create_optimizer(model)
        tau.requires_grad_(False)
        try: opt = super().create_optimizer(model)
        finally: tau.requires_grad_(True)
        opt.add_param_group({'params': [tau], 'lr': self.args.temperature_lr, 'weight_decay': 0.0})
        return opt
    def log(self, logs, *a, **kw):
        if 'loss' in logs: logs['tau'] = round(self.model.temperature().item(), 6)
        super().log(logs, *a, **kw)


class History(TrainerCallback):
    "The run's logged losses (step, loss, lr, grad norm, τ) and evaluations, kept in memory and written to `loss_history.json` by the main process."
    def __init__(self, path, losses=None, evals=None): self.path, self.losses, self.evals = Path(path), losses or [], evals or []
    def on_step_end(self, args, state, control, **kw):
        if state.global_step == state.max_steps: control.should_log = True      # the last step's loss too
    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        if 'loss' not in logs: return
        row = {'step': state.global_step, 'loss': logs['loss'], 'lr': logs.get('learning_rate'), 'tau': logs.get('tau')}
        if 'grad_norm' in logs: row['grad_norm'] = logs['grad_norm']
        self.losses.append(row); self.save(state)
    def save(self, state):
        if not state.is_world_process_zero: return
        with atomic_open(self.path/'loss_history.json') as f: f.write(json.dumps({'losses': self.losses, 'evals': self.evals}, indent=1))


class RetrievalEval(TrainerCallback):
    "Evaluate retrieval during training (main process): `search` + `evaluate_run` every `eval_steps`, or at the end of each epoch."
    def __init__(self, embedder, data, history:History, eval_steps=None, k_values=(1, 5, 10)):
        from finetune_nb.retrieval import RetrievalData
        self.emb, self.data, self.history, self.every, self.k = embedder, data if isinstance(data, RetrievalData) else RetrievalData(*data), history, eval_steps, k_values
    def run(self, state):
        if not state.is_world_process_zero or any(e['step'] == state.global_step for e in self.history.evals): return
        from finetune_nb.retrieval import search, evaluate_run
        import contextlib, io
        self.emb.eval()
        with contextlib.redirect_stdout(io.StringIO()): r = evaluate_run(search(self.emb, self.data, top_k=max(self.k)), self.data.qrels, self.k)
        self.emb.train()
        r = {'step': state.global_step, **r}; self.history.evals.append(r); self.history.save(state)
        from tqdm.auto import tqdm
        tqdm.write(f"step {state.global_step}: " + ' '.join(f'{k} {v:.3f}' for k, v in r.items() if k.split('@')[0] in ('NDCG', 'MRR', 'Recall') and k.endswith(f'@{max(self.k)}') or k == 'MRR@10'))
    def on_step_end(self, args, state, control, **kw):
        if self.every and state.global_step % self.every == 0: self.run(state)
    def on_epoch_end(self, args, state, control, **kw):
        if not self.every: self.run(state)


def train_embedder(
    embedder:Embedder,     # trained in place
    train_rows,            # [{query, pos: [...], neg: [...]}], a JSONL path or a DataFrame
    eval_data=None,        # optional (corpus, queries, qrels) or a `RetrievalData`: evaluated during training (`RetrievalEval`)
    args:EmbedArgs=None,
    lora=None,             # a `LoraSpec` to train an adapter instead of the whole model
    resume=False,          # continue from the last complete checkpoint-* in `args.output_dir`
    callbacks=None,        # more `TrainerCallback`s
)->EmbedResult:
    "Contrastive fine-tuning on an `EmbeddingTrainer`; returns an `EmbedResult`. Runs as it is under torchrun / accelerate launch (DDP, FSDP, DeepSpeed)."
    from finetune_nb.distributed import is_main_process
    args = args or EmbedArgs()
    with lock_run(args.output_dir, enabled=is_main_process()): return _train_embedder(embedder, train_rows, eval_data, args, lora, resume, callbacks)


def _embed_run_id(rows, args, lora):
    "Same rows and the settings that decide what a step does: the same run (steps, lr and logging may change on resume)."
    from dataclasses import asdict
    keep = ('batch_size', 'train_group_size', 'seed', 'knowledge_distillation', 'kd_temperature', 'kd_weight', 'kd_infonce', 'kd_loss_type',
            'negatives_cross_device', 'mini_batch_size', 'learn_temperature', 'dropout')
    return fingerprint(rows, {k: getattr(args, k) for k in keep}, asdict(lora) if lora is not None else None)


def _prepare_encoder(embedder, args, lora):
    "LoRA (a 4-bit base needs it), dropout and gradient checkpointing, as `args` and `lora` say."
    if lora is None and getattr(embedder.model, 'is_loaded_in_4bit', False):
        raise ValueError('a 4-bit (QLoRA) base cannot be trained itself: pass lora=LoraSpec(...) to train an adapter on it')
    if lora is not None:
        from peft import get_peft_model
        embedder.model = get_peft_model(embedder.model, lora.to_peft('FEATURE_EXTRACTION'))
    if args.dropout is not None: _set_dropout(embedder.model, args.dropout)
    if args.gradient_checkpointing: embedder.model.gradient_checkpointing_enable()


def _train_embedder(embedder, train_rows, eval_data, args, lora, resume, callbacks):
    from transformers.trainer_callback import ProgressCallback, PrinterCallback
    from finetune_nb.distributed import launched, dist_state, is_main_process
    from finetune_nb.runs import start_run, FiniteGuard, check_finite
    from finetune_nb.sft import LossBar
    rows = check_embed_rows(train_rows, args); embedder.contract.check(); seed_everything(args.seed)
    if args.eval_steps is not None and eval_data is None: raise ValueError(f'eval_steps={args.eval_steps} needs eval_data=(corpus, queries, qrels); without it nothing is evaluated')
    main = is_main_process(); say = print if main else (lambda *a, **k: None)
    out = Path(args.output_dir)
    last = start_run(out, _embed_run_id(rows, args, lora), resume, required=['trainer_state.json', 'model.safetensors'], say=say) if main or resume else None
    if launched(): dist_state().wait_for_everyone()      # the main process has cleared an earlier run's checkpoints
    if last is not None: say(f'resuming from {last}')
    _prepare_encoder(embedder, args, lora)
    ds = GroupDataset(rows, args.train_group_size, args.seed, args.knowledge_distillation, say)
    model = BiEncoder(embedder, Temperature(embedder.contract.temperature, learnable=args.learn_temperature).to(embedder.device))
    hist = History(out)
    if last is not None:
        old = json.loads((Path(last)/'trainer_state.json').read_text())['global_step']
        h = json.loads((out/'loss_history.json').read_text()) if (out/'loss_history.json').is_file() else {}
        hist.losses, hist.evals = [r for r in h.get('losses', []) if r['step'] <= old], [r for r in h.get('evals', []) if r['step'] <= old]
    cbs = [FiniteGuard(first=hist.losses[0]['loss'] if hist.losses else None), hist, LossBar()]
    if eval_data is not None: cbs.append(RetrievalEval(embedder, eval_data, hist, args.eval_steps))
    trainer = EmbeddingTrainer(model, args, ds, callbacks=cbs + list(callbacks or []))
    trainer.remove_callback(PrinterCallback); trainer.remove_callback(ProgressCallback)
    t0 = time.time()
    try: trainer.train(resume_from_checkpoint=str(last) if last else None)
    finally:
        bar = next((c for c in trainer.callback_handler.callbacks if isinstance(c, LossBar)), None)
        if getattr(bar, 'bar', None) is not None: bar.bar.close()
    embedder.eval()
    check_finite(trainer.state.global_step, params=[(n, p) for n, p in embedder.model.named_parameters() if p.requires_grad])
    if args.learn_temperature: embedder.contract.temperature = min(max(model.temperature().item(), TAU_RANGE[0]), TAU_RANGE[1])
    trainable = sum(p.numel() for p in embedder.model.parameters() if p.requires_grad)
    return EmbedResult(trainer.state.global_step, hist.losses, hist.evals, time.time() - t0, trainable, str(out))

from finetune_nb.core import seed_everything
from finetune_nb.runs import lock_run, fingerprint
