-- runbooks/add-codebase.lua: the guide's "Add a new codebase" ("Make a snippet and run
-- create_new_shared_code_group($install->free,$handler_id) ... It will add a queue record for
-- this in queue table. Normally it takes few to several minutes to checkout divinity.") and
-- the first half of "Sign up a customer to their own codebase" ("Create a codebase with
-- limit=1 to only allow one site to be there").
--
-- It checks out the Divinity code into SHARED_CODES/code_share_{free|paid}_N on this server
-- and adds the shared_code_groups row that stdlib/codebase.lua chooses from, with a queue
-- record that shows the work running, done or failed. Run it on the handler that gets the
-- codebase: the checkout is made on this machine.
local codebase = require("codebase")
local handlers = require("handlers")
local ids = require("ids")
local queue = require("queue")
local setting = require("settings")
local svn = require("svn")

local DEFAULT_SHARED_CODES = "/home/shared_codes"
local DEFAULT_LIMIT = 50
local CONNECTION = "internal"

-- The handler on which to install the shared code: --handler (an id or a hostname), else
-- settings.this_server. Refused, in one line, when it is not in the handlers table, or when
-- it is another server than this one (the checkout is made here).
local function handler_here(wanted)
  local this_server = setting.lower("this_server")
  wanted = wanted or this_server
  if not wanted then
    error("--handler is required: settings.this_server is not set, so the handler of this server is not known", 0)
  end
  local row = handlers.find(CONNECTION, wanted)
  if not row then
    error(("handler '%s' is not in the handlers table (known: %s)"):format(wanted, handlers.known(CONNECTION)), 0)
  end
  if this_server and row.hostname:lower() ~= this_server then
    error(("handler %d is %s, but this server is %s (settings.this_server): the checkout is made on this machine, "
      .. "so run add-codebase on %s"):format(row.id, row.hostname, this_server, row.hostname), 0)
  end
  return row
end

-- "1" < "2" < "10"; numbers before anything else.
local function revision_less(a, b)
  local x, y = tonumber(a), tonumber(b)
  if x and y then return x < y end
  if x or y then return x ~= nil end
  return a < b
end

-- The revision the other groups of the plan are at (the most common one; the highest on a
-- tie), so that installs can move between them and the new group ("Change codebase: the
-- current codebase and the new must be the same revisions"); HEAD when there is none.
local function default_revision(free, repository)
  local rows = db.query(CONNECTION, [[
    SELECT revision, COUNT(*) AS n FROM shared_code_groups
    WHERE free = ? AND (repository = ? OR repository = '')
    GROUP BY revision]], { free, repository })
  if #rows == 0 then return "HEAD", "there is no other group for these installs: the latest revision" end
  table.sort(rows, function(a, b)
    if a.n ~= b.n then return a.n > b.n end
    return revision_less(b.revision, a.revision)
  end)
  local total, others = 0, {}
  for _, row in ipairs(rows) do
    total = total + row.n
    if row ~= rows[1] then others[#others + 1] = ("%s (%d)"):format(row.revision, row.n) end
  end
  local reason = ("the revision of %d of the %d groups for these installs, so installs can move between them"):format(rows[1].n, total)
  if #others > 0 then reason = reason .. "; the others are at " .. table.concat(others, ", ") end
  return rows[1].revision, reason
end

-- The next N of SHARED_CODES/code_share_PLAN_N: above every N in the table and on disk.
local function next_directory(base, plan)
  local prefix = "code_share_" .. plan .. "_"
  local highest = 0
  for _, group in ipairs(db.query(CONNECTION, "SELECT dir FROM shared_code_groups")) do
    local n = tonumber(group.dir:match("/" .. prefix .. "(%d+)/?$") or "")
    if n and n > highest then highest = n end
  end
  if fs.exists(base) then
    for _, name in ipairs(fs.list(base)) do
      local n = tonumber(name:match("^" .. prefix .. "(%d+)$") or "")
      if n and n > highest then highest = n end
    end
  end
  return ("%s/%s%d"):format(base, prefix, math.tointeger(highest + 1))
end

-- Everything the run needs, read and checked before anything changes.
local function prepare(args)
  local p = { plan = args.plan, free = args.plan == "free" and 1 or 0 }

  local base = setting.string("shared_codes") or DEFAULT_SHARED_CODES
  if type(base) ~= "string" or base:sub(1, 1) ~= "/" then
    error("the shared codes folder must be an absolute path, got " .. tostring(base), 0)
  end
  p.base = base:gsub("/+$", "")
  if p.base == "" then error("the shared codes folder cannot be /", 0) end

  p.repository = args.repository or setting.string("svn_repository")
  if type(p.repository) ~= "string" or p.repository == "" then
    error("--repository is required: settings.svn_repository is not set", 0)
  end
  if p.repository:sub(1, 1) == "-" then error("--repository: '" .. p.repository .. "' is not a repository URL", 0) end

  if args.own then
    if args.limit and args.limit ~= 1 then
      error(("--own makes a customer's own codebase, which has limit 1; --limit %d contradicts it"):format(args.limit), 0)
    end
    p.limit, p.limit_reason = 1, "a customer's own codebase (--own " .. args.own .. ")"
  elseif args.limit then
    p.limit, p.limit_reason = args.limit, "--limit"
  elseif settings.codebase_limit ~= nil then
    p.limit = math.tointeger(settings.codebase_limit)
    if not p.limit or p.limit < 1 then
      error("settings.codebase_limit must be a positive integer, got " .. tostring(settings.codebase_limit), 0)
    end
    p.limit_reason = "settings.codebase_limit"
  else
    p.limit, p.limit_reason = DEFAULT_LIMIT, "the default"
  end

  step("Find the handler on which to install the shared code", function()
    p.handler = handler_here(args.handler)
    log.info(("handler %d: %s (%s)"):format(p.handler.id, p.handler.hostname, p.handler.kind))
    if p.handler.kind ~= "dispatcher" then
      log.warn(("handler %d is a %s handler: installs are mastered on dispatchers, so stdlib/codebase.lua gives "
        .. "this group only to installs pinned to it in settings.pins"):format(p.handler.id, p.handler.kind))
    end
  end)

  step("Choose the revision and the code_share folder", function()
    local wanted, reason
    if args.revision then
      wanted, reason = args.revision, "--revision"
    else
      wanted, reason = default_revision(p.free, p.repository)
    end
    local spelled = tostring(wanted):gsub("^[rR](%d+)$", "%1")
    if not (spelled:match("^%d+$") or spelled:upper() == "HEAD") then
      error(("revision '%s' is not a Subversion revision (a number or HEAD)"):format(tostring(wanted)), 0)
    end
    local what = ("revision %s of %s"):format(spelled, p.repository)
    local resolved = svn.read(what, { "info", "--show-item", "revision", "-r", spelled:upper(), p.repository }, { timeout = 300 })
    p.revision = resolved:match("^%s*(%d+)%s*$")
    if not p.revision then error(("cannot read %s: svn printed '%s'"):format(what, resolved), 0) end
    -- The installs link heavymetal/ and html/ of the codebase: refuse anything else (the
    -- repository root instead of the trunk, a file).
    local top = {}
    for name in svn.read(what, { "list", "-r", p.revision, p.repository }, { timeout = 300 }):gmatch("[^\n]+") do
      top[name] = true
    end
    if not (top["heavymetal/"] and top["html/"]) then
      error(("%s is not the Divinity code: it has no heavymetal/ and html/ at its top"):format(what), 0)
    end
    log.info(("revision %s (%s)"):format(p.revision, spelled:upper() == "HEAD" and reason .. ": HEAD is r" .. p.revision or reason))

    p.dir = next_directory(p.base, p.plan)
    -- The ids are taken now and inserted explicitly, so the dry-run plans the rows, ids
    -- included, that the real run inserts (stdlib/ids.lua; the "shared-codes" lock keeps
    -- two add-codebase runs apart).
    p.group_id = ids.next(CONNECTION, "shared_code_groups")
    -- A pin may name a group before it exists (from this runbook's dry-run): the new group
    -- is then reserved for that customer, which only --own for that customer may make.
    for email, pin in pairs(setting.table("pins")) do
      if type(pin) == "table" and math.tointeger(pin.group) == p.group_id
         and not (args.own and tostring(email):lower() == args.own:lower()) then
        error(("settings.pins reserves group %d, the id the new group would get, for %s: run add-codebase --own %s, "
          .. "or correct that pin"):format(p.group_id, tostring(email), tostring(email)), 0)
      end
    end
    log.info(("shared code group %d: %s, for %s installs, limit %d (%s)"):format(
      p.group_id, p.dir, p.plan, p.limit, p.limit_reason))
  end)
  return p
end

-- The pins lines of a customer's own codebase (the runbook cannot edit the configuration).
local function report_pin(p, email)
  local existing = codebase.pin(email)
  if existing and existing.group == p.group_id and (existing.handler == nil or existing.handler == p.handler.id) then
    log.info(("settings.pins already pins %s to group %d: nothing to add to the configuration"):format(email, p.group_id))
    return
  end
  if existing and existing.group then
    log.warn(("settings.pins pins %s to group %d now; replace that entry with the lines below"):format(email, existing.group))
  end
  log.warn(("until these lines are in the engine configuration, group %d is not reserved for %s: "
    .. "the next %s install mastered on handler %d may be given it. Add them to the engine configuration:"):format(
    p.group_id, email, p.plan, p.handler.id))
  print(('[settings.pins."%s"]'):format(email))
  print(("group = %d"):format(p.group_id))
  print(("handler = %d"):format(p.handler.id))
end

return runbook {
  summary = "Add a new codebase: check out Divinity into a new code_share folder and add its shared_code_groups row",
  runs_on = "the handler that gets the codebase (settings.this_server); checks out there",
  doc = [[
    The guide's "Add a new codebase" (create_new_shared_code_group($install->free, $handler_id)).
    Run it on the handler that gets the codebase: it checks out REPOSITORY at REVISION into
    SHARED_CODES/code_share_{free|paid}_N (the next N not in the table nor on disk), then adds
    the shared_code_groups row (dir, free, revision, limit, handler_id, repository) that new
    installs are given by stdlib/codebase.lua. A queue record (runbook add-codebase) shows the
    work running, then done; a failed run undoes the checkout and the row and leaves the
    queue record failed with the error.

    --own EMAIL makes a customer's own codebase (the guide's "Sign up a customer to their own
    codebase"): limit 1, and the run prints the [settings.pins."EMAIL"] lines to add to the
    engine configuration, which reserve the group for that customer.

    Defaults: --handler settings.this_server; --revision the revision most other groups of the
    plan are at (installs can only move between groups at the same revision), else HEAD;
    --limit settings.codebase_limit, else 50; --repository settings.svn_repository; the folder
    settings.shared_codes, else /home/shared_codes. See docs/runbooks.md.
  ]],
  params = {
    plan = { type = "enum", values = { "free", "paid" }, required = true,
             doc = "the installs the codebase is for (the guide's $install->free: 1 free, 0 paid)" },
    handler = { type = "string",
                doc = "handlers.id or hostname on which to install the shared code (default settings.this_server)" },
    limit = { type = "int", min = 1, max = 100000,
              doc = "most installs the codebase may serve (default settings.codebase_limit, else 50; 1 with --own)" },
    own = { type = "email", doc = "a customer's own codebase: limit 1, and the settings.pins lines to reserve it" },
    revision = { type = "string",
                 doc = "Subversion revision or HEAD (default the revision of the plan's other groups, else HEAD)" },
    repository = { type = "string", doc = "the Divinity repository URL (default settings.svn_repository)" },
  },
  -- A failed run leaves no row and no folder: the checkout and the row are undone.
  on_failure = "undo",
  -- Two runs must not pick the same N or the same ids.
  locks = function() return { "shared-codes" } end,
  run = function(args)
    local p = prepare(args)

    step("Add a queue record for this in the queue table", function()
      -- Running, by this run, so no queue worker picks it up; if the run fails, it is left
      -- failed with the error (queue.begin), where the guide looks first.
      p.queue_id = queue.begin(CONNECTION, { runbook = "add-codebase", handler_id = p.handler.id, args = {
        plan = p.plan, handler_id = p.handler.id, group_id = p.group_id, dir = p.dir, revision = p.revision,
        limit = p.limit, repository = p.repository, own = args.own,
      } })
    end)

    step("Checkout divinity", function()
      if not fs.exists(p.base) then fs.mkdir(p.base) end
      log.info(("svn checkout -r %s %s (normally a few to several minutes)"):format(p.revision, p.repository))
      if fs.exists(p.dir) then error(p.dir .. " appeared since this run chose it: not touching it", 0) end
      -- (A checkout that fails half way is removed by vcs.checkout itself.)
      local got = vcs.checkout(p.repository, p.dir, { revision = p.revision, kind = "svn" })
      if tostring(got) ~= p.revision then
        error(("the checkout of %s is at revision %s, not %s"):format(p.dir, tostring(got), p.revision), 0)
      end
    end)

    step("Create the new shared code group", function()
      db.insert(CONNECTION, "shared_code_groups", {
        id = p.group_id, dir = p.dir, free = p.free, revision = p.revision, limit = p.limit,
        handler_id = p.handler.id, repository = p.repository,
      })
    end)

    step("Mark the queue record done", function()
      queue.done(CONNECTION, p.queue_id)
      log.info(("queue record %d: done"):format(p.queue_id))
    end)

    log.info(("shared code group %d: %s (%s, revision %s, limit %d) on handler %d %s"):format(
      p.group_id, p.dir, p.plan, p.revision, p.limit, p.handler.id, p.handler.hostname))
    if args.own then
      report_pin(p, args.own)
    else
      log.info(("new %s installs mastered on handler %d can be given it from now on (the group with the fewest installs is chosen)"):format(
        p.plan, p.handler.id))
    end
  end,
}
