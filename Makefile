# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out

.PHONY: demo test lint setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# CPU build of torch first, so pip never pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	# Reference CLIP tokenizer for tests/segment/test_tokenizer.py, without its declared deps (torchvision, timm, hub).
	$(PY) -m pip install -q --no-deps 'open-clip-torch==3.3.0'
	# The official SAM 2.1 package for the sam2 backend's tests, without its declared deps (they would pull
	# a CUDA torch and torchvision, which the backend never imports); its light runtime deps come after.
	SAM2_BUILD_CUDA=0 $(PY) -m pip install -q --no-deps 'sam2>=1.1'
	$(PY) -m pip install -q 'hydra-core>=1.3' 'iopath>=0.1.10' tqdm pillow
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segcorr demo --out $(DEMO_OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP) lint
	$(PY) -m pytest -q -n 2 -p no:cacheprovider tests

clean:
	rm -rf $(VENV) $(DEMO_OUT)
