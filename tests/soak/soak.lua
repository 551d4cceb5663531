-- wrk script for tests/soak/soak.sh: one connection per thread, a request every
-- `delay` ms, cycling through the agent's API: apply and revert a churn fault
-- (tbf on the thread's own interfaces), get, renew, list, metrics, health.
local tid_next = 0
function setup(thread)
   thread:set("tid", tid_next)
   tid_next = tid_next + 1
end

local token = os.getenv("SOAK_TOKEN")
local ns = os.getenv("SOAK_NS")
local npause = tonumber(os.getenv("SOAK_PAUSE"))
local ntbf = tonumber(os.getenv("SOAK_TBF"))
local nchurn = tonumber(os.getenv("SOAK_CHURN_IF"))
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS"))
local hdr = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local round = os.getenv("SOAK_ROUND")
local step, seq, t0, sent = 0, 0, 0, 0

-- Faults with index % 10 < 3 have short leases that must run out: never renewed.
local function long_id(renewable)
   local kind, n = "p-", npause
   if math.random(0, npause + ntbf - 1) >= npause then kind, n = "b-", ntbf end
   local i = math.random(0, n - 1)
   if renewable and i % 10 < 3 then i = i - i % 10 + 3 + math.random(0, 6) end
   if i >= n then i = n - 1 end
   return kind .. round .. "-" .. i
end

function init(args)
   math.randomseed(1000 + tid)
   t0 = os.time()
end

-- Pace each connection to 1000/delay_ms requests/s: no wait while behind
-- schedule (whole seconds: os.time), twice the period when a second ahead.
function delay()
   sent = sent + 1
   local due = (os.time() - t0 + 1) * 1000 / delay_ms
   if sent < due - 1000 / delay_ms then return 0 end
   if sent > due then return 2 * delay_ms end
   return delay_ms
end

function request()
   step = step + 1
   local k = step % 10
   if k == 1 then
      seq = seq + 1
      local body = string.format(
         '{"id":"c-%s-%d-%d","experiment":"churn","kind":"bandwidth","target":{"netns":"%s","interface":"c%d_%d"},"params":{"rate":"%dkbit"},"ttl_ms":5000}',
         round, tid, seq, ns, tid, seq % nchurn, 100 + seq % 900)
      return wrk.format("POST", "/v1/faults", hdr, body)
   elseif k == 5 then
      return wrk.format("DELETE", string.format("/v1/faults/c-%s-%d-%d", round, tid, seq), hdr)
   elseif k == 2 or k == 7 then
      return wrk.format("GET", "/v1/faults/" .. long_id(), hdr)
   elseif k == 3 or k == 9 then
      return wrk.format("POST", "/v1/faults/" .. long_id(true) .. "/renew", hdr, '{"ttl_ms":120000}')
   elseif k == 4 then
      return wrk.format("GET", "/metrics", hdr)
   elseif k == 6 then
      return wrk.format("GET", "/v1/health")
   elseif k == 8 and step % 20 == 8 then
      return wrk.format("GET", "/v1/faults", hdr)
   else
      return wrk.format("GET", "/v1/faults/" .. long_id(), hdr)
   end
end

function done(summary, latency, requests)
   io.write(string.format("soak: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000))
end
