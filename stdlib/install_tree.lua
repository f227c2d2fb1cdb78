-- stdlib/install_tree.lua: an install's file tree and the codebase it shares. The guide:
-- "The filesystem is being created. Not all dirs are symlinked to the codebase. In
-- /heavymetal theme and snippets are not symlinked. In /html/mas_assets - theme dir.
-- Everything else is symlinked with the codebase."
--
--   install_tree.own        the paths (relative to the home) an install keeps its own copy of
--   install_tree.link(codebase, home) -> {links =, copied =}
--       Mirrors the codebase's top level into `home`: a folder that holds one of the own
--       paths becomes a real folder (and the same rule applies inside it); an own path is
--       copied (install_tree.copy); everything else is a symlink to the codebase's entry.
--       Version-control folders (.svn, .git) are neither linked nor copied.
--   install_tree.copy(source, destination) -> number of files
--       Copies a tree with fs.mkdir / fs.write / fs.symlink effects, keeping modes, so a
--       dry-run plans every file and undo removes them.
--   install_tree.links_into(home, prefix) -> number of symlinks under `home` pointing into prefix
--       (reads only; the downgrade and change-codebase runbooks check their relink with it).
--
-- Paths are absolute and, like every fs path, confined to the run's root.

local M = {}

M.own = { "heavymetal/theme", "heavymetal/snippets", "html/mas_assets/theme" }

local skipped = { [".svn"] = true, [".git"] = true }

local function join(a, b) return a == "" and b or (a .. "/" .. b) end

function M.copy(source, destination)
  local info = fs.stat(source)
  if not info then error("install_tree.copy: " .. source .. " does not exist", 2) end
  local count = 0
  local function copy(from, to, stat)
    if stat.type == "directory" then
      fs.mkdir(to, { mode = stat.mode })
      for _, name in ipairs(fs.list(from)) do
        if not skipped[name] then copy(from .. "/" .. name, to .. "/" .. name, fs.stat(from .. "/" .. name)) end
      end
    elseif stat.type == "symlink" then
      fs.symlink(fs.readlink(from), to)
      count = count + 1
    elseif stat.type == "file" then
      fs.write(to, fs.read(from), { mode = stat.mode })
      count = count + 1
    else
      log.warn("install_tree.copy: " .. from .. " is not a file, folder or symlink: left out")
    end
  end
  copy(source, destination, info)
  return count
end

function M.link(codebase, home)
  local own, holds_own = {}, {}
  for _, path in ipairs(M.own) do
    own[path] = true
    local parent = path:match("^(.*)/[^/]+$")
    while parent do
      holds_own[parent] = true
      parent = parent:match("^(.*)/[^/]+$")
    end
  end
  local result = { links = 0, copied = {} }
  local function place(relative)
    for _, name in ipairs(fs.list(join(codebase, relative))) do
      local child = join(relative, name)
      local from, to = codebase .. "/" .. child, home .. "/" .. child
      if skipped[name] then
        -- never shared: a working copy's metadata belongs to the codebase
      elseif own[child] then
        M.copy(from, to)
        result.copied[#result.copied + 1] = child
      elseif holds_own[child] and (fs.stat(from) or {}).type == "directory" then
        fs.mkdir(to)
        place(child)
      else
        fs.symlink(from, to)
        result.links = result.links + 1
      end
    end
  end
  fs.mkdir(home)
  place("")
  return result
end

function M.links_into(home, prefix)
  local count = 0
  local function walk(dir)
    for _, name in ipairs(fs.list(dir)) do
      local path = dir .. "/" .. name
      local target = fs.readlink(path)
      if target then
        if target == prefix or target:sub(1, #prefix + 1) == prefix .. "/" then count = count + 1 end
      elseif (fs.stat(path) or {}).type == "directory" then
        walk(path)
      end
    end
  end
  walk(home)
  return count
end

return M
