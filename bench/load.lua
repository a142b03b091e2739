-- wrk load for the realistic benchmark (bench/bench_realistic.py writes the plan files it reads).
--
--   wrk -t1 -c32 -d12s --timeout 10s -s bench/load.lua http://127.0.0.1:PORT -- PLAN_DIR MODE
--
-- Signed-in requests rotate over every viewer in viewers.txt (>= 100 distinct users, each "id token").
-- Feed-like modes ask for the head of the feed 70% of the time and for an older page 30% of the time
-- (cursors.txt: `latest_time` values of pages 2.. as the app returned them, repeated by how often a
-- scrolling viewer reaches that page). Lists of users and videos come from those same pages, 70% from
-- the head page (*_head.txt) and 30% from older ones (*_old.txt).
--
-- MODE is one of
--   feed          GET  /douyin/feed/[?latest_time=C]&token=T
--   feed_anon     GET  /douyin/feed/[?latest_time=C]
--   graphql_feed  POST /graphql, the REST feed's fields, Authorization: Bearer T, `before` = C
--   user          GET  /douyin/user/?user_id=U&token=T
--   comments      GET  /douyin/comment/list/?video_id=V&token=T
--   chat          GET  /douyin/message/chat/?token=T&to_user_id=P&pre_msg_time=M   (nothing new)
--   typename      POST /graphql { __typename }
--   plain         POST /plain (the same body)
--   bytes         GET  /bytes
--
-- A response counts as failed when its HTTP status is not 200, when a douyin body does not start with
-- {"status_code":0 and when a GraphQL body has "errors". done() prints one line, `BENCH {json}`.

local plan, mode
local viewers, cursors, cursors_iso = {}, {}, {}
local users_head, users_old, videos_head, videos_old, chats = {}, {}, {}, {}, {}
local counter = 0
non200, bad = 0, 0
local threads = {}
local graphql_body_head, graphql_body_before
local typename_body = '{"query":"{ __typename }"}'

local FEED_QUERY = "query Feed($first: Int!, $before: DateTime) { feed(first: $first, before: $before) "
  .. "{ nodes { id author { id name followCount followerCount viewerIsFollowing avatar backgroundImage "
  .. "signature totalFavorited workCount favoriteCount } playUrl coverUrl favoriteCount commentCount "
  .. "viewerHasLiked title createdAt } } }"

local function read_lines(name)
  local t = {}
  local file = io.open(plan .. "/" .. name, "r")
  if file == nil then return t end
  for line in file:lines() do
    if #line > 0 then t[#t + 1] = line end
  end
  file:close()
  return t
end

local function fields(line)
  local t = {}
  for field in line:gmatch("%S+") do t[#t + 1] = field end
  return t
end

function setup(thread)
  thread:set("thread_number", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  plan, mode = args[1], args[2]
  for _, line in ipairs(read_lines("viewers.txt")) do
    local f = fields(line)
    viewers[#viewers + 1] = { id = f[1], token = f[2] }
  end
  cursors = read_lines("cursors.txt")
  cursors_iso = read_lines("cursors_iso.txt")
  users_head, users_old = read_lines("users_head.txt"), read_lines("users_old.txt")
  videos_head, videos_old = read_lines("videos_head.txt"), read_lines("videos_old.txt")
  for _, line in ipairs(read_lines("chats.txt")) do
    local f = fields(line)
    chats[#chats + 1] = { token = f[1], peer = f[2], after = f[3] }
  end
  math.randomseed(os.time() * 1000 + (thread_number or 1))
  counter = math.random(1, math.max(1, #viewers))
  graphql_body_head = '{"query":"' .. FEED_QUERY .. '","variables":{"first":30,"before":null}}'
  graphql_body_before = '{"query":"' .. FEED_QUERY .. '","variables":{"first":30,"before":"%s"}}'
end

local function pick(head, old)
  if math.random() < 0.7 or #old == 0 then return head[math.random(#head)] end
  return old[math.random(#old)]
end

function request()
  counter = counter + 1
  local viewer = viewers[(counter % #viewers) + 1]
  if mode == "feed" or mode == "feed_anon" then
    local path = "/douyin/feed/"
    local older = math.random() >= 0.7
    if older then path = path .. "?latest_time=" .. cursors[math.random(#cursors)] end
    if mode == "feed" then path = path .. (older and "&" or "?") .. "token=" .. viewer.token end
    return wrk.format("GET", path)
  elseif mode == "graphql_feed" then
    local body = graphql_body_head
    if math.random() >= 0.7 then
      body = string.format(graphql_body_before, cursors_iso[math.random(#cursors_iso)])
    end
    local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. viewer.token }
    return wrk.format("POST", "/graphql", headers, body)
  elseif mode == "user" then
    return wrk.format("GET", "/douyin/user/?user_id=" .. pick(users_head, users_old) .. "&token=" .. viewer.token)
  elseif mode == "comments" then
    return wrk.format("GET", "/douyin/comment/list/?video_id=" .. pick(videos_head, videos_old)
      .. "&token=" .. viewer.token)
  elseif mode == "chat" then
    local chat = chats[(counter % #chats) + 1]
    return wrk.format("GET", "/douyin/message/chat/?token=" .. chat.token .. "&to_user_id=" .. chat.peer
      .. "&pre_msg_time=" .. chat.after)
  elseif mode == "typename" then
    return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, typename_body)
  elseif mode == "plain" then
    return wrk.format("POST", "/plain", { ["Content-Type"] = "application/json" }, typename_body)
  elseif mode == "bytes" then
    return wrk.format("GET", "/bytes")
  end
  error("unknown mode " .. tostring(mode))
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif mode == "graphql_feed" or mode == "typename" then
    if string.find(body, '"errors"', 1, true) then bad = bad + 1 end
  elseif mode ~= "plain" and mode ~= "bytes" then
    if string.sub(body, 1, 16) ~= '{"status_code":0' then bad = bad + 1 end
  end
end

function done(summary, latency, requests)
  local total_non200, total_bad = 0, 0
  for _, thread in ipairs(threads) do
    total_non200 = total_non200 + (thread:get("non200") or 0)
    total_bad = total_bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"socket_errors":%d,"non200":%d,"bad":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, total_non200, total_bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
