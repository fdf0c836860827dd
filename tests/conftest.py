"""Longest tests first, so the two workers of `make test` finish together.

pytest-xdist hands out tests in collection order, and `--maxschedchunk 1` (the Makefile) keeps a worker from holding a
queue of them. Run longest-first, the suite's two workers end within seconds of each other; in name order one worker
went on alone with the site test (159 s) after the other had finished. The figures are seconds from a `make test` on 2
CPU cores (2026-11-25); a test not listed runs after these, in name order. They only set the order: a stale figure costs
time, never a result."""

SECONDS = {'06a_distributed': 316, '05_sft': 285, '09_cli': 240, 'test_site_renders_in_chromium': 159, '06_embed': 133,
           '05a_grpo': 82, '02_memory': 59, '07d_bm25': 48, '00_core': 46, '11_tutorial.retrieval_finetune': 44, '04a_runs': 31,
           '10_tutorial.chat_sft': 28, '01_lora': 26, 'test_lab_kernel_runs_the_course': 25, '08_mining': 24, '08a_teachers': 20,
           '03_chat': 17, 'test_console_script_one_line_error': 13, '04_masking': 11, 'test_wheel_installs_in_fresh_venv': 11}

def _key(item):
    name = item.name.split('[', 1)[1].rstrip(']') if '[' in item.name else item.name
    return -SECONDS.get(name, 0)

def pytest_collection_modifyitems(items): items.sort(key=_key)      # sort is stable: the unlisted keep their order
