# The two commands of the README. Everything else is `.venv/bin/atp --help`.
#   make demo   install, start the stack, seed the ERP/POS, register CDC, run the flow, show live changes
#   make test   lint, type-check and run the whole test suite (it starts the services it needs)

VENV := .venv
BIN  := $(VENV)/bin

.PHONY: demo test setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml infra/setup.sh
	bash infra/setup.sh
	touch $@

demo: setup
	$(BIN)/atp demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	-$(BIN)/atp down
	rm -rf .atp $(VENV)

# Benchmarks on their own stack (.atp/bench, ports 3xxxx): `make bench` is the short profile (a table in
# under 5 minutes); `.venv/bin/python -m bench long` writes bench/results.md.
.PHONY: bench
bench: setup
	$(BIN)/python -m bench short
