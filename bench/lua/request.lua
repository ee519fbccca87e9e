-- One request shape per run, from environment variables; prints a JSON line with the figures at the end.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local deliveries_file = os.getenv("BENCH_DELIVERIES")
-- With BENCH_CREATORS=n, every request names a creator drawn at random among creator00000..creator<n-1>:
-- "{username}" in the URL path (BENCH_PATH) and in the body is replaced by that creator's username.
local creators = tonumber(os.getenv("BENCH_CREATORS") or "0")
local path_template = os.getenv("BENCH_PATH")

local deliveries = {}
local next_delivery = 1

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  if deliveries_file then
    for line in io.lines(deliveries_file) do
      local auth, payload = line:match("^([^\t]+)\t(.*)$")
      deliveries[#deliveries + 1] = { auth, payload }
    end
    -- Threads start at different offsets so two threads do not send the same delivery at once.
    next_delivery = math.random(#deliveries)
  end
end

function request()
  local headers = {}
  if cookie then headers["Cookie"] = cookie end
  if csrf then headers["X-CSRFToken"] = csrf end
  if deliveries_file then
    local d = deliveries[next_delivery]
    next_delivery = next_delivery % #deliveries + 1
    headers["Content-Type"] = "application/webhook+json"
    headers["Authorization"] = d[1]
    return wrk.format("POST", nil, headers, d[2])
  end
  if body then headers["Content-Type"] = "application/json" end
  if creators > 0 then
    local username = string.format("creator%05d", math.random(0, creators - 1))
    local path = path_template and path_template:gsub("{username}", username) or nil
    local this_body = body and body:gsub("{username}", username) or nil
    return wrk.format(method, path, headers, this_body)
  end
  return wrk.format(method, nil, headers, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
