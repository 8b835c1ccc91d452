/* The libmicrohttpd daemon: request bodies, dispatch to the fakes, fault
 * injection and recording. */
#ifndef FAKE_ROUTER_H
#define FAKE_ROUTER_H

struct MHD_Daemon;

/* Listens on 127.0.0.1:port (0: any free port). NULL on failure. */
struct MHD_Daemon *router_start(unsigned port);
/* The port actually bound. */
unsigned router_port(struct MHD_Daemon *d);

#endif
