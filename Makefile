# Kinglet: the README's two commands, and the rest.
#   make demo    install what is missing, build, run the whole system on loopback (etcd and
#                the test API server, mosquitto, the relay, the agent on boards/sim), showing
#                `kinglet status` and `kubectl get` until Ctrl-C
#   make test    every test: host unit + integration tests, cross builds, qemu smoke runs
#   make bench   benchmarks: bench/results.json and a table
#   make cross ARCH=aarch64|armv7|x86_64   one static build (build/<arch>/kinglet)

ARCHES := aarch64 armv7 x86_64
ARCH ?= aarch64

.PHONY: all setup setup-host build demo test bench cross cross-all clean help

all: build

help:
	@sed -n 's/^#   //p' Makefile

# Everything: host build, tests, static cross builds, qemu.
setup:
	@bash cross/setup

# What the host build and the demo need (no cross toolchains).
setup-host:
	@bash cross/setup --host-only

build: setup-host
	swift build

demo: setup-host
	@echo "==> building the agent, the relay, the test API server and the simulators (host, release)"
	swift build -c release --product kinglet
	swift build -c release --product kinglet-relay
	swift build -c release --product kinglet-testapi
	swift build -c release --product kinglet-sim
	@bash boards/sim/demo .build/release

test: setup
	@bash Tests/run-all

bench: setup cross-all
	swift build -c release --product kinglet
	swift build -c release --product kinglet-relay
	swift build -c release --product kinglet-testapi
	swift build -c release --product kinglet-sim
	swift build -c release --product cache-bench
	@python3 bench/run

cross: setup
	@bash cross/build $(ARCH)

cross-all: setup
	@for arch in $(ARCHES); do bash cross/build $$arch || exit 1; done

clean:
	rm -rf build .build
