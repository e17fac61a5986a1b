# check_exports.cmake: fails unless every function or object the shared
# library exports is part of the public API, i.e. is named cairn_<...>.
#
# Run as: cmake -DLIB=<path to libcairn.so> -P check_exports.cmake
#
# The library is compiled with -fvisibility=hidden and include/cairn.h marks
# each public function CAIRN_EXPORT, so an exported internal symbol
# (cairn__<module>_<verb>, a helper without a prefix, a global from a test
# hook) means a declaration lost its hidden visibility or a symbol was
# exported by mistake. Such a symbol becomes ABI that callers can link
# against, so this check treats it as a build failure and names it.
#
# Only defined symbols are looked at (nm --defined-only): undefined ones are
# what the library imports from libc, snappy and pthread. The symbols the
# linker itself defines in every shared object (_init, _fini, _edata, _end,
# __bss_start and the like) are not the library's and are ignored.
# Script mode starts with old policies; IN_LIST needs CMP0057.
cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED LIB OR LIB STREQUAL "")
  message(FATAL_ERROR "check_exports: pass -DLIB=<shared library>")
endif()
if(NOT EXISTS "${LIB}")
  message(FATAL_ERROR "check_exports: ${LIB} does not exist")
endif()

find_program(NM_PROGRAM NAMES nm gcc-nm llvm-nm)
if(NOT NM_PROGRAM)
  message(FATAL_ERROR "check_exports: nm not found")
endif()

execute_process(
  COMMAND ${NM_PROGRAM} -D --defined-only "${LIB}"
  OUTPUT_VARIABLE nm_out
  ERROR_VARIABLE nm_err
  RESULT_VARIABLE nm_rc)
if(NOT nm_rc EQUAL 0)
  message(FATAL_ERROR "check_exports: ${NM_PROGRAM} failed (${nm_rc}): ${nm_err}")
endif()

# Symbols the static linker adds on its own; they carry no library code.
set(linker_symbols _init _fini _edata _end __bss_start _DYNAMIC
    _GLOBAL_OFFSET_TABLE_ __data_start __dso_handle)

string(REPLACE "\n" ";" lines "${nm_out}")
set(offenders "")
set(public 0)
foreach(line IN LISTS lines)
  # "<address> <type> <name>[@version]"; the address is absent for
  # absolute symbols on some nm versions, so the type is taken as the last
  # single-letter field before the name.
  if(NOT line MATCHES "^([0-9a-fA-F]+ +)?([A-Za-z]) +([^ ]+)$")
    continue()
  endif()
  set(type "${CMAKE_MATCH_2}")
  set(name "${CMAKE_MATCH_3}")
  string(REGEX REPLACE "@.*$" "" name "${name}")
  # Version-definition entries (type A with the version name) and the
  # linker's own symbols are not exports of the library's code.
  if(type STREQUAL "A" OR name IN_LIST linker_symbols)
    continue()
  endif()
  # Internal names (cairn__...) fail even though they start with cairn_.
  if(name MATCHES "^cairn__" OR NOT name MATCHES "^cairn_")
    list(APPEND offenders "${name} (${type})")
  else()
    math(EXPR public "${public} + 1")
  endif()
endforeach()

if(public EQUAL 0)
  message(FATAL_ERROR
    "check_exports: ${LIB} exports no cairn_ symbols at all; is it the "
    "right library?")
endif()
if(offenders)
  list(LENGTH offenders n)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR
    "check_exports: ${LIB} exports ${n} symbol(s) outside the public API "
    "(only cairn_<name>, never cairn__<name>, may be exported):\n  ${text}")
endif()
message(STATUS "check_exports: ${public} public cairn_ symbols, nothing else")
