-- stdlib/svn.lua: Subversion reads for the runbooks that manage checkouts of the shared code
-- (add-codebase, update-shared-code). A read runs in a dry-run too (cmd.run read_only), so a
-- plan is made from the repository as it is. Changes to a working copy are effects made
-- elsewhere (vcs.checkout, vcs.update, cmd.run).
--
--   svn.read(what, argv [, {timeout = 600}]) -> the output of `svn --non-interactive ARGV...`;
--       a failure raises one line naming `what` and svn's own error:
--       "cannot read the top of URL: E170000: URL '...' doesn't exist"

local M = {}

function M.read(what, argv, options)
  local command = { "svn", "--non-interactive" }
  for _, word in ipairs(argv) do command[#command + 1] = word end
  local result = cmd.run(command, { read_only = true, timeout = (options and options.timeout) or 600 })
  if result.status ~= 0 then
    local reason = result.stderr:match("svn: (E%d+:[^\n]*)") or result.stderr:match("[^\n]+") or ("exit " .. result.status)
    error(("cannot read %s: %s"):format(what, reason), 0)
  end
  return result.stdout
end

return M
