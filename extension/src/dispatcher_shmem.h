/*
 * dispatcher_shmem.h — what backends and the dispatcher worker share: the
 * worker's latch (so a committing backend can wake it), its pid, start time
 * and heartbeat, and when it next plans to do database work.
 */
#ifndef NMC_DISPATCHER_SHMEM_H
#define NMC_DISPATCHER_SHMEM_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern bool am_dispatcher;

extern void dispatcher_shmem_install_hooks(void);
extern void dispatcher_wake_install_callback(void);
extern void dispatcher_shmem_attach_worker(void);
extern void dispatcher_shmem_heartbeat(void);
extern void dispatcher_shmem_publish_plan(TimestampTz planned_work_at);

#endif
