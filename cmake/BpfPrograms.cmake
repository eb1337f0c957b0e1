# bpfq_bpf_object(<target> SOURCE <file.bpf.c> [OUTPUT_DIR dir])
# Compiles an eBPF program with clang -target bpf into <OUTPUT_DIR>/<name>.bpf.o.
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)

function(bpfq_bpf_object target)
  cmake_parse_arguments(ARG "" "SOURCE;OUTPUT_DIR" "" ${ARGN})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  file(MAKE_DIRECTORY ${ARG_OUTPUT_DIR})
  get_filename_component(src ${ARG_SOURCE} ABSOLUTE)
  get_filename_component(name ${src} NAME_WE)
  set(out ${ARG_OUTPUT_DIR}/${name}.bpf.o)
  # The depfile makes edits to included headers (bpfq/bpf/*.h) rebuild the object.
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${BPF_CLANG} -O2 -g -target bpf
            -I${CMAKE_SOURCE_DIR}/include -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -MD -MF ${out}.d
            -c ${src} -o ${out}
    DEPENDS ${src}
    DEPFILE ${out}.d
    COMMENT "clang -target bpf ${name}.bpf.c"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${out})
endfunction()
