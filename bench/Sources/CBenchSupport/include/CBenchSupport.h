// C pieces of the benchmarks: functions registered with Lua directly, without the
// Swift bridge, as the baseline the bridge is measured against; statfs for the runner.
#ifndef RUNBOOK_CBENCHSUPPORT_H
#define RUNBOOK_CBENCHSUPPORT_H

#include <lua.h>

/// A lua_CFunction that does nothing and returns no results (W3's C baseline).
int rb_bench_noop(lua_State *L);

/// Pushes rb_bench_noop with lua_pushcfunction (a light C function, no upvalues).
void rb_bench_push_noop(lua_State *L);

/// The f_type statfs(2) reports for the filesystem holding `path` (Linux), or -1.
long rb_bench_filesystem_magic(const char *path);

#endif
