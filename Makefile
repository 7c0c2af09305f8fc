# labwork6: two commands do all the set-up on a fresh machine.
#   make all    the main job: every notebook on the embedded default dataset, then the PDF report
#   make test   the tests
# Each installs what it needs first (a virtual environment in .venv; TeX via apt-get for the PDF).
# Dependencies: ranges in pyproject.toml; requirements.txt pins them (`make requirements` regenerates it).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= $(or $(LABWORK6_PROFILE),default)
SEEDS ?= 1 2
export LABWORK6_PROFILE := $(PROFILE)
# Jupyter refuses to start as root ("Running as root is not recommended. Use --allow-root"):
# containers and CI machines run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: all install requirements tex test test-fast lint notebooks report seeds study bench lab colab-links \
	clean-notebooks check-notebooks clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

all: install tex  ## main job: the notebooks in order in PROFILE (default: default), then report/Report.6.CNN.pdf
	$(PY) -m labwork6 pipeline --profile $(PROFILE)
	@echo "Report: report/Report.6.CNN.pdf; runs: runs/$(PROFILE)/; executed notebooks: build/notebooks/$(PROFILE)/"

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet -e ".[notebooks,test]"
	$(PY) -m pip check
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

install: $(VENV)/.installed  ## create .venv: the pinned requirements, then the package with its dependencies checked

define REQUIREMENTS_HEADER
# The exact versions that `make install` installs and the tests passed with, resolved for
# Linux and Python $(shell $(PY) -c 'import sys; print(*sys.version_info[:2], sep=".")' 2>/dev/null). The ranges live in pyproject.toml; after changing them,
# regenerate this file with `make requirements` (uv, keeping each pin the ranges still allow):
#   uv pip compile pyproject.toml --extra notebooks --extra test -o requirements.txt
endef
export REQUIREMENTS_HEADER

requirements: install  ## regenerate requirements.txt from pyproject.toml's ranges with uv (keeps pins the ranges allow)
	$(PY) -m pip install --quiet uv==0.13.9  # pinned: `make requirements` resolves the same way on every machine
	$(VENV)/bin/uv pip compile pyproject.toml --extra notebooks --extra test --python $(PY) --quiet --no-header \
	  -o requirements.txt
	{ echo "$$REQUIREMENTS_HEADER"; cat requirements.txt; } > requirements.txt.new && mv requirements.txt.new requirements.txt

tex:  ## install TeX (latexmk, pdflatex) with apt-get when it is missing
	@bash .ci/install-tex

test: install tex  ## run all the tests, as CI does (they include the smoke pipeline and its PDF)
	$(PY) -m pytest -n 2 --dist loadfile --durations=15

test-fast: install  ## the tests not marked slow (no training, notebooks, benchmarks or 224x224 models), under a minute on 2 cores
	$(PY) -m pytest -m "not slow" -n 2 --dist loadfile

lint: install  ## ruff on the package, tests and notebooks
	$(VENV)/bin/ruff check .

check-notebooks: install  ## fail when a committed notebook carries outputs
	$(PY) -m labwork6 check-notebooks notebooks

notebooks: install  ## execute the notebooks only, in order (no PDF)
	$(PY) -m labwork6 pipeline --profile $(PROFILE) --no-report

report: install tex  ## rebuild the tables and the PDF from the existing runs
	$(PY) -m labwork6 report --profile $(PROFILE)

seeds: install  ## train VGG19-BN and ResNet19 on more SEEDS (default 1 2), every fold; `make report` pools each seed
	$(PY) -c "import sys; from labwork6.train import train_missing; \
	  train_missing(('vgg19_bn', 'resnet19'), profile='$(PROFILE)', seeds=[int(seed) for seed in sys.argv[1:]])" $(SEEDS)

study: install  ## not in the main job: contrast remedy, learning curve, seeds 1-2 (labwork6/study.py; ~80 min on 2 cores)
	$(PY) -m labwork6.study $(STUDY_ARGS)

bench: install  ## performance benchmarks (benchmarks/results/; ~15 min on 2 quiet cores; BENCH_ARGS="--only vgg")
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lab: install  ## open JupyterLab on the project (notebooks/, runs/, report/) with the package importable
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS)

colab-links: install  ## name your GitHub repository in pyproject, badges and setup cells: make colab-links REPO=your-name/your-repo [BRANCH=main]
	$(PY) -m labwork6 colab-links $(if $(REPO),--repo $(REPO)) $(if $(BRANCH),--branch $(BRANCH))
	@echo "Colab clones what GitHub holds: commit and push (git commit -am 'Colab links' && git push)."

clean-notebooks: install  ## strip outputs from the notebooks in place
	$(PY) -m labwork6 check-notebooks notebooks --fix

clean:  ## remove generated files (runs, executed notebooks, report outputs)
	rm -rf build runs report/generated report/figures report/*.pdf
