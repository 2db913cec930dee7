# Cross-compiling edgelm for 64-bit ARM Linux (Raspberry Pi 3/4/5 class, phones,
# hubs) with Debian's GCC cross toolchain (scripts/setup --arm):
#   cmake --preset aarch64            (or -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake)
# The programs and tests run on this machine under qemu-user: CMake runs every
# test through CMAKE_CROSSCOMPILING_EMULATOR, so ctest works as on x86, and the
# emulated CPU is chosen with QEMU_CPU (scripts/test-aarch64).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Libraries and headers of the target come from the cross C library only; the
# header-only dependencies are taken from the build machine (cmake/cross_deps.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: where the emulated program finds the dynamic loader and the C/C++ runtime.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
