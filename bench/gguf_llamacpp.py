"""The exported GGUF file in llama.cpp itself (llama-cpp-python), against the merged model in transformers: the same
15 held-out grammar prompts, greedy, and the ratio of generation speeds (tokens/s, llama.cpp / transformers).

llama-cpp-python is not a dependency: its sdist compiles llama.cpp (`pip install llama-cpp-python`, minutes on two
cores). Without it this bench says so and stops. The model is the demo's merged SmolLM2 when given (`finetune_nb demo`
writes OUT/sft/merged), else the packaged SmolLM2 saved once as a 16-bit folder:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/gguf_llamacpp.py [--model runs/demo-.../sft/merged] [--dtype f16|q8_0]
"""
import argparse, importlib.util, os, tempfile, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', default=None, help='a merged model folder (default: the packaged SmolLM2, 16-bit)')
    p.add_argument('--dtype', default='f16', choices=['f16', 'q8_0'])
    p.add_argument('--max-new-tokens', type=int, default=48)
    a = p.parse_args()
    if importlib.util.find_spec('llama_cpp') is None: print('llama-cpp-python is not installed (pip install llama-cpp-python); skipping'); return
    os.environ['HF_HUB_OFFLINE'] = '1'
    import torch
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from finetune_nb.sft import export_gguf, sixteen_bit_copy, generate
    from finetune_nb.data import grammar_set
    folder = Path(a.model) if a.model else sixteen_bit_copy('smollm2')
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    prompts = [r['messages'][:1] for r in grammar_set('test')]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d)/f'model-{a.dtype}.gguf'
        export_gguf(folder, f, a.dtype)
        llm = Llama(model_path=str(f), n_ctx=512, n_threads=os.cpu_count(), verbose=False)
        t = time.perf_counter(); ours = [generate(model, tok, m, max_new_tokens=a.max_new_tokens) for m in prompts]; t_hf = time.perf_counter() - t
        t = time.perf_counter()
        theirs = [llm.create_chat_completion(messages=m, temperature=0.0, max_tokens=a.max_new_tokens)['choices'][0]['message']['content'] for m in prompts]
        t_cpp = time.perf_counter() - t
    n_hf = sum(len(tok(x, add_special_tokens=False)['input_ids']) for x in ours)
    n_cpp = sum(len(tok(x, add_special_tokens=False)['input_ids']) for x in theirs)
    same = sum(x.strip() == y.strip() for x, y in zip(ours, theirs))
    print(f'{folder} as {a.dtype} GGUF: {same}/{len(prompts)} greedy answers identical in llama.cpp and transformers')
    for x, y in zip(ours, theirs):
        if x.strip() != y.strip(): print(f'  transformers: {x.strip()!r}\n  llama.cpp:    {y.strip()!r}')
    print(f'transformers {n_hf / t_hf:.1f} tokens/s, llama.cpp {n_cpp / t_cpp:.1f} tokens/s: ratio {n_cpp / t_cpp / (n_hf / t_hf):.2f}x ({os.cpu_count()} CPU cores)')

if __name__ == '__main__': main()
