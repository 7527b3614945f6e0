-- wrk script for the bare endpoint: only the latency summary, in the same format as votes.lua.
done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
