// C pieces of the benchmarks: functions registered with Lua directly, without the
// Swift bridge, as the baseline the bridge is measured against.
#ifndef RUNBOOK_CBENCHSUPPORT_H
#define RUNBOOK_CBENCHSUPPORT_H

#include <lua.h>

/// A lua_CFunction that does nothing and returns no results (W3's C baseline).
int rb_bench_noop(lua_State *L);

/// Pushes rb_bench_noop with lua_pushcfunction (a light C function, no upvalues).
void rb_bench_push_noop(lua_State *L);

#endif
