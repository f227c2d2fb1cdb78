-- stdlib/php_fpm.lua: php-fpm's listen.allowed_clients, the list of web servers a PHP
-- handler takes FastCGI requests from (the guide: "When adding a new dispatcher all php-fpm
-- config files on all handlers must be updated so they allow connections from the new
-- dispatcher internal ip"; the file is /usr/local/etc/php-fpm.conf). Pure: text in, text out.
--
-- php-fpm reads the file as INI: an unquoted value ends at `;` (a comment) and loses the
-- blanks around it; a "double-quoted" or 'single-quoted' value is taken as written. It then
-- splits the value at each comma and nothing else: the blank after a comma stays part of
-- the next entry. Each entry goes through inet_pton (IPv4, or IPv6) and is compared byte for
-- byte with the client's address (php-src main/fastcgi.c, fcgi_set_allowed_clients and
-- fcgi_is_allowed). An entry it cannot read — ` 10.0.0.4` after `10.0.0.1, `, a network
-- such as 10.0.0.0/8, a name, an empty entry between two commas — is logged ("Wrong IP
-- address ' 10.0.0.4' in listen.allowed_clients") and left out, so the dispatcher it meant
-- is refused; a list with no valid entry lets nobody in ("There are no allowed addresses").
-- So the guide's "Must test with smth like 10.0.0.0/8" has its answer: it does not work;
-- every dispatcher's address is listed.
--
--   php_fpm.is_address(text) -> true when php-fpm takes `text` as an entry (an IPv4 or IPv6
--       address; no network, no name, no port, no blank)
--   php_fpm.allowed_clients(conf) -> { {pool =, line =, clients = {...}, invalid = {...}}, ... }
--       one per listen.allowed_clients line that is not commented out (`;`), with the pool
--       ([www]) it belongs to and its 1-based line number; `invalid` are the entries php-fpm
--       rejects, exactly as it reads them (blanks included). A pool without the line takes
--       connections from anywhere.
--   php_fpm.allow(conf, addresses [, name]) -> new_conf, added
--       every listen.allowed_clients line gets the addresses it lacks, appended in order
--       (quotes, a trailing comment, the rest of the file and its line endings are kept);
--       `added` lists "POOL: ADDRESS" for each one. A file with no such line is returned as
--       it is (it allows everyone). Errors when one of `addresses` is not an address php-fpm
--       takes, and when a line holds an entry php-fpm rejects: "NAME line N: ..." (NAME:
--       the file as the error should call it) — that line is for the operator to fix, never
--       edited around.

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

-- The value of an INI line's right-hand side as php-fpm reads it, and how to write it back
-- with more entries: {value =, quote =, raw =, tail =}. A value wholly in quotes keeps them
-- (quote); otherwise `;` outside "double quotes" starts a comment (tail), the blanks before
-- it go, and quoted parts join the rest without their quotes (INI's concatenation).
local function ini_value(raw)
  local quote, inner, after = raw:match('^(["\'])([^"\']*)%1(%s*;?.*)$')
  if quote then return { value = inner, quote = quote, raw = inner, tail = after } end
  local value, quoted, cut = {}, false, #raw + 1
  for i = 1, #raw do
    local char = raw:sub(i, i)
    if char == '"' then quoted = not quoted
    elseif char == ";" and not quoted then cut = i break
    else value[#value + 1] = char end
  end
  local before = raw:sub(1, cut - 1):match("^(.-)%s*$")
  local text = table.concat(value)
  if cut <= #raw then text = text:match("^(.-)%s*$") end
  return { value = text, quote = "", raw = before, tail = cut <= #raw and " " .. raw:sub(cut) or "" }
end

-- Comma-separated, as fcgi_set_allowed_clients splits: the blanks stay in the entries.
local function split(value)
  local list = {}
  for entry in (value .. ","):gmatch("([^,]*),") do list[#list + 1] = entry end
  return list
end

-- Calls fn(line, index, pool, head, value) for each active listen.allowed_clients line.
local function each_directive(lines, fn)
  local pool = "global"
  for index, line in ipairs(lines) do
    local section = line.body:match("^%s*%[([^%]]+)%]")
    if section then pool = section end
    local head, raw = line.body:match("^(%s*listen%.allowed_clients%s*=%s*)(.-)%s*$")
    if head then fn(line, index, pool, head, ini_value(raw)) end
  end
end

function M.allowed_clients(conf)
  local found = {}
  each_directive(lines_of(conf), function(_, index, pool, _, parsed)
    local entry = { pool = pool, line = index, clients = {}, invalid = {} }
    for _, client in ipairs(split(parsed.value)) do
      if M.is_address(client) then entry.clients[#entry.clients + 1] = client else entry.invalid[#entry.invalid + 1] = client end
    end
    found[#found + 1] = entry
  end)
  return found
end

function M.allow(conf, addresses, name)
  for _, address in ipairs(addresses) do
    if not M.is_address(address) then
      error(("php-fpm's listen.allowed_clients takes single addresses, not %s"):format(tostring(address)), 0)
    end
  end
  local lines = lines_of(conf)
  local added = {}
  each_directive(lines, function(line, index, pool, head, parsed)
    local list = split(parsed.value)
    local have = {}
    for _, client in ipairs(list) do
      if not M.is_address(client) then
        error(("%s line %d: listen.allowed_clients has '%s', which php-fpm rejects (\"Wrong IP address '%s'\") and leaves "
          .. "out; fix that line first (single addresses, separated by commas without blanks)"):format(
          name or "php-fpm's config", index, client, client), 0)
      end
      have[client] = true
    end
    local more = {}
    for _, address in ipairs(addresses) do
      if not have[address] then
        more[#more + 1], have[address] = address, true
        added[#added + 1] = pool .. ": " .. address
      end
    end
    if #more > 0 then
      line.body = head .. parsed.quote .. parsed.raw .. "," .. table.concat(more, ",") .. parsed.quote .. parsed.tail
    end
  end)
  local out = {}
  for _, line in ipairs(lines) do out[#out + 1] = line.body .. line.ending end
  return table.concat(out), added
end

return M
