-- stdlib/php_fpm.lua: php-fpm's listen.allowed_clients, the list of web servers a PHP
-- handler takes FastCGI requests from (the guide: "When adding a new dispatcher all php-fpm
-- config files on all handlers must be updated so they allow connections from the new
-- dispatcher internal ip"; the file is /usr/local/etc/php-fpm.conf). Pure: text in, text out.
--
-- php-fpm reads the value as a comma-separated list of single addresses: each entry goes
-- through inet_pton (IPv4, or IPv6) and is compared byte for byte with the client's address
-- (php-src main/fastcgi.c, fcgi_set_allowed_clients and fcgi_is_allowed). A network such as
-- 10.0.0.0/8 is not an address: php-fpm logs "Wrong IP address '10.0.0.0/8' in
-- listen.allowed_clients" and leaves it out, and a list with no valid entry lets nobody in
-- ("There are no allowed addresses"). So the guide's "Must test with smth like 10.0.0.0/8"
-- has its answer: it does not work; every dispatcher's address is listed.
--
--   php_fpm.is_address(text) -> true when php-fpm takes `text` as an entry (an IPv4 or IPv6
--       address; no network, no name, no port)
--   php_fpm.allowed_clients(conf) -> { {pool =, line =, clients = {...}, invalid = {...}}, ... }
--       one per listen.allowed_clients line that is not commented out (`;`), with the pool
--       ([www]) it belongs to and its 1-based line number; `invalid` are the entries php-fpm
--       ignores. A pool without the line takes connections from anywhere.
--   php_fpm.allow(conf, addresses) -> new_conf, added
--       every listen.allowed_clients line gets the addresses it lacks, appended in order (the
--       rest of the file, comments and line endings are kept); `added` lists "POOL: ADDRESS"
--       for each one. A file with no such line is returned as it is (it allows everyone).
--       Errors when one of `addresses` is not an address php-fpm takes.

local M = {}

function M.is_address(text)
  if type(text) ~= "string" then return false end
  local a, b, c, d = text:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
  if a then
    for _, part in ipairs({ a, b, c, d }) do
      if tonumber(part) > 255 then return false end
    end
    return true
  end
  -- IPv6: hex groups and colons (an IPv4 tail allowed), at most one "::".
  if not text:find(":", 1, true) or text:find("[^%x:%.]") then return false end
  local _, doubles = text:gsub("::", "")
  return doubles <= 1 and #text <= 45
end

-- The lines of `text`, each with its own line ending ("" for a last line without one).
local function lines_of(text)
  local out = {}
  for body, ending in text:gmatch("([^\r\n]*)(\r?\n?)") do
    if body == "" and ending == "" then break end
    out[#out + 1] = { body = body, ending = ending }
  end
  return out
end

local function split(value)
  value = value:gsub('^"(.*)"$', "%1"):gsub("^'(.*)'$", "%1")
  local list = {}
  for entry in value:gmatch("[^,]+") do
    entry = entry:match("^%s*(.-)%s*$")
    if entry ~= "" then list[#list + 1] = entry end
  end
  return list
end

-- Calls fn(line, index, pool, head, value) for each active listen.allowed_clients line.
local function each_directive(lines, fn)
  local pool = "global"
  for index, line in ipairs(lines) do
    local section = line.body:match("^%s*%[([^%]]+)%]")
    if section then pool = section end
    local head, value = line.body:match("^(%s*listen%.allowed_clients%s*=%s*)(.-)%s*$")
    if head then fn(line, index, pool, head, value) end
  end
end

function M.allowed_clients(conf)
  local found = {}
  each_directive(lines_of(conf), function(_, index, pool, _, value)
    local entry = { pool = pool, line = index, clients = {}, invalid = {} }
    for _, client in ipairs(split(value)) do
      if M.is_address(client) then entry.clients[#entry.clients + 1] = client else entry.invalid[#entry.invalid + 1] = client end
    end
    found[#found + 1] = entry
  end)
  return found
end

function M.allow(conf, addresses)
  for _, address in ipairs(addresses) do
    if not M.is_address(address) then
      error(("php-fpm's listen.allowed_clients takes single addresses, not %s"):format(tostring(address)), 0)
    end
  end
  local lines = lines_of(conf)
  local added = {}
  each_directive(lines, function(line, _, pool, head, value)
    local list = split(value)
    local have = {}
    for _, client in ipairs(list) do have[client] = true end
    local grew = false
    for _, address in ipairs(addresses) do
      if not have[address] then
        list[#list + 1], have[address], grew = address, true, true
        added[#added + 1] = pool .. ": " .. address
      end
    end
    if grew then line.body = head .. table.concat(list, ",") end
  end)
  local out = {}
  for _, line in ipairs(lines) do out[#out + 1] = line.body .. line.ending end
  return table.concat(out), added
end

return M
