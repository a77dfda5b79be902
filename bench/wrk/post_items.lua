-- POST /items with a unique name per request (the name column is unique).
-- BENCH_PREFIX makes names unique across wrk runs; run.py deletes the rows afterwards.
local prefix = os.getenv("BENCH_PREFIX") or "bench"
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
  counter = counter + 1
  local body = string.format('{"name":"%s-%d","description":"written by the benchmark"}',
    prefix, counter)
  return wrk.format("POST", "/items", headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
