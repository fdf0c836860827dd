"What does not belong in a notebook: the wheel, the README's two commands, the console script."
import os, re, subprocess, sys, sysconfig, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    d = tmp_path_factory.mktemp('wheel')
    r = run(sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-w', d, ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    whl, = d.glob('finetune_nb-*.whl')
    return whl

def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    mods = sorted(p.name for p in (ROOT/'finetune_nb').glob('*.py'))
    assert sorted(n.split('/')[-1] for n in names if n.startswith('finetune_nb/') and n.endswith('.py')) == mods
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith('METADATA'))).decode()
    reqs = re.findall(r'^Requires-Dist: ([A-Za-z0-9_.-]+)', meta, re.M)
    for r in ['torch', 'transformers', 'peft', 'trl', 'sentence-transformers', 'faiss-cpu', 'pytrec-eval-terrier', 'gguf']: assert r in reqs, r
    assert 'finetune_nb/files/shell_commands.jsonl' in names   # the course's retrieval set ships in the wheel
    assert 'Provides-Extra: gpu' in meta and 'Provides-Extra: dev' in meta
    assert 'unsloth' not in [r for r in re.findall(r'^Requires-Dist: (\S+)$', meta, re.M)]  # only behind the extra
    ep = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith('entry_points.txt'))).decode()
    assert 'finetune_nb = finetune_nb.cli:main' in ep

def test_wheel_installs_in_fresh_venv(wheel, tmp_path):
    venv = tmp_path/'venv'
    assert run(sys.executable, '-m', 'venv', venv).returncode == 0
    r = run(venv/'bin'/'pip', 'install', '-q', '--no-deps', '--no-index', wheel)
    assert r.returncode == 0, r.stderr
    # the fresh venv's copy must win; heavy dependencies come from the dev venv to keep this test fast
    site = next((venv/'lib').glob('python*/site-packages'))
    env = {**os.environ, 'PYTHONPATH': f"{site}{os.pathsep}{sysconfig.get_paths()['purelib']}"}
    r = run(venv/'bin'/'python', '-c', 'import finetune_nb, finetune_nb.core as c; print(finetune_nb.__version__, c.__file__)', env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert str(site) in r.stdout

def test_readme_gives_two_commands_that_make_knows():
    readme = (ROOT/'README.md').read_text()
    block = re.search(r'## Two commands\n\n```sh\n(.*?)```', readme, re.S).group(1)
    cmds = [l.split('#')[0].strip() for l in block.splitlines() if l.strip()]
    assert cmds == ['make demo', 'make test']
    for c in cmds:
        r = run(*c.split(), '-n', cwd=ROOT)
        assert r.returncode == 0, r.stderr
    assert 'pytest' in run('make', '-n', 'test', cwd=ROOT).stdout
    assert 'finetune_nb demo' in run('make', '-n', 'demo', cwd=ROOT).stdout

def test_console_script_one_line_error():
    r = run(BIN/'finetune_nb', 'demo', '--only', 'no-such-stage')
    assert r.returncode == 2
    assert r.stderr.strip().count('\n') == 0 and 'no such stage' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr

def test_lab_kernel_runs_the_course(tmp_path):
    "`make lab` opens nbs/ in JupyterLab on this environment's kernel: that kernel starts, imports the package and runs a packaged model."
    dry = run('make', '-n', 'lab', cwd=ROOT)
    assert dry.returncode == 0 and 'jupyter lab' in dry.stdout and 'cd nbs' in dry.stdout, dry.stdout + dry.stderr
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from finetune_nb.embed import load_embedder\nprint(load_embedder('minilm', device='cpu').encode_queries(['how do I list files?']).shape)")])
    nbformat.write(nb, tmp_path/'k.ipynb')
    r = run(BIN/'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=300', tmp_path/'k.ipynb', '--output', 'out.ipynb',
            cwd=tmp_path, env={**os.environ, 'HF_HUB_OFFLINE': '1', 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert r.returncode == 0, r.stderr[-2000:]
    out = nbformat.read(tmp_path/'out.ipynb', as_version=4).cells[0].outputs
    assert any('torch.Size([1, 384])' in o.get('text', '') for o in out), out

def test_chapters_import_public_names_only():
    "What a reader sees (cells that are not `#| hide` or `#| export`) imports only public names from the package."
    import ast, json
    bad = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or re.search(r'^\s*#\|\s*(hide|export)', src, re.M): continue
            try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
            except SyntaxError: continue
            bad += [f'{nb.name} {c.get("id")}: {a.name}' for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or '').startswith('finetune_nb')
                    for a in n.names if a.name.startswith('_')]
    assert not bad, bad
