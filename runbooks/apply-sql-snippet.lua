-- runbooks/apply-sql-snippet.lua: the guide's "Specific snippet updating": "Copy+Paste the
-- snippet content in open mysql console and add a record for the snippet inside
-- database_updates table for the specific install. So for each client we are updating, we
-- must insert into database_updates the revision for each database effected. We insert the
-- filename of the sql snippet and plugin_id for each database we are changing."
local installs = require("installs")

return runbook {
  summary = "Apply one SQL snippet to chosen installs' databases and record it in their database_updates",
  runs_on = "anywhere with the internal and installs connections",
  doc = [[
    The guide's "Specific snippet updating", without a mysql console: the snippet FILE is
    run in the database of each install named with --install (id, name or hostname;
    repeat or separate with commas) or of every install of --group, and recorded in that
    database's database_updates (filename, plugin_id, revision) in the same step. An install
    that has it recorded already is left alone, so running it again finishes the ones that
    failed. One install's failure (the file, statement and MySQL error) does not stop the
    others; the summary lists each install and the run fails if any did. A SQL snippet
    cannot be undone: check it with --dry-run first.
  ]],
  params = {
    file = { type = "path", required = true, doc = "the snippet, a .sql file" },
    install = { type = "string", list = true, doc = "the installs (id, name or hostname)" },
    group = { type = "int", doc = "every install of this shared code group instead" },
    plugin_id = { type = "string", default = "snippets", doc = "database_updates.plugin_id to record" },
    revision = { type = "string", doc = "database_updates.revision to record (default the install's codebase revision)" },
  },
  locks = function(args) return { "sql-snippet" } end,
  -- The installs that got the snippet keep it (and its database_updates row): SQL already run
  -- in other installs' databases is not taken back because a later one failed.
  on_failure = "keep",
  run = function(args)
    cleanup(function()
      log.warn(("the installs that got the snippet before the failure keep it: `runbook log %s` lists them")
        :format(context.run_id))
    end)
    if (args.install == nil) == (args.group == nil) then error("give --install or --group (one of them)", 0) end
    local dir, name = args.file:match("^(.*)/([^/]+)$")
    if not name or not name:find("%.sql$") then error("--file must be a .sql file, got " .. args.file, 0) end
    if not fs.exists(args.file) then error("--file " .. args.file .. " does not exist", 0) end
    if dir == "" then dir = "/" end

    local targets = {}
    step("Find the installs to update", function()
      local rows
      if args.group then
        rows = db.query("internal", "SELECT * FROM installs WHERE shared_code_group_id = ? ORDER BY id", { args.group })
        if #rows == 0 then error("shared code group " .. args.group .. " has no installs", 0) end
      else
        rows = {}
        for _, ref in ipairs(args.install) do rows[#rows + 1] = installs.find("internal", ref) end
      end
      local seen = {}
      for _, row in ipairs(rows) do
        if not seen[row.id] then
          seen[row.id] = true
          local group = db.query_one("internal", "SELECT revision FROM shared_code_groups WHERE id = ?", { row.shared_code_group_id })
          row.revision = args.revision or (group and group.revision) or nil
          targets[#targets + 1] = row
        end
      end
      log.info(("%s (plugin %s) for %d install%s"):format(name, args.plugin_id, #targets, #targets == 1 and "" or "s"))
    end)

    local outcomes = {}
    step("Run the snippet and insert into database_updates for each database", function()
      for i, install in ipairs(targets) do
        local ok, result = pcall(db.apply_updates, "installs", install.db_name, dir,
          { only = { name }, plugin_id = args.plugin_id, revision = install.revision })
        local outcome
        if not ok then
          result = tostring(result):gsub("^[^:\n]+%.lua:%d+: ", "") -- the file and statement say where
          outcome = "FAILED: " .. result
          log.error(("install %d (%s): %s"):format(install.id, install.fs_name, tostring(result)))
        elseif #result == 0 then
          outcome = "already recorded"
        else
          outcome = "applied (revision " .. tostring(install.revision) .. ")"
        end
        outcomes[#outcomes + 1] = { install = install, ok = ok, outcome = outcome }
        progress(i, #targets)
      end
    end)

    local failed = 0
    print("install  name              outcome")
    for _, o in ipairs(outcomes) do
      print(("%7d  %-16s  %s"):format(o.install.id, o.install.fs_name, o.outcome))
      if not o.ok then failed = failed + 1 end
    end
    if failed > 0 then
      error(("%d of %d installs failed (above); the others have %s recorded: run again to retry the failed ones"):format(
        failed, #outcomes, name), 0)
    end
  end,
}
