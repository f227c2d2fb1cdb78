// Lua 5.4 for Swift: the macros Swift cannot import, re-declared once as static inline
// functions, plus the few pieces that must be C because they may raise a Lua error
// (lua_error longjmps and must never cross a Swift frame): the trampoline that calls
// Swift functions, the count hook that enforces budgets, the traceback handler and a
// memory-limited allocator.
#ifndef RUNBOOK_CLUA_SHIM_H
#define RUNBOOK_CLUA_SHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// MARK: - Macros as functions

static inline int rb_upvalueindex(int i) { return LUA_REGISTRYINDEX - i; }
static inline int rb_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int rb_pcall(lua_State *L, int n, int r, int f) { return lua_pcallk(L, n, r, f, 0, NULL); }
static inline void rb_pop(lua_State *L, int n) { lua_settop(L, -(n)-1); }
static inline void rb_newtable(lua_State *L) { lua_createtable(L, 0, 0); }
static inline const char *rb_tolstring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline lua_Integer rb_tointegerx(lua_State *L, int i, int *isnum) { return lua_tointegerx(L, i, isnum); }
static inline lua_Number rb_tonumberx(lua_State *L, int i, int *isnum) { return lua_tonumberx(L, i, isnum); }
static inline int rb_isinteger(lua_State *L, int i) { return lua_isinteger(L, i); }
static inline void rb_remove(lua_State *L, int i) { lua_rotate(L, i, -1); lua_settop(L, -2); }
static inline void rb_insert(lua_State *L, int i) { lua_rotate(L, i, 1); }
static inline void rb_replace(lua_State *L, int i) { lua_copy(L, -1, i); lua_settop(L, -2); }
static inline void *rb_newuserdata(lua_State *L, size_t size) { return lua_newuserdatauv(L, size, 1); }
static inline int rb_getmetatable_named(lua_State *L, const char *name) { return lua_getfield(L, LUA_REGISTRYINDEX, name); }
static inline void rb_pushglobaltable(lua_State *L) { lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); }
static inline int rb_loadbuffer(lua_State *L, const char *buf, size_t len, const char *name) {
    // Text only: a precompiled (bytecode) chunk is refused by the loader itself.
    return luaL_loadbufferx(L, buf, len, name, "t");
}
static inline const char *rb_typename_at(lua_State *L, int i) { return lua_typename(L, lua_type(L, i)); }

// MARK: - Per-state control block (budget, interrupt, memory)

// Why a stop happened, so the host can tell an interrupt from a runaway script. FATAL is
// the host's own: a failure the run must end on (a lock not taken, a journal that cannot
// take an intent), whatever the script catches.
enum { RB_STOP_NONE = 0, RB_STOP_INTERRUPT = 1, RB_STOP_INSTRUCTIONS = 2, RB_STOP_TIME = 3, RB_STOP_FATAL = 4 };

// The registry field holding the stop's error, raised again at every later instruction
// and host call, so a script that catches it gets it back at once, unchanged.
#define RB_STOP_ERROR "runbook.stop"

typedef struct rb_control {
    volatile sig_atomic_t interrupt_requested; // set from a signal handler
    int stop_reason;                            // RB_STOP_*, sticky until cleared
    long long instruction_limit;                // 0 = none
    long long instructions;                     // counted in hook steps
    double deadline;                            // CLOCK_MONOTONIC seconds, 0 = none
    size_t memory_used;
    size_t memory_limit;                        // 0 = none
    int in_host;                                // >0 while a Swift function runs: no limit then
    void *owner;                                // the Swift object that owns this state
    lua_State *running;                         // the thread (coroutine) of the Swift function running, or NULL
} rb_control;

#define RB_HOOK_STEP 1000

static inline rb_control *rb_control_of(lua_State *L) { return *(rb_control **)lua_getextraspace(L); }

static inline double rb_monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void rb_request_interrupt(rb_control *c) { c->interrupt_requested = 1; }

// Pushes "file:line: " of the innermost script code running: level 0 in a hook, level 1
// from a C function (luaL_where(L, 1) alone is wrong in a hook). The sandbox's own
// wrappers (pcall) are skipped, as HostFunctionRegistry.scriptLocation skips them.
static void rb_push_script_location(lua_State *L) {
    lua_Debug ar;
    for (int level = 0; level < 8 && lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && strcmp(ar.source, "=sandbox") != 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

// Raises the stop's error: the one stored when it happened, or (the first time) the
// reason, with the script's location, stored for the next time.
static int rb_raise_stop(lua_State *L, rb_control *c) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, RB_STOP_ERROR) != LUA_TSTRING) {
        lua_pop(L, 1);
        rb_push_script_location(L);
        switch (c->stop_reason) {
        case RB_STOP_INTERRUPT: lua_pushstring(L, "interrupted"); break;
        case RB_STOP_INSTRUCTIONS:
            lua_pushfstring(L, "instruction budget exhausted (%I instructions)", (lua_Integer)c->instruction_limit);
            break;
        case RB_STOP_TIME: lua_pushstring(L, "time budget exhausted"); break;
        default: lua_pushstring(L, "stopped"); break;
        }
        lua_concat(L, 2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, RB_STOP_ERROR);
    }
    return lua_error(L);
}

