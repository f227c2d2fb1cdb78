-- stdlib/queue.lua: the `queue` table of the internal database. The guide: "A queue record is
-- being added which is for the other part of the install"; "If install fails we first check
-- the queue record in the queue table for error". A record names the runbook that does the
-- work, its arguments (JSON, never secrets), the handler that must run it, its status
-- (queued, running, done, failed), the error text and the run id of the run that worked it.
--
--   queue.add(connection, {runbook =, args = {...}, handler_id =}) -> id      (db.insert)
--   queue.get(connection, id) -> row with row.args decoded, or nil
--   queue.next(connection, handler_id) -> the oldest queued row for that handler, or nil
--   queue.start(connection, id [, run_id]) -> rows changed   status running, log = run id
--       (without run_id: this run works it, and holds the lock queue:ID while it lives)
--   queue.finish(connection, id [, run_id]) -> rows changed  status done
--   queue.fail(connection, id, error_text [, run_id]) -> rows changed  status failed, error
--   queue.set(connection, id, {status =, error =, log =}) -> rows changed
--
-- For a runbook that is itself the work of its record (install, add-codebase):
--   queue.begin(connection, {runbook =, args =, handler_id =}) -> id
--       Inserts the record as `running` by this run (log = run id), with its id taken first
--       (stdlib/ids.lua) so a dry-run plans the record the run writes. It also registers a
--       cleanup hook: when the run fails, after the automatic undo (which removes the
--       record), the record is written again as `failed` with the run's error — the guide's
--       "If install fails we first check the queue record in the queue table for error".
--       A run started by `runbook queue work` for record N (context.queue_id) works that
--       record instead of adding one. The run holds the lock queue:ID while it lives: a
--       `running` record whose lock is free was left by a run that died (queue list --stuck).
--   queue.done(connection, id)    status done (one db.exec with its undo: a dry-run does not
--       see the record it planned, so an update there would plan nothing)
--
-- Every change is a db.insert / db.update effect: printed, journaled, planned in a dry-run
-- and undone by `runbook undo`. run_id defaults to context.run_id. Error text is cut to
-- 60,000 bytes (TEXT holds 65,535).
-- `connection` is the internal database ("internal").

local ids = require("ids")

local M = {}

M.statuses = { queued = true, running = true, done = true, failed = true }

local secret_words = { "pass", "password", "passwd", "secret", "token" }

-- Arguments are stored in clear text: refuse anything that looks like a secret.
local function check_args(args, path)
  for key, value in pairs(args) do
    local name = tostring(key):lower()
    for _, word in ipairs(secret_words) do
      if name == word or name:find("_" .. word .. "$") or name:find("^" .. word .. "_") then
        error("queue: argument '" .. path .. tostring(key) .. "' looks like a secret; queue records are stored in clear text", 3)
      end
    end
    if type(value) == "table" then check_args(value, path .. tostring(key) .. ".") end
  end
end

-- TEXT holds 65,535 bytes.
local function cut(text)
  if #text > 60000 then return text:sub(1, 60000) .. "\n... (cut)" end
  return text
end

local function as_id(value, what)
  local n = math.tointeger(value)
  if not n or n <= 0 then error("queue: " .. what .. " must be a positive integer, got " .. tostring(value), 3) end
  return n
end

local function current_run()
  local ok, ctx = pcall(function() return context end)
  return ok and type(ctx) == "table" and ctx.run_id or nil
end

function M.add(connection, record)
  assert(type(record) == "table", "queue.add(connection, {runbook =, args =, handler_id =})")
  if type(record.runbook) ~= "string" or not record.runbook:find("^[%w_-]+$") then
    error("queue.add: runbook must be a runbook name, got " .. tostring(record.runbook), 2)
  end
  local args = record.args or {}
  check_args(args, "")
  local row = { runbook = record.runbook, args = json.encode(args), status = "queued" }
  if record.handler_id ~= nil then row.handler_id = as_id(record.handler_id, "handler_id") end
  return db.insert(connection, "queue", row)
end

