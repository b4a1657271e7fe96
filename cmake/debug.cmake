# Debugger support, trace export, structure pictures and the scenario
# runner (docs/walkthrough.md).  Included once from CMakeLists.txt, after
# the library, tests and examples are defined.
include(GNUInstallDirs)

# ---------------------------------------------------------------------------
# gdb: tools/gdb/uvmemu.py is embedded in emu/gdb_support.cc's
# .debug_gdb_scripts section, so gdb loads the pretty-printers for every
# program linking libuvmemu (once the program's directory is in gdb's
# auto-load safe-path).

set(UVMEMU_GDB_PY "${PROJECT_SOURCE_DIR}/tools/gdb/uvmemu.py")
set_source_files_properties("${PROJECT_SOURCE_DIR}/emu/gdb_support.cc"
  PROPERTIES
    COMPILE_DEFINITIONS "UVMEMU_GDB_SCRIPT=\"${UVMEMU_GDB_PY}\""
    OBJECT_DEPENDS "${UVMEMU_GDB_PY}")

# ---------------------------------------------------------------------------
# The scenario runner: tools/scenario/*.cc minus main.cc is a library the
# unit tests link too.

file(GLOB UVMEMU_SCENARIO_SOURCES CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/tools/scenario/*.cc")
list(REMOVE_ITEM UVMEMU_SCENARIO_SOURCES
  "${PROJECT_SOURCE_DIR}/tools/scenario/main.cc")
add_library(uvmemu_scenario STATIC ${UVMEMU_SCENARIO_SOURCES})
target_compile_options(uvmemu_scenario PRIVATE ${UVMEMU_WARNINGS})
target_link_libraries(uvmemu_scenario PUBLIC uvmemu)
add_executable(uvmemu-scenario "${PROJECT_SOURCE_DIR}/tools/scenario/main.cc")
uvmemu_executable(uvmemu-scenario)
target_link_libraries(uvmemu-scenario PRIVATE uvmemu_scenario)
if(TARGET uvmemu_tests)
  target_link_libraries(uvmemu_tests PRIVATE uvmemu_scenario)
endif()

# ---------------------------------------------------------------------------
# Install: the library, its headers, the gdb files and the scenario runner.

install(TARGETS uvmemu ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/uvmemu-kernel"
  FILES_MATCHING PATTERN "*.h")
install(TARGETS uvmemu-scenario RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES "${UVMEMU_GDB_PY}" "${PROJECT_SOURCE_DIR}/tools/gdb/uvmemu.gdb"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/uvmemu/gdb")

# ---------------------------------------------------------------------------
# Tests (label gdb): gdb in batch mode on the examples, checking the
# printers' and the commands' text (tools/gdb/test_gdb.py).

if(BUILD_TESTING)
  find_program(UVMEMU_GDB gdb)
  add_executable(uvmemu_gdb_segv_target
    "${PROJECT_SOURCE_DIR}/test/gdb/segv_target.cc")
  uvmemu_executable(uvmemu_gdb_segv_target)
  if(UVMEMU_GDB AND Python3_FOUND)
    foreach(case autoload ppref histformat initfile lwps)
      add_test(NAME gdb.${case}
        COMMAND Python3::Interpreter
          "${PROJECT_SOURCE_DIR}/tools/gdb/test_gdb.py"
          --gdb "${UVMEMU_GDB}" --bindir "${PROJECT_BINARY_DIR}" ${case}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}")
      set_tests_properties(gdb.${case} PROPERTIES LABELS gdb TIMEOUT 300)
    endforeach()
  else()
    message(WARNING "gdb or python3 not found: the gdb tests are not "
      "registered (Debian packages: gdb python3)")
  endif()
endif()

# ---------------------------------------------------------------------------
# Tests of the trace export, the structure pictures and the scenario
# runner (label debug).  cmake/run_twice.cmake runs a command twice and
# fails unless both runs wrote identical files.

if(BUILD_TESTING)
  set(_out "${PROJECT_BINARY_DIR}/debug-tests")
  file(MAKE_DIRECTORY "${_out}")

  # fork_cow --trace/--dot/--text: deterministic files, valid JSON.
  add_test(NAME debug.fork_cow_outputs_deterministic
    COMMAND ${CMAKE_COMMAND}
      "-DCOMMAND=$<TARGET_FILE:fork_cow>|--trace|@OUT@.json|--dot|@OUT@.dot|--text|@OUT@.txt"
      "-DOUTPUTS=json|dot|txt" "-DPREFIX=${_out}/fork_cow"
      -P "${PROJECT_SOURCE_DIR}/cmake/run_twice.cmake")
  set_tests_properties(debug.fork_cow_outputs_deterministic PROPERTIES
    LABELS debug)
  if(Python3_FOUND)
    add_test(NAME debug.fork_cow_trace_json_valid
      COMMAND Python3::Interpreter
        "${PROJECT_SOURCE_DIR}/tools/check-trace-json" "${_out}/fork_cow.1.json"
        --expect-function amap_copy --expect-function uvm_fault)
    set_tests_properties(debug.fork_cow_trace_json_valid PROPERTIES
      LABELS debug DEPENDS debug.fork_cow_outputs_deterministic)
  endif()
  find_program(UVMEMU_DOT dot)
  if(UVMEMU_DOT)
    add_test(NAME debug.fork_cow_dot_renders
      COMMAND "${UVMEMU_DOT}" -Tsvg "${_out}/fork_cow.1.dot"
        -o "${_out}/fork_cow.svg")
    set_tests_properties(debug.fork_cow_dot_renders PROPERTIES
      LABELS debug DEPENDS debug.fork_cow_outputs_deterministic)
  endif()

  # Every example script runs cleanly, and twice gives the same output.
  file(GLOB _scenarios CONFIGURE_DEPENDS
    "${PROJECT_SOURCE_DIR}/examples/scenarios/*.txt")
  foreach(script IN LISTS _scenarios)
    get_filename_component(name "${script}" NAME_WE)
    add_test(NAME scenario.${name}
      COMMAND ${CMAKE_COMMAND}
        "-DCOMMAND=$<TARGET_FILE:uvmemu-scenario>|${script}"
        "-DSTDOUT=@OUT@.out" "-DOUTPUTS=out" "-DPREFIX=${_out}/scenario_${name}"
        -P "${PROJECT_SOURCE_DIR}/cmake/run_twice.cmake")
    set_tests_properties(scenario.${name} PROPERTIES
      LABELS scenario WORKING_DIRECTORY "${_out}")
  endforeach()

  # A malformed script: every bad line is reported with its number and
  # what was expected, and nothing runs.
  add_test(NAME scenario.malformed_script_errors
    COMMAND uvmemu-scenario "${PROJECT_SOURCE_DIR}/test/scenarios/malformed.txt")
  set_tests_properties(scenario.malformed_script_errors PROPERTIES
    LABELS scenario
    PASS_REGULAR_EXPRESSION "malformed.txt:3: error: fork: expected the name of a spawned or forked process for PARENT, got 'Q' \\(no such process: spawn or fork it first\\).*malformed.txt:4: error: map: missing PROT.*malformed.txt:6: error: unknown command 'frobnicate'.*malformed.txt:7: error: unterminated string"
    FAIL_REGULAR_EXPRESSION "commands, [0-9]+ failed")
  # Paging commands misused: each fails with the API's error, the script
  # goes on.
  add_test(NAME scenario.swap_errors
    COMMAND uvmemu-scenario --no-state --no-trace "${PROJECT_SOURCE_DIR}/test/scenarios/swap_errors.txt")
  set_tests_properties(scenario.swap_errors PROPERTIES
    LABELS scenario
    PASS_REGULAR_EXPRESSION "failed as expected: INVALID_ARGUMENT: va 0x123 or length 0x1000 is not page aligned.*failed as expected: INVALID_ARGUMENT: PAGES 2147483648 is too large.*failed as expected: INVALID_ARGUMENT: swapoff: give both FIRST and END, or neither.*failed as expected: INVALID_ARGUMENT: swapoff of slots \\[0, 5\\).*failed as expected: FAILED_PRECONDITION: swapon of slots \\[1, 5\\): a slot in the range is already on.*slots \\[1, 5\\) off.*failed as expected: FAILED_PRECONDITION: swapoff of slots \\[1, 5\\): a slot in the range is already off.*12 commands, 0 failed")
  # The swap-off example pages out, pages in through a fault and through
  # swap-off, and reads every page back.
  add_test(NAME scenario.swapoff_pages_in
    COMMAND uvmemu-scenario --no-state --no-trace "${PROJECT_SOURCE_DIR}/examples/scenarios/swapoff.txt")
  set_tests_properties(scenario.swapoff_pages_in PROPERTIES
    LABELS scenario
    PASS_REGULAR_EXPRESSION "pageout parent buf\n   -> paged out 3 pages.*expect child buf \"page 0\"\n   -> .*as expected.*swapoff\n   -> every slot off\n   -> swap: 0 slots on, 0 in use.*expect child buf\\+2 \"page 2\"\n   -> .*as expected.*25 commands, 0 failed")
endif()