// Raises an error when the script must stop. Once stopped, the hook runs at every
// instruction so a script cannot keep going by catching the error with pcall.
static void rb_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    rb_control *c = rb_control_of(L);
    if (c->stop_reason == RB_STOP_NONE) {
        c->instructions += RB_HOOK_STEP;
        if (c->interrupt_requested) c->stop_reason = RB_STOP_INTERRUPT;
        else if (c->instruction_limit > 0 && c->instructions > c->instruction_limit) c->stop_reason = RB_STOP_INSTRUCTIONS;
        else if (c->deadline > 0 && rb_monotonic_now() > c->deadline) c->stop_reason = RB_STOP_TIME;
        if (c->stop_reason == RB_STOP_NONE) return;
    }
    // Every thread that runs once stopped checks at each instruction (a coroutine's hook
    // is its own, copied when it was made).
    lua_sethook(L, rb_count_hook, LUA_MASKCOUNT, 1);
    rb_raise_stop(L, c);
}

static inline void rb_install_hook(lua_State *L) { lua_sethook(L, rb_count_hook, LUA_MASKCOUNT, RB_HOOK_STEP); }

// Clears a stop so cleanup code may run after an interrupt or an exhausted budget.
static inline void rb_clear_stop(lua_State *L, rb_control *c) {
    c->interrupt_requested = 0;
    c->stop_reason = RB_STOP_NONE;
    c->instructions = 0;
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, RB_STOP_ERROR);
    rb_install_hook(L);
}

// The host's fatal stop: the error on top of `thread`'s stack (popped) is raised again at
// the next instruction of `thread` and of `main` and by every later host call, until
// rb_clear_stop. Raises nothing itself: the Swift function that asked returns its error.
static inline void rb_stop_fatally(lua_State *thread, lua_State *main, rb_control *c) {
    lua_setfield(thread, LUA_REGISTRYINDEX, RB_STOP_ERROR);
    c->stop_reason = RB_STOP_FATAL;
    lua_sethook(thread, rb_count_hook, LUA_MASKCOUNT, 1);
    if (main != thread) lua_sethook(main, rb_count_hook, LUA_MASKCOUNT, 1);
}

static void *rb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    rb_control *c = (rb_control *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        c->memory_used -= old;
        return NULL;
    }
    // The limit applies to script code only: a Swift function must never meet a failed
    // allocation, because the resulting error would longjmp across its frame.
    if (c->memory_limit > 0 && c->in_host == 0 && nsize > old && c->memory_used - old + nsize > c->memory_limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) c->memory_used = c->memory_used - old + nsize;
    return p;
}

static int rb_panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    (void)msg;
    abort(); // unreachable in practice: every call into Lua is protected
}

static inline lua_State *rb_newstate(rb_control *c) {
    lua_State *L = lua_newstate(rb_alloc, c);
    if (!L) return NULL;
    *(rb_control **)lua_getextraspace(L) = c;
    lua_atpanic(L, rb_panic);
    rb_install_hook(L);
    return L;
}

// MARK: - Traceback message handler

// Keeps the error value as it is and leaves the traceback in the registry, so the host
// gets both the original message (to parse file:line) and where it came from.
static int rb_traceback_handler(lua_State *L) {
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "runbook.traceback");
    return 1;
}

static inline void rb_push_traceback_handler(lua_State *L) { lua_pushcfunction(L, rb_traceback_handler); }

// MARK: - The trampoline for Swift functions

// A Swift function receives the state and the userdata that holds its closure. It returns
// the number of results it pushed, or RB_HOST_ERROR after pushing an error message; the
// trampoline then raises it, after the Swift frame has returned.
#define RB_HOST_ERROR (-1)
typedef int (*rb_host_function)(lua_State *L, void *box);

typedef struct rb_host_slot {
    void *box;                 // an unmanaged Swift object, released by __gc
    rb_host_function dispatch; // the one Swift entry point
} rb_host_slot;

// An interrupt requested while a Swift function ran (SIGTERM during an effect) stops the
// script as that function returns, and none starts once one is requested: the count hook
// alone would let up to RB_HOOK_STEP more instructions run — enough for the rest of a
// runbook's effects, so a SIGTERM'd run could apply them and even end "succeeded".
static int rb_stop_for_interrupt(lua_State *L, rb_control *c) {
    c->stop_reason = RB_STOP_INTERRUPT;
    lua_sethook(L, rb_count_hook, LUA_MASKCOUNT, 1);
    return rb_raise_stop(L, c);
}

// Once stopped, no Swift function starts: the call raises the stop's error instead (the
// sandbox's pcall relies on this to raise it again).
static int rb_trampoline(lua_State *L) {
    rb_host_slot *slot = (rb_host_slot *)lua_touserdata(L, lua_upvalueindex(1));
    rb_control *c = rb_control_of(L);
    if (c->stop_reason != RB_STOP_NONE) return rb_raise_stop(L, c);
    if (c->interrupt_requested) return rb_stop_for_interrupt(L, c);
    // The Swift side calls back into Lua (a step's function) on this thread, not the main one.
    lua_State *outer = c->running;
    c->running = L;
    c->in_host++;
    int n = slot->dispatch(L, slot->box);
    c->in_host--;
    c->running = outer;
    if (n >= 0 && c->interrupt_requested && c->stop_reason == RB_STOP_NONE) return rb_stop_for_interrupt(L, c);
    if (n >= 0) return n;
    // The Swift side left its message on top of the stack and has returned: raising
    // here longjmps over C and Lua frames only.
    return lua_error(L);
}

static inline void rb_push_host_function(lua_State *L, void *box, rb_host_function dispatch, const char *gc_metatable) {
    rb_host_slot *slot = (rb_host_slot *)lua_newuserdatauv(L, sizeof(rb_host_slot), 0);
    slot->box = box;
    slot->dispatch = dispatch;
    luaL_setmetatable(L, gc_metatable);
    lua_pushcclosure(L, rb_trampoline, 1);
}

static inline rb_host_slot *rb_host_slot_at(lua_State *L, int index) { return (rb_host_slot *)lua_touserdata(L, index); }

#endif
