// The C baseline of W3: a no-op lua_CFunction, pushed the plain way.
#include "CBenchSupport.h"

int rb_bench_noop(lua_State *L) {
    (void)L;
    return 0;
}

void rb_bench_push_noop(lua_State *L) {
    lua_pushcfunction(L, rb_bench_noop);
}
