# Line-coverage report for a build configured with UVMEMU_COVERAGE=ON.
# Run by the `coverage` target (cmake --build --preset coverage --target
# coverage); by hand:
#   cmake -DSOURCE_DIR=. -DBINARY_DIR=build/coverage -DCTEST=ctest \
#         -DGCOVR=gcovr -DFILTER='lib/uvm_amap\.cc' -P tools/coverage.cmake
#
# 1. deletes old counters (*.gcda) so only this run counts,
# 2. runs the whole test suite,
# 3. prints a gcovr line report for the files matching FILTER and writes
#    an HTML report to SOURCE_DIR/coverage/index.html.
# The report is written even when tests fail; the script then fails too.
foreach(var SOURCE_DIR BINARY_DIR CTEST GCOVR FILTER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "coverage.cmake: -D${var}=... is required")
  endif()
endforeach()

file(GLOB_RECURSE _gcda "${BINARY_DIR}/*.gcda")
if(_gcda)
  file(REMOVE ${_gcda})
endif()

execute_process(
  COMMAND "${CTEST}" --test-dir "${BINARY_DIR}" --output-on-failure -j 2
  RESULT_VARIABLE _tests_rc)

file(MAKE_DIRECTORY "${SOURCE_DIR}/coverage")
execute_process(
  COMMAND "${GCOVR}"
    --root "${SOURCE_DIR}"
    --object-directory "${BINARY_DIR}"
    --filter "${FILTER}"
    --txt
    --html-details "${SOURCE_DIR}/coverage/index.html"
  WORKING_DIRECTORY "${SOURCE_DIR}"
  RESULT_VARIABLE _gcovr_rc)

if(NOT _gcovr_rc EQUAL 0)
  message(FATAL_ERROR "gcovr failed (${_gcovr_rc})")
endif()
message(STATUS "HTML report: ${SOURCE_DIR}/coverage/index.html")
if(NOT _tests_rc EQUAL 0)
  message(FATAL_ERROR "some tests failed (ctest: ${_tests_rc}); "
    "the report above covers the run anyway")
endif()