function M.get(connection, id)
  local row = db.query_one(connection,
    "SELECT id, runbook, args, handler_id, status, error, log, created_at, updated_at FROM queue WHERE id = ?",
    { as_id(id, "id") })
  if row and row.args then
    local ok, args = pcall(json.decode, row.args)
    if ok then row.args = args end
  end
  return row
end

function M.next(connection, handler_id)
  local row = db.query_one(connection,
    "SELECT id FROM queue WHERE status = 'queued' AND handler_id = ? ORDER BY id LIMIT 1", { as_id(handler_id, "handler_id") })
  return row and M.get(connection, row.id) or nil
end

function M.set(connection, id, changes)
  id = as_id(id, "id")
  local set = {}
  if changes.status ~= nil then
    if not M.statuses[changes.status] then error("queue: unknown status '" .. tostring(changes.status) .. "'", 2) end
    set.status = changes.status
  end
  if changes.error ~= nil then
    set.error = cut(tostring(changes.error))
  end
  if changes.log ~= nil then set.log = tostring(changes.log):sub(1, 255) end
  if next(set) == nil then return 0 end
  return db.update(connection, "queue", set, { id = id })
end

function M.start(connection, id, run_id)
  if run_id == nil then lock("queue:" .. as_id(id, "id")) end
  return M.set(connection, id, { status = "running", log = run_id or current_run() })
end

function M.finish(connection, id, run_id)
  return M.set(connection, id, { status = "done", log = run_id or current_run() })
end

function M.fail(connection, id, error_text, run_id)
  return M.set(connection, id, { status = "failed", error = error_text or "failed", log = run_id or current_run() })
end

function M.begin(connection, record)
  assert(type(record) == "table", "queue.begin(connection, {runbook =, args =, handler_id =})")
  if type(record.runbook) ~= "string" or not record.runbook:find("^[%w_-]+$") then
    error("queue.begin: runbook must be a runbook name, got " .. tostring(record.runbook), 2)
  end
  local args = record.args or {}
  check_args(args, "")
  local row = { runbook = record.runbook, args = json.encode(args), status = "running", log = current_run() }
  if record.handler_id ~= nil then row.handler_id = as_id(record.handler_id, "handler_id") end
  local adopted = type(context) == "table" and math.tointeger(context.queue_id) or nil
  if adopted then
    -- `runbook queue work` started this run for an existing record: this run works it.
    local existing = db.query_one(connection, "SELECT id, runbook, args, handler_id, status, log FROM queue WHERE id = ?", { adopted })
    if not existing then error("queue: record " .. adopted .. " (RUNBOOK_QUEUE_ID) does not exist", 2) end
    if existing.runbook ~= record.runbook then
      error(("queue: record %d is for runbook %s, not %s"):format(adopted, existing.runbook, record.runbook), 2)
    end
    row.id, row.args, row.handler_id = adopted, existing.args, existing.handler_id
    lock("queue:" .. adopted)
    db.exec(connection, "UPDATE queue SET status = 'running', log = ? WHERE id = ?", { row.log, adopted },
      { undo = { "UPDATE queue SET status = ?, log = ? WHERE id = ?", { existing.status, existing.log, adopted } } })
  else
    row.id = ids.next(connection, "queue")
    lock("queue:" .. row.id)
    db.insert(connection, "queue", row)
  end
  cleanup(function(problem)
    local text = cut(problem or "the run was interrupted")
    if db.query_one(connection, "SELECT id FROM queue WHERE id = ?", { row.id }) then
      M.fail(connection, row.id, text)
    else
      local again = {}
      for key, value in pairs(row) do again[key] = value end
      again.status, again.error = "failed", text
      db.insert(connection, "queue", again)
    end
    log.error(("queue record %d (%s) is failed: it holds the error"):format(row.id, record.runbook))
  end)
  return row.id
end

function M.done(connection, id)
  id = as_id(id, "id")
  db.exec(connection, "UPDATE queue SET status = 'done' WHERE id = ? AND status = 'running'", { id },
    { undo = { "UPDATE queue SET status = 'running' WHERE id = ? AND status = 'done'", { id } } })
end

return M
