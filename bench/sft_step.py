"""SFT step time and peak memory: `finetune_nb.sft.train_sft` vs a plain TRL `SFTTrainer` with `assistant_only_loss`.

Same model (the packaged SmolLM2-135M-Instruct), same 52 grammar-format chats, same ChatML text, same batch (2 x 1),
same optimizer and steps, fp32 without gradient checkpointing on both sides (TRL's own defaults, bf16 autocast and
checkpointing, are far slower on a CPU without bf16 units). Each side runs in a fresh process so that peak memory is
its own. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/sft_step.py [--steps 14] [--reps 2]

The sides alternate `--reps` times and each side's best run counts (a shared 2-core machine has slow spells).
"""
import json, os, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _peers import compare

def child(mode, steps, out):
    os.environ['HF_HUB_OFFLINE'] = '1'
    import torch
    from transformers import TrainerCallback
    from finetune_nb.core import load_chat_model, memory_snapshot, memory_report
    from finetune_nb.chat import apply_template
    from finetune_nb.masking import CHATML_TRAINING_TEMPLATE
    from finetune_nb.sft import train_sft, SFTArgs, LoraSpec
    from finetune_nb.data import grammar_chats
    torch.set_num_threads(os.cpu_count())
    rows = [{'messages': r['messages']} for r in grammar_chats('train')]
    model, tok = load_chat_model('smollm2', device='cpu')
    times = []
    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k): self.t = time.perf_counter()
        def on_step_end(self, *a, **k): times.append(time.perf_counter() - self.t)
    import transformers
    # register the clock on every Trainer built in this process
    orig = transformers.Trainer.__init__
    def init(self, *a, **k):
        k['callbacks'] = list(k.get('callbacks') or []) + [Clock()]; orig(self, *a, **k)
    transformers.Trainer.__init__ = init
    start = memory_snapshot('cpu', reset_peak=True)
    with tempfile.TemporaryDirectory() as d:
        if mode == 'ours':
            tok = apply_template(tok, 'chatml')
            _, res = train_sft(model, tok, rows, args=SFTArgs(output_dir=d, max_steps=steps, grad_accum=1, max_length=128, warmup_steps=0), backend='hf')
            trained = res.mask_report.trained_tokens
        else:
            from datasets import Dataset
            from trl import SFTTrainer, SFTConfig
            tok = apply_template(tok, CHATML_TRAINING_TEMPLATE); tok.pad_token = '<|endoftext|>'
            cfg = SFTConfig(output_dir=d, max_steps=steps, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                            learning_rate=2e-4, lr_scheduler_type='linear', warmup_steps=0, weight_decay=0.01, optim='adamw_torch',
                            seed=3407, logging_steps=1, report_to=[], save_strategy='no', use_cpu=True, max_length=128,
                            assistant_only_loss=True,
                            bf16=False, gradient_checkpointing=False)  # TRL defaults both to True; ours are off on CPU
            tr = SFTTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(rows), processing_class=tok,
                            peft_config=LoraSpec().to_peft())
            trained = sum(sum(l != -100 for l in ls) for ls in tr.train_dataset['labels'])
            tr.train()
    mem = memory_report(start, memory_snapshot('cpu'))
    json.dump({'times': times, 'peak_gb': mem.peak_gb, 'trained_tokens': trained}, open(out, 'w'))

def main():
    a, runs = compare(__file__, ('ours', 'trl'), child, default_steps=14, default_reps=2)
    if runs is None: return
    med = lambda xs: sorted(xs)[len(xs) // 2]
    runs = {m: r if isinstance(r, list) else [r] for m, r in runs.items()}
    res = {m: min(rs, key=lambda r: med(r['times'][2:])) for m, rs in runs.items()}   # each side's best run
    step = {m: med(r['times'][2:]) for m, r in res.items()}   # skip two warm-up steps
    print('median step time of each run (s): ' + '; '.join(f"{m} {[round(med(r['times'][2:]), 3) for r in rs]}" for m, rs in runs.items()))
    print(f"SmolLM2-135M, LoRA r=8 on 7 projections, batch 2, {a.steps} steps, CPU ({os.cpu_count()} cores)")
    print(f"trained tokens in the data: ours {res['ours']['trained_tokens']}, TRL {res['trl']['trained_tokens']}")
    print(f"median step time: ours {step['ours']:.3f} s, TRL {step['trl']:.3f} s, ratio ours/TRL {step['ours']/step['trl']:.3f}")
    print(f"peak RSS:         ours {res['ours']['peak_gb']:.2f} GB, TRL {res['trl']['peak_gb']:.2f} GB, ratio ours/TRL {res['ours']['peak_gb']/res['trl']['peak_gb']:.3f}")

if __name__ == '__main__': main()
