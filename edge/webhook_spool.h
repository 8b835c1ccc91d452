/* Twilio's webhooks while the database is down: a webhook the database cannot
 * take is written to a spool directory (fsync'd before Twilio gets its
 * answer), answered from the fallback answers the database published
 * (nmc_api.webhook_fallbacks, kept on disk too), and replayed in arrival order
 * through nmc_api.handle — with its arrival time in the edge argument — once the
 * database is back. An edge restart loses nothing: the files stay. Without a
 * fallback answer for the path (the database never reached since the spool
 * was made), nothing is promised: the caller gets 503 as before.
 * One spool per process (webhook_spool.c). */
#ifndef NMC_WEBHOOK_SPOOL_H
#define NMC_WEBHOOK_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "db_pool.h"
#include "api_proxy.h"

/* Opens (creating it, mode 0700) dir, counts what waits there from an earlier
 * run, loads the fallback answers kept there, and starts the replay thread.
 * At most max files are kept. False (after logging) if dir is unusable. */
bool webhook_spool_start(const char *dir, unsigned int max, struct db_pool *pool);
/* Stops the replay thread (files stay for the next start). */
void webhook_spool_stop(void);

/* The answer to give for a webhook to path with this form body while the
 * database is down: a copy of its content type and body (the caller frees
 * both), or false when none is known or the spool is off or full. */
bool webhook_spool_answer(const char *path, const char *body, char **content_type, char **answer);
/* Keeps the request (nmc_api.handle's parameters) durably; true once it is on
 * disk, so the answer may be sent. */
bool webhook_spool_put(const char *const params[HANDLE_NPARAMS]);

/* For /metrics and GET /api/status. */
uint64_t webhook_spool_depth(void);
uint64_t webhook_spool_spooled(void);
uint64_t webhook_spool_replayed(void);
uint64_t webhook_spool_failed(void);

#endif
