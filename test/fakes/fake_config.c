/* Environment configuration. Defaults are the fake credentials the test
 * suite and benchmark use, so starting the binary bare just works. */
#include "fake_config.h"

#include <stdio.h>
#include <stdlib.h>

struct fake_config fake_cfg;

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

int fake_config_load(void)
{
	const char *port = env_or("FAKE_PORT", "18999");
	char *end;
	long p = strtol(port, &end, 10);

	/* Port 0 is allowed: the kernel picks one and the ready line says it. */
	if (*end != '\0' || p < 0 || p > 65535) {
		fprintf(stderr, "nmc-fake-providers: FAKE_PORT '%s' is not a port number\n", port);
		return -1;
	}
	fake_cfg.port = (unsigned)p;
	fake_cfg.twilio_account_sid = env_or("FAKE_TWILIO_ACCOUNT_SID",
					     "ACffffffffffffffffffffffffffffffff");
	fake_cfg.twilio_auth_token = env_or("FAKE_TWILIO_AUTH_TOKEN",
					    "fake_auth_token_0123456789abcdef");
	fake_cfg.openai_api_key = env_or("FAKE_OPENAI_API_KEY", "sk-fake-0123456789");
	fake_cfg.maps_api_key = env_or("FAKE_MAPS_API_KEY", "fake-maps-key");
	return 0;
}
