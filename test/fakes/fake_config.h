/* Settings read once from the environment at start-up; read-only after. */
#ifndef FAKE_CONFIG_H
#define FAKE_CONFIG_H

struct fake_config {
	unsigned port;
	const char *twilio_account_sid;
	const char *twilio_auth_token;
	const char *openai_api_key;
	const char *maps_api_key;
};

extern struct fake_config fake_cfg;

/* Returns 0, or -1 after printing why the environment is unusable. */
int fake_config_load(void);

#endif
