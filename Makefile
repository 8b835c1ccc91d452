# NeverMissCall — the two commands (make run, make test) and their helpers.
# scripts/stack.sh does the work; see README.md for the configuration table.
.PHONY: run test stop logs deps build bench clean simulate fuzz soak backup restore

run:
	@scripts/stack.sh deps
	@scripts/stack.sh build
	@scripts/stack.sh up
	@scripts/stack.sh print

test:
	@scripts/stack.sh deps
	@scripts/stack.sh build
	@scripts/test.sh

stop:
	@scripts/stack.sh stop

logs:
	@scripts/stack.sh logs

# make simulate [ARGS='sms --body "Can you come today?"']: signed Twilio webhooks to the running stack.
simulate:
	@scripts/simulate.pl $(or $(ARGS),missed-call)

deps:
	@scripts/stack.sh deps

# make backup: WAL archiving on and a verified base backup into NMC_BACKUP_DIR
# (default /var/backups/nevermisscall/<port>); docs/backups.md.
# make restore [BACKUP=<name>] [UNTIL='2026-12-03 14:05:00+00'] [INTO=<empty data dir>]:
# without INTO, into make run's data directory (after make stop; the old one is kept aside).
backup:
	@scripts/backup.sh backup

restore:
	@scripts/backup.sh restore $(if $(BACKUP),--backup '$(BACKUP)') $(if $(UNTIL),--until '$(UNTIL)') $(if $(INTO),--into '$(INTO)')

build:
	@scripts/stack.sh build

bench:
	@scripts/stack.sh deps
	@scripts/stack.sh build
	@bench/run.sh

# make fuzz [SECONDS=300]: each libFuzzer target for SECONDS seconds (fuzz/README.md).
# make soak [NMC_SOAK_SECONDS=600 NMC_SOAK_BUSINESSES=1000]: mixed load with faults on a schedule (test/faults/soak.t).
soak:
	@scripts/stack.sh deps
	@scripts/stack.sh build
	@scripts/test.sh soak

fuzz:
	@scripts/stack.sh deps
	$(MAKE) -C fuzz run SECONDS=$(or $(SECONDS),300)

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C fuzz clean
	$(MAKE) -C edge clean
	rm -rf dashboard/out dashboard/.next dashboard/.test-build test/browser/screenshots
