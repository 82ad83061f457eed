# `make lab`: set everything up and open the course in JupyterLab.
# `make test`: set everything up and run the whole test suite (this is what CI runs).
# `make hub`: run the course for a class on one server with JupyterHub (hub/jupyterhub_config.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROXY := hub/node_modules/.bin/configurable-http-proxy
AXE := tools/node_modules/axe-core/axe.min.js
NBGRADER := .venv-nbgrader/bin/nbgrader
REPO2DOCKER := .venv-repo2docker/bin/repo2docker

# Keep TensorFlow's C++ start-up logging (oneDNN banner, info lines) out of kernels and tests.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
# Text files are UTF-8 whatever the machine's locale (LANG=C, Latin-1 terminals): Python, kernels and tests alike.
export PYTHONUTF8 := 1

.PHONY: setup lab test test-under-load lint bench site clean

$(STAMP): requirements.txt pyproject.toml tools/jupyterlab-overrides.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# matplotlib's font list, built once here: else the first kernel to plot builds it, and under load says so on stderr
	$(BIN)/python -c "import matplotlib.font_manager"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp tools/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

setup: $(STAMP)

# Root (containers, CI machines) must say so explicitly; prints the URL when no browser can open.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks

test: setup lint $(PROXY) $(AXE) $(NBGRADER) $(REPO2DOCKER)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# For maintainers: the same suite beside a CPU-heavy process (one busy core, for at most an hour), to show that no
# test depends on an idle machine. The burner is stopped when the suite ends, however it ends.
test-under-load: setup lint $(PROXY) $(AXE) $(NBGRADER) $(REPO2DOCKER)
	timeout 3600 sh -c 'while :; do :; done' & burner=$$!; \
	trap 'kill $$burner 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -m pytest -n 2 --dist loadfile

# JupyterHub's proxy, exactly as hub/package-lock.json pins it (tests/test_hub.py and `make hub` use it).
# touch: npm gives installed files the package's old timestamps, which would make this rule rerun every time.
$(PROXY): hub/package.json hub/package-lock.json
	npm ci --prefix hub --no-audit --no-fund
	touch $(PROXY)

# axe-core, exactly as tools/package-lock.json pins it: tests/test_site.py checks every rendered page with it.
$(AXE): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund
	touch $(AXE)

# nbgrader 0.9.6 for instructors, in an environment of its own (tools/nbgrader-requirements.txt says why);
# tests/test_nbgrader.py runs it with the course's kernel (README: "For instructors").
$(NBGRADER): tools/nbgrader-requirements.txt
	test -x .venv-nbgrader/bin/python || $(PYTHON) -m venv .venv-nbgrader
	.venv-nbgrader/bin/python -m pip install --quiet -r tools/nbgrader-requirements.txt
	touch $(NBGRADER)

# repo2docker, Binder's image builder, in an environment of its own (tools/repo2docker-requirements.txt says why);
# tests/test_site.py checks its build plan for this repository (runtime.txt, requirements.txt, postBuild).
$(REPO2DOCKER): tools/repo2docker-requirements.txt
	test -x .venv-repo2docker/bin/python || $(PYTHON) -m venv .venv-repo2docker
	.venv-repo2docker/bin/python -m pip install --quiet -r tools/repo2docker-requirements.txt
	touch $(REPO2DOCKER)

# A class on one server; settings are COURSE_HUB_* variables (hub/jupyterhub_config.py says which). A real class,
# as root, with system users: sudo make hub COURSE_HUB_USERS="ana ben" COURSE_HUB_SSL_CERT=... COURSE_HUB_SSL_KEY=...
# A trial on this machine: make hub COURSE_HUB_IP=127.0.0.1 COURSE_HUB_SHARED_PASSWORD=choose-one COURSE_HUB_USERS="ana ben"
.PHONY: hub
hub: setup $(PROXY)
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

lint: setup
	$(BIN)/ruff check course_utils tests tools benchmarks hub

bench: setup
	$(BIN)/python benchmarks/run.py

# A static HTML version of all lessons, executed, with outputs, plots and pre-rendered explorers: build/site/index.html.
# Prints each page's size, the site's size and the build time against their budgets (8 MB, 40 MB, 5 minutes).
site: setup
	$(BIN)/python tools/render_course.py --out build/site

clean:
	rm -rf $(VENV) .venv-nbgrader .venv-repo2docker build *.egg-info hub/node_modules tools/node_modules
