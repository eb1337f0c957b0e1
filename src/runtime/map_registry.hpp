#pragma once
// Which map pointers a program may pass to helpers (program_map() in helpers.hpp): the maps
// of live objects (a process-wide set) and inner maps handed to a program on this thread.
#include <bpfq/maps/map.hpp>

namespace bpfq::runtime::detail {

// An inner map a helper is about to hand to the program (map-of-maps lookup, pop, peek).
// Remembered per thread, weakly: a destroyed inner map is never accepted afterwards.
void note_inner_map(maps::Map* inner);

}  // namespace bpfq::runtime::detail
