// ns-3 allocates on every event, and ASan's defaults (a 256 MB quarantine, a 30-frame stack
// trace saved per allocation) make an ns-3 run 2x slower than these. Every access and every
// leak is still checked; a leak report then lacks the allocation's stack: rerun the case with
// ASAN_OPTIONS=malloc_context_size=30 to see it (the environment overrides these keys).
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=16:malloc_context_size=0"; }
