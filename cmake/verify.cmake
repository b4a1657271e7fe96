# Differential verification (docs/verification.md): the reference model
# and its harness in test/model/ are compiled into uvmemu_tests (which
# only globs test/*.cc), and the libFuzzer target lives in
# cmake/fuzz.cmake.
file(GLOB UVMEMU_VERIFY_SOURCES CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/test/model/*.cc")
if(TARGET uvmemu_tests AND UVMEMU_VERIFY_SOURCES)
  target_sources(uvmemu_tests PRIVATE ${UVMEMU_VERIFY_SOURCES})
endif()

include("${PROJECT_SOURCE_DIR}/cmake/fuzz.cmake")
