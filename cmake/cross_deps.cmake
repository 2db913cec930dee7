# Dependencies of a cross build (cmake/aarch64-linux-gnu.cmake) without the
# target architecture's development packages (no arm64 multiarch): the
# header-only libraries are the build machine's own headers, and googletest is
# compiled from the source Debian's googletest package ships.
#
# Only those libraries' folders are exposed, through links in the build tree:
# adding the build machine's /usr/include itself would put its C library headers
# in front of the cross compiler's.
set(edgelm_host_headers ${CMAKE_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${edgelm_host_headers})
foreach(dir nlohmann CLI toml++)
  if(NOT EXISTS /usr/include/${dir})
    message(FATAL_ERROR "cross build: /usr/include/${dir} is missing (scripts/setup installs it)")
  endif()
  file(CREATE_LINK /usr/include/${dir} ${edgelm_host_headers}/${dir} SYMBOLIC)
endforeach()

add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${edgelm_host_headers})
add_library(CLI11::CLI11 INTERFACE IMPORTED)
set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${edgelm_host_headers})
# toml++ compiled into each user instead of Debian's shared library of the build machine.
add_library(edgelm_tomlpp INTERFACE)
target_include_directories(edgelm_tomlpp SYSTEM INTERFACE ${edgelm_host_headers})
target_compile_definitions(edgelm_tomlpp INTERFACE TOML_HEADER_ONLY=1)

if(EDGELM_TESTS)
  if(NOT EXISTS /usr/src/googletest/CMakeLists.txt)
    message(FATAL_ERROR "cross build: googletest's source is missing (scripts/setup --arm installs the googletest package)")
  endif()
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL SYSTEM)
endif()
