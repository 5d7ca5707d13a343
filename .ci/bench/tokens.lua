-- wrk script for bench/run: each request carries the next of the bearer tokens given after `--`,
-- so a signed-in route is measured across many users rather than one.
local tokens = {}
local next_index = 1

function init(args)
   for _, token in ipairs(args) do
      tokens[#tokens + 1] = token
   end
   next_index = math.random(#tokens)
end

function request()
   next_index = next_index % #tokens + 1
   return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. tokens[next_index] })
end
