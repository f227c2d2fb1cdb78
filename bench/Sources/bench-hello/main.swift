// bench-hello: the smallest Swift program, built with the same flags as `runbook` (the
// Swift runtime linked statically on Linux). W0 measures runbook's start-up against it:
// what starting any Swift program costs here.

print("hello")
