# libFuzzer target for the differential harness (docs/verification.md).
#
#   cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DUVMEMU_FUZZ=ON
#   cmake --build build/fuzz -j2 --target uvmemu_fuzz
#   build/fuzz/uvmemu_fuzz -handle_segv=0 build/fuzz/corpus test/fuzz/corpus
#
# With the option on, everything (library, kernel objects, tests) is
# built with -fsanitize=fuzzer-no-link,address so that libFuzzer sees the
# kernel code's coverage; uvmemu_fuzz links the fuzzer itself.  A short
# smoke run is registered with CTest (label fuzz).
option(UVMEMU_FUZZ "Build the libFuzzer target uvmemu_fuzz (clang only)" OFF)

if(UVMEMU_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "UVMEMU_FUZZ needs clang++ "
      "(-DCMAKE_CXX_COMPILER=clang++), not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  target_compile_options(uvmemu_config INTERFACE
    -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
  target_link_options(uvmemu_config INTERFACE -fsanitize=address)

  file(GLOB _uvmemu_fuzz_model CONFIGURE_DEPENDS
    "${PROJECT_SOURCE_DIR}/test/model/*.cc")
  add_executable(uvmemu_fuzz
    "${PROJECT_SOURCE_DIR}/test/fuzz/verify_fuzz.cc" ${_uvmemu_fuzz_model})
  uvmemu_executable(uvmemu_fuzz)
  target_link_options(uvmemu_fuzz PRIVATE -fsanitize=fuzzer)

  if(BUILD_TESTING)
    set(_corpus_out "${PROJECT_BINARY_DIR}/fuzz-corpus")
    add_test(NAME fuzz.smoke
      COMMAND ${CMAKE_COMMAND} -E env
        "ASAN_OPTIONS=allow_user_segv_handler=1:detect_leaks=1"
        sh -c "mkdir -p '${_corpus_out}' && exec \"$0\" -runs=300 -handle_segv=0 -max_len=1200 '${_corpus_out}' '${PROJECT_SOURCE_DIR}/test/fuzz/corpus'"
        $<TARGET_FILE:uvmemu_fuzz>)
    set_tests_properties(fuzz.smoke PROPERTIES LABELS fuzz TIMEOUT 600)
  endif()
endif()
