# NeverMissCall — the two commands (make run, make test) and their helpers.
# scripts/stack.sh does the work; see README.md for the configuration table.
.PHONY: run test stop logs deps build bench clean simulate fuzz soak install backup restore

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

# make install [DESTDIR=/tmp/root] [PREFIX=/usr] [SYSCONFDIR=/etc]: the extension
# (PGXS: PostgreSQL's own directories), the edge, the dashboard, the set-up
# tool, the systemd unit and the example configuration (docs/operations.md).
# The configuration in SYSCONFDIR is written only when absent. Needs `make deps`.
PREFIX ?= /usr
SYSCONFDIR ?= /etc
SBINDIR := $(PREFIX)/sbin
DATADIR := $(PREFIX)/share
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_PATHS := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g'

install:
	$(MAKE) -s -C extension
	$(MAKE) -s -C extension install
	$(MAKE) -s -C edge
	@scripts/stack.sh dashboard
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PREFIX)/lib/nevermisscall $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DATADIR)/nevermisscall $(DESTDIR)$(DATADIR)/doc/nevermisscall $(DESTDIR)$(SYSCONFDIR)/nevermisscall
	install -m 755 edge/nmc-edge $(DESTDIR)$(SBINDIR)/nmc-edge
	$(INSTALL_PATHS) deploy/nevermisscall-setup > $(DESTDIR)$(SBINDIR)/nevermisscall-setup
	chmod 755 $(DESTDIR)$(SBINDIR)/nevermisscall-setup
	install -m 644 scripts/lib/config_file.sh scripts/lib/cluster.sh $(DESTDIR)$(PREFIX)/lib/nevermisscall/
	rm -rf $(DESTDIR)$(DATADIR)/nevermisscall/dashboard
	cp -R dashboard/out $(DESTDIR)$(DATADIR)/nevermisscall/dashboard
	chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)/nevermisscall/dashboard
	$(INSTALL_PATHS) deploy/systemd/nevermisscall-edge.service > $(DESTDIR)$(UNITDIR)/nevermisscall-edge.service
	chmod 644 $(DESTDIR)$(UNITDIR)/nevermisscall-edge.service
	$(INSTALL_PATHS) deploy/nevermisscall.conf > $(DESTDIR)$(DATADIR)/nevermisscall/nevermisscall.conf.example
	install -m 644 deploy/secrets.conf $(DESTDIR)$(DATADIR)/nevermisscall/secrets.conf.example
	install -m 644 docs/operations.md $(DESTDIR)$(DATADIR)/doc/nevermisscall/operations.md
	test -e $(DESTDIR)$(SYSCONFDIR)/nevermisscall/nevermisscall.conf || \
		install -m 644 $(DESTDIR)$(DATADIR)/nevermisscall/nevermisscall.conf.example $(DESTDIR)$(SYSCONFDIR)/nevermisscall/nevermisscall.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/nevermisscall/secrets.conf || \
		install -m 600 deploy/secrets.conf $(DESTDIR)$(SYSCONFDIR)/nevermisscall/secrets.conf

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C fuzz clean
	$(MAKE) -C edge clean
	rm -rf dashboard/out dashboard/.next dashboard/.test-build test/browser/screenshots
