# Fails unless the C example in README.md (the block between the markers
# "<!-- example:begin -->" and "<!-- example:end -->") is byte-identical to
# docs/example.c, which the test suite compiles and runs.
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
string(FIND "${readme}" "<!-- example:begin -->\n```c\n" b)
string(FIND "${readme}" "```\n<!-- example:end -->" e)
if(b EQUAL -1 OR e EQUAL -1)
  message(FATAL_ERROR "README.md has no example markers")
endif()
string(LENGTH "<!-- example:begin -->\n```c\n" blen)
math(EXPR start "${b} + ${blen}")
math(EXPR len "${e} - ${start}")
string(SUBSTRING "${readme}" ${start} ${len} block)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README.md example differs from docs/example.c")
endif()
message(STATUS "README example matches docs/example.c")
