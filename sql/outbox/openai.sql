-- openai.sql — the openai.chat job kind: a chat completion request to an
-- OpenAI-compatible endpoint (base URL and model from nmc.settings, bearer
-- key never stored in the job). The conversation engine builds the request
-- body and consumes the result.
CREATE FUNCTION nmc.openai_chat_build(j nmc.jobs, cfg jsonb)
RETURNS nmc.http_request
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF coalesce(cfg ->> 'openai_api_key', '') = '' THEN
        RAISE EXCEPTION 'OpenAI is not configured (NMC_OPENAI_API_KEY is empty)';
    END IF;
    IF jsonb_typeof(j.payload -> 'request') IS DISTINCT FROM 'object'
       OR jsonb_typeof(j.payload #> '{request,messages}') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'openai.chat payload needs request.messages';
    END IF;
    RETURN ROW('POST', rtrim(cfg ->> 'openai_api_base', '/') || '/chat/completions',
               ARRAY['Content-Type: application/json', 'Accept: application/json',
                     'Authorization: Bearer ' || (cfg ->> 'openai_api_key')],
               (jsonb_build_object('model', cfg ->> 'openai_model') || (j.payload -> 'request'))::text,
               NULL, NULL, NULL)::nmc.http_request;
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_build(nmc.jobs, jsonb) IS 'openai.chat: POST {openai_api_base}/chat/completions with payload.request plus the configured model.';

CREATE FUNCTION nmc.openai_chat_apply(j nmc.jobs, response jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF jsonb_typeof(response #> '{choices,0,message}') IS DISTINCT FROM 'object' THEN
        PERFORM nmc.job_permanent_error('the chat completion has no choices[0].message', 'invalid_response');
    END IF;
    IF j.payload ? 'turn_id' THEN
        PERFORM nmc.ai_turn_apply(j, response #> '{choices,0,message}');
    END IF;
    RETURN jsonb_build_object('message', response #> '{choices,0,message}',
                              'finish_reason', response #>> '{choices,0,finish_reason}',
                              'usage', response -> 'usage', 'id', response -> 'id');
END
$$;
COMMENT ON FUNCTION nmc.openai_chat_apply(nmc.jobs, jsonb) IS 'openai.chat success: an assistant turn''s step is applied (nmc.ai_turn_apply); the job result keeps the assistant message, finish reason and usage.';
