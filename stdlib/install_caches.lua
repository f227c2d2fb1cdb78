-- stdlib/install_caches.lua: the caches of an install, which the guide clears whenever the
-- code under it changes ("After an update rudolf files are deleted, catalog cache files,
-- files in local/tmp. cache table is truncated, apc cache is deleted too."). Used by
-- update-shared-code; a runbook that moves an install to another codebase needs the same.
--
--   install_caches.folders       the cache folders, relative to the install's home:
--                                heavymetal/tmp/rudolf, heavymetal/tmp/catalog_cache, local/tmp
--   install_caches.clear_files(home) -> number of entries removed
--       Removes everything inside each cache folder (fs.remove per entry: planned in a
--       dry-run, copied to the run's backups first, so `runbook undo` puts the files back);
--       the folders themselves stay. A folder that is missing is skipped with a log line.
--   install_caches.clear_table(connection, database) -> true, or false when the database has
--       no `cache` table
--       TRUNCATE TABLE `database`.`cache` through db.exec: one statement whatever the size,
--       as the guide does. It cannot be undone (`!`): cached rows are derived data, rebuilt
--       on demand, so they are not copied into the journal to be put back.
--   install_caches.clear_apc([argv]) -> true if the command ran
--       The APC cache is one per PHP server, not per install: runs argv (default
--       settings.apc_clear, e.g. {"service", "php-fpm", "reload"}) with cmd.run (`!`).
--       Without one it logs that the APC cache was left alone and returns false.
--
-- Paths are absolute and confined to the run's root like every fs path.

local M = {}

M.folders = { "heavymetal/tmp/rudolf", "heavymetal/tmp/catalog_cache", "local/tmp" }

function M.clear_files(home)
  local removed = 0
  for _, folder in ipairs(M.folders) do
    local path = home .. "/" .. folder
    local info = fs.stat(path)
    if not info then
      log.info(path .. " does not exist: nothing to clear there")
    elseif info.type ~= "directory" then
      error(path .. " is not a folder (" .. info.type .. "): not clearing it", 0)
    else
      for _, name in ipairs(fs.list(path)) do
        if fs.remove(path .. "/" .. name) then removed = removed + 1 end
      end
    end
  end
  return removed
end

function M.clear_table(connection, database)
  local found = db.query_one(connection,
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'cache'", { database })
  if not found then
    log.warn("database " .. database .. " has no cache table: nothing to truncate")
    return false
  end
  db.exec(connection, "TRUNCATE TABLE " .. db.quote_name(database) .. ".cache")
  return true
end

function M.clear_apc(argv)
  argv = argv or settings.apc_clear
  if argv == nil then
    log.info("the APC cache was left alone: set apc_clear in [settings] to the command that clears it "
      .. "(e.g. [\"service\", \"php-fpm\", \"reload\"])")
    return false
  end
  if type(argv) ~= "table" or #argv == 0 then
    error("settings.apc_clear must be a command as an array of strings, like [\"service\", \"php-fpm\", \"reload\"]", 0)
  end
  for _, word in ipairs(argv) do
    if type(word) ~= "string" then
      error("settings.apc_clear must be a command as an array of strings, like [\"service\", \"php-fpm\", \"reload\"]", 0)
    end
  end
  cmd.run(argv, { timeout = 300 })
  return true
end

return M
