# Kuku Securities — the two commands a newcomer needs:
#   make up     set up and start the whole platform, print the endpoints
#   make test   set up and run every test
# Everything else here is a step of those two.

SHELL := /bin/bash
# One Node for every script, test and service: the LTS .nvmrc pins, installed
# into .tools/node by scripts/node.sh when the machine has another.
export PATH := $(shell bash scripts/node.sh):$(PATH)
.DEFAULT_GOAL := help

.PHONY: help up down test deps generate build infra infra-down infra-status tracing services-up services-down bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

up: deps build infra tracing services-up ## install, build, start infra and every service, print endpoints

down: services-down infra-down ## stop every service and the infra

test: deps build infra tracing ## install, build, start infra and Zipkin, run every test
	@bash scripts/test.sh

deps: ## the pinned Node (.nvmrc) if the machine has another, and npm dependencies (npm ci on a fresh clone)
	@bash scripts/deps.sh

generate: ## regenerate the committed TypeScript contracts from proto/
	@npm run --silent generate

build: ## type-check and compile every package, and type-check the tests
	@echo "==> build: tsc -b"
	@npx tsc -b
	@echo "==> build: type-check the tests, bench and deploy (tsconfig.test.json)"
	@npx tsc -p tsconfig.test.json
	@echo "==> build: web console (vite)"
	@npm run --silent build -w @kuku/web

infra: ## install and start PostgreSQL, Redis x3, Kafka; install grpcurl and toxiproxy
	@bash deploy/local/infra-up.sh

tracing: ## install and start Zipkin (the local tracing backend) on 127.0.0.1:9411
	@bash deploy/local/tracing-up.sh

infra-down: ## stop the infra started by make infra
	@bash deploy/local/infra-down.sh

infra-status: ## which infra components are up
	@bash deploy/local/infra-status.sh

services-up: ## start every service in the background (logs in .run/logs)
	@bash scripts/services.sh up

services-down: ## stop the services started by make up
	@bash scripts/services.sh down
