-- signed_requests.lua — wrk script for the flat-out webhook runs (bench/feed.pl,
-- bench/webhooks.pl): each thread sends its own share of pre-signed Twilio
-- webhooks to the path NMC_BENCH_PATH (default /webhooks/twilio/sms), read from
-- the file named by NMC_BENCH_REQUESTS (one "signature<TAB>form body" per line),
-- each once; a thread that runs out stops rather than repeat a SID.
local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local nthreads = tonumber(os.getenv("NMC_BENCH_WRK_THREADS"))
   lines = {}
   local n = 0
   for line in io.lines(os.getenv("NMC_BENCH_REQUESTS")) do
      if n % nthreads == id then
         local sig, body = line:match("^([^\t]+)\t(.*)$")
         table.insert(lines, { sig = sig, body = body })
      end
      n = n + 1
   end
   path = os.getenv("NMC_BENCH_PATH") or "/webhooks/twilio/sms"
   next_line = 1
   exhausted = 0
   non200 = 0
end

function request()
   local r = lines[next_line]
   if r == nil then
      exhausted = 1
      wrk.thread:stop()
      r = lines[#lines]
   end
   next_line = next_line + 1
   return wrk.format("POST", path,
      { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = r.sig }, r.body)
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
   end
end

function done(summary, latency, requests)
   local bad, ran_out = 0, 0
   for _, t in ipairs(threads) do
      bad = bad + t:get("non200")
      ran_out = ran_out + t:get("exhausted")
   end
   io.write(string.format("WRK requests=%d seconds=%.3f non200=%d ran_out=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration / 1e6, bad, ran_out, latency:percentile(50), latency:percentile(99)))
end
