"The course website: `make docs` builds it from the notebooks offline, and headless Chromium checks every page."
import functools, http.server, importlib.util, os, re, shutil, subprocess, threading, urllib.request
from pathlib import Path
from urllib.parse import urldefrag

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']

def _site_module():
    spec = importlib.util.spec_from_file_location('site_builder', ROOT/'scripts'/'site.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def chromium():
    "Debian's Chromium, installed by this setup when it is missing (CI starts from a bare machine)."
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe: return exe
    sudo = [] if os.geteuid() == 0 else ['sudo', '-n']
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    for cmd in (['apt-get', 'install', '-y', '-q', 'chromium'], ['apt-get', 'update', '-q'], ['apt-get', 'install', '-y', '-q', 'chromium']):
        r = subprocess.run(sudo + cmd, capture_output=True, text=True, env=env)
        if r.returncode == 0 and cmd[1] == 'install': break
    exe = shutil.which('chromium')
    assert exe, f"Chromium is needed for the site test and could not be installed with apt-get: {r.stderr.strip()[-500:]}"
    return exe

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def serve(folder):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'

def _status(url):
    try:
        with urllib.request.urlopen(url) as r: return r.status, r.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as e: return e.code, ''

def test_site_renders_in_chromium():
    from playwright.sync_api import sync_playwright
    site = ROOT/'_site'
    pages = _site_module().build(site, quiet=True)
    names = [p for p, _, _ in pages]
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    assert len(pages) == len(nbs) and names[0] == 'index.html', (names, nbs)
    assert not list(site.rglob('*.ipynb')), 'the site should hold pages, not notebooks'
    html = {n: (site/n).read_text() for n in names}
    for n, h in html.items():   # nothing fetched from elsewhere: no CDN scripts, styles or fonts
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', h), f'{n} loads something from the network'
    shots = site/'screenshots'; shots.mkdir(exist_ok=True)
    srv, base = serve(site)
    problems, outside = [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith('data:'): return r.continue_()
                outside.append(r.request.url); r.abort()
            page.route('**/*', route)
            errors = []
            page.on('pageerror', lambda e: errors.append(str(e)))
            page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
            for name, title, nb in pages:
                page.goto(base + name, wait_until='load')
                if page.title() != f'{title} · finetune_nb': problems.append(f'{name}: title {page.title()!r}')
                h1 = page.locator('main h1').first
                if not h1.count() or title not in h1.inner_text(): problems.append(f'{name}: no <h1> with {title!r}')
                imgs = page.evaluate('Array.from(document.images).map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0])')
                problems += [f'{name}: image {src} did not load' for src, ok in imgs if not ok]
                maths = page.evaluate('Array.from(document.querySelectorAll("math")).map(m => m.getBoundingClientRect().width)')
                problems += [f'{name}: a formula has no width (MathML not rendered)' for w in maths if w <= 0]
                for href in set(page.evaluate('Array.from(document.links).map(a => a.href)')):
                    if not href.startswith(base): continue
                    url, frag = urldefrag(href)
                    code, text = _status(url)
                    if code != 200: problems.append(f'{name}: link {href} -> HTTP {code}'); continue
                    if frag and f'id="{frag}"' not in text: problems.append(f'{name}: link {href} -> no element with id {frag!r}')
                if name == 'index.html': page.screenshot(path=str(shots/'home.png'))
                if name == '04_masking.html':
                    view = page.locator('div:has(> b:text-matches("trained \\\\d+ of \\\\d+ tokens"))').first
                    if not view.count(): problems.append('04_masking.html: no mask view')
                    else: view.scroll_into_view_if_needed(); view.screenshot(path=str(shots/'04_masking_mask_view.png'))
                problems += [f'{name}: {e}' for e in errors]; errors.clear()
            browser.close()
    finally: srv.shutdown()
    assert not outside, f'pages asked the network for: {sorted(set(outside))[:5]}'
    assert not problems, '\n'.join(problems)
    for f in ('home.png', '04_masking_mask_view.png'): assert (shots/f).stat().st_size > 10_000, f
    assert sum(len(imgs) > 0 for imgs in [re.findall(r'<img ', h) for h in html.values()]) >= 4, 'plots missing from the pages'

def test_math_and_links_are_converted():
    m = _site_module()
    md = m.math_to_mathml('Rank $r$ and `$not math$`, and $$\\frac{\\alpha}{r}$$')
    assert '<math' in md and 'display="block"' in md and '`$not math$`' in md, md
    assert m._links('[SFT](nbs/05_sft.ipynb) and [x](05_sft.ipynb#the-recipe)') == '[SFT](05_sft.html) and [x](05_sft.html#the-recipe)'
    order = [p.name for p in m.course_order()]
    assert order[0] == 'index.ipynb' and order[1:] == sorted(order[1:]), order
