# libedgelm.so: the C API (include/edgelm.h) with the runtime under it (model,
# kernels, tokenizer, agent, device). Only the edgelm_* functions are exported:
# the static subsystem libraries inside stay hidden (--exclude-libs), so the
# C++ names edgelm and its dependencies use cannot clash with an application's.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
add_library(edgelm_shared SHARED ${CMAKE_SOURCE_DIR}/src/capi/edgelm_c.cpp)
add_library(edgelm::edgelm ALIAS edgelm_shared)
set_target_properties(edgelm_shared PROPERTIES
  OUTPUT_NAME edgelm
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  EXPORT_NAME edgelm)
target_include_directories(edgelm_shared
  PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(edgelm_shared PRIVATE edgelm_agent)
target_link_options(edgelm_shared PRIVATE -Wl,--exclude-libs,ALL)
# Every symbol resolved at link time, except under the sanitizers: clang leaves
# their runtime out of shared libraries, for the executable to provide.
if(NOT EDGELM_SANITIZE AND NOT EDGELM_FUZZ)
  target_link_options(edgelm_shared PRIVATE -Wl,--no-undefined)
endif()

# The C example: reproduces `edgelm predict` through edgelm.h alone (C99).
enable_language(C)
add_executable(edgelm_predict_c ${CMAKE_SOURCE_DIR}/examples/predict.c)
set_target_properties(edgelm_predict_c PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(edgelm_predict_c PRIVATE -Wall -Wextra -pedantic)
target_link_libraries(edgelm_predict_c PRIVATE edgelm_shared)

# cmake --install: the library, the header, a CMake package (find_package(edgelm),
# target edgelm::edgelm) and a pkg-config file (edgelm.pc).
install(TARGETS edgelm_shared EXPORT edgelmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/edgelm.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT edgelmTargets NAMESPACE edgelm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgelm)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/edgelmConfig.cmake.in
  ${CMAKE_BINARY_DIR}/edgelmConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgelm)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/edgelmConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/edgelmConfig.cmake ${CMAKE_BINARY_DIR}/edgelmConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgelm)
configure_file(${CMAKE_SOURCE_DIR}/cmake/edgelm.pc.in ${CMAKE_BINARY_DIR}/edgelm.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/edgelm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
# The built-in domains, so that edgelm_session_open(model, NULL, ...) finds the
# model's domain with EDGELM_HOME=<prefix>/share/edgelm.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/domains DESTINATION ${CMAKE_INSTALL_DATADIR}/edgelm)

# Resident memory of one model and one session (docs/BENCHMARKS.md; Linux).
add_executable(edgelm_memory_c ${CMAKE_SOURCE_DIR}/examples/memory.c)
set_target_properties(edgelm_memory_c PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_definitions(edgelm_memory_c PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(edgelm_memory_c PRIVATE edgelm_shared)

# Under the sanitizers the library carries C++ UBSan checks (vptr) whose runtime
# only the C++ driver links: the C programs are linked by it there.
if(EDGELM_SANITIZE OR EDGELM_FUZZ)
  set_target_properties(edgelm_predict_c edgelm_memory_c PROPERTIES LINKER_LANGUAGE CXX)
endif()
