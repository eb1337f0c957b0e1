# The SDK as `cmake --install` lays it out (docs/install.md). The bpfq binary and the library's
# programs install from src/cli and progs/; here: the program headers and bpfq.pc.

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/bpfq/bpf/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bpfq/bpf
        FILES_MATCHING PATTERN "*.h")

# bpfq.pc locates the headers relative to itself (${pcfiledir}), so an install made with
# `cmake --install --prefix DIR`, or moved after installing, still points at its own headers.
set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE ${pc_dir})
  set(BPFQ_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
else()
  file(RELATIVE_PATH rel ${CMAKE_INSTALL_PREFIX}/${pc_dir} ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" rel "${rel}")
  set(BPFQ_PC_PREFIX "\${pcfiledir}/${rel}")
endif()
foreach(var INCLUDEDIR DATADIR LIBDIR)
  if(IS_ABSOLUTE ${CMAKE_INSTALL_${var}})
    set(BPFQ_PC_${var} ${CMAKE_INSTALL_${var}})
  else()
    set(BPFQ_PC_${var} "\${prefix}/${CMAKE_INSTALL_${var}}")
  endif()
endforeach()
# clang -target bpf does not search the host's multiarch folder, where Debian keeps <asm/types.h>.
set(BPFQ_PC_ARCH_CFLAGS "")
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(BPFQ_PC_ARCH_CFLAGS " -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/bpfq.pc.in ${PROJECT_BINARY_DIR}/bpfq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bpfq.pc DESTINATION ${pc_dir})
