-- jwt.sql — SQL declarations of the HS256 JWT functions written in C (extension/src/jwt.c).
CREATE FUNCTION nmc.jwt_sign(claims jsonb, secret text)
RETURNS text
LANGUAGE c STRICT IMMUTABLE
AS 'MODULE_PATHNAME', 'nmc_jwt_sign';
COMMENT ON FUNCTION nmc.jwt_sign(jsonb, text) IS
    'Signs claims as an HS256 JWT with secret. Header is {"alg":"HS256","typ":"JWT"}.';

CREATE FUNCTION nmc.jwt_verify(token text, secret text, at timestamptz DEFAULT now())
RETURNS jsonb
LANGUAGE c STRICT STABLE
AS 'MODULE_PATHNAME', 'nmc_jwt_verify';
COMMENT ON FUNCTION nmc.jwt_verify(text, text, timestamptz) IS
    'Verifies an HS256 JWT and returns its claims. Refusals: NMJ01 jwt_malformed, NMJ02 jwt_alg_not_allowed, NMJ03 jwt_bad_signature, NMJ04 jwt_expired (exp <= at), NMJ05 jwt_alg_none, NMJ06 jwt_not_yet_valid (nbf > at, or iat more than 60 s after at).';
