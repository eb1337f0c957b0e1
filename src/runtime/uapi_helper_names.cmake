# cmake -DHEADER=/usr/include/linux/bpf.h -DOUTPUT=uapi_helper_names.inc -P uapi_helper_names.cmake
#
# Writes one `BPFQ_UAPI_HELPER(id, name)` line per helper of linux/bpf.h's __BPF_FUNC_MAPPER
# list, so that load errors can name a helper bpfq lacks ("bpf_skb_store_bytes (id 9)") for
# every id of the installed uapi, not only the ids bpfq implements. Headers before Linux 6.1
# list FN(name) in id order; later ones write FN(name, id, ##ctx). uapi_helper_names.cpp
# static_asserts every line against the header's enum bpf_func_id.
if(NOT HEADER OR NOT OUTPUT)
  message(FATAL_ERROR "uapi_helper_names.cmake needs -DHEADER=… and -DOUTPUT=…")
endif()
file(READ "${HEADER}" text)
string(FIND "${text}" "FN(unspec" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "${HEADER}: no __BPF_FUNC_MAPPER list (FN(unspec…) found")
endif()
string(SUBSTRING "${text}" ${begin} -1 text)
string(FIND "${text}" "/* */" end)  # the list's terminator in every version of the header
if(end EQUAL -1)
  message(FATAL_ERROR "${HEADER}: the __BPF_FUNC_MAPPER list has no /* */ terminator")
endif()
string(SUBSTRING "${text}" 0 ${end} text)

string(REGEX MATCHALL "FN\\([a-z0-9_]+(, *[0-9]+)?" entries "${text}")
set(lines "// Generated from ${HEADER} by src/runtime/uapi_helper_names.cmake; do not edit.\n")
set(next_id 0)
foreach(entry IN LISTS entries)
  string(REGEX MATCH "FN\\(([a-z0-9_]+)(, *([0-9]+))?" _ "${entry}")
  set(name "${CMAKE_MATCH_1}")
  if(NOT "${CMAKE_MATCH_3}" STREQUAL "")
    set(id "${CMAKE_MATCH_3}")
  else()
    set(id ${next_id})
  endif()
  math(EXPR next_id "${id} + 1")
  string(APPEND lines "BPFQ_UAPI_HELPER(${id}, ${name})\n")
endforeach()
if(next_id LESS 100)
  message(FATAL_ERROR "${HEADER}: only ${next_id} helpers found in __BPF_FUNC_MAPPER")
endif()

# Rewritten only when it changes, so a touched header does not rebuild the runtime.
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL lines)
  file(WRITE "${OUTPUT}" "${lines}")
endif()
