-- wrk script for bench_votes.py: random verified voters vote for popular and unpopular entries.
-- Reads tickets and entries from files named by the environment; records accepted vote ids per thread.
local counter = 0
local tickets, entries, weights = {}, {}, {}
local out
local thread_id

local function lines(path)
  local t = {}
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end

function init(args)
  tickets = lines(os.getenv("BENCH_TICKETS"))
  entries = lines(os.getenv("BENCH_ENTRIES"))
  thread_id = tid
  math.randomseed(tonumber(tid))
  out = io.open(os.getenv("BENCH_OUT") .. "/accepted-" .. tid .. ".txt", "w")
  -- A few entries draw most votes, as in a real campaign (roughly Zipf).
  local total = 0
  for i = 1, #entries do total = total + 1 / i; weights[i] = total end
  for i = 1, #entries do weights[i] = weights[i] / total end
end

local function pick_entry()
  local r = math.random()
  for i = 1, #weights do if r <= weights[i] then return entries[i] end end
  return entries[#entries]
end

-- BENCH_DELAY_MS paces each connection (a paced run measures latency below saturation).
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pace > 0 then
  delay = function()
    return math.floor(pace * (0.5 + math.random()))  -- jittered around the mean, so requests do not march
  end
end

request = function()
  counter = counter + 1
  local ticket = tickets[math.random(1, #tickets)]
  local body = '{"entry_id":"' .. pick_entry() .. '","count":1,"idempotency_key":"' .. thread_id .. "-" .. counter .. '"}'
  return wrk.format("POST", os.getenv("BENCH_PATH"), {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. ticket,
    ["X-Real-IP"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254),
  }, body)
end

response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"vote_id":"([%x%-]+)"')
    if id then out:write(id, "\n") end
  end
end

done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
