/* Which requests the edge may commit in groups (api_call.c): the database
 * says, through nmc_api.grouped_routes(); the edge itself knows no route. */
#ifndef NMC_GROUPED_ROUTES_H
#define NMC_GROUPED_ROUTES_H

#include <stdbool.h>

#include "db_pool.h"

/* Whether METHOD PATH is one of the routes the database lists. The list is
 * read on first use and again at most once a minute (so an extension update
 * is seen); while it cannot be read, nothing is grouped (and it is tried
 * again a second later). */
bool grouped_route(struct db_pool *pool, const char *method, const char *path);

#endif
