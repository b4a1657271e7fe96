# Benchmarks (included from CMakeLists.txt).
#
#   uvmemu_bench       bench/*.cc on the library: the port on the emulated
#                      kernel services, and the fault path through the MMU
#                      against the host kernel's.
#   uvmemu_bench_bare  bench/amap_bench.cc again, on the amap, anon and map
#                      code built against no-op services (bench/bare/): no
#                      UVMHIST, malloc for kmem and pools, mutexes that only
#                      record their owner.  Same benchmark names, so
#                      tools/bench-compare can divide one by the other.
#
# Targets (run from the source directory):
#   bench          uvmemu_bench -> bench/results/latest.json (a few minutes)
#   bench-quick    the same with a short minimum time per benchmark
#                  (-> build dir bench-quick.json; numbers are rough)
#   bench-compare  tools/bench-compare: both binaries interleaved, medians,
#                  emulated/bare and emulated/host ratios (3 runs of each
#                  variant, about 20 minutes on a loaded 2-vCPU machine;
#                  -> bench/results/compare.json)

# emu/kmem.cc's leak report groups the live blocks in an absl::flat_hash_map.
target_link_libraries(uvmemu PUBLIC absl::flat_hash_map)

set(UVMEMU_BENCH_MIN_TIME "0.1" CACHE STRING
  "Seconds of measurement per benchmark for the 'bench' target")

file(GLOB UVMEMU_BENCH_SOURCES CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/bench/*.cc")
if(NOT UVMEMU_BENCH_SOURCES)
  return()
endif()

add_executable(uvmemu_bench ${UVMEMU_BENCH_SOURCES})
uvmemu_executable(uvmemu_bench)
target_link_libraries(uvmemu_bench PRIVATE
  benchmark::benchmark benchmark::benchmark_main)

# The kernel sources the amap benchmarks reach (amap_copy's chunking path
# clips map entries), taken from UVMEMU_KERNEL_SOURCES so that
# UVMEMU_FIX_187_DEFECTS builds the patched uvm_amap.cc here too.
set(_bare_kernel "")
foreach(src IN LISTS UVMEMU_KERNEL_SOURCES)
  if(src MATCHES "/uvm_(amap|anon|map)\\.cc$")
    list(APPEND _bare_kernel "${src}")
  endif()
endforeach()
file(GLOB _bare_services CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/bench/bare/*.cc")
if(_bare_kernel AND _bare_services
   AND EXISTS "${PROJECT_SOURCE_DIR}/bench/amap_bench.cc")
  add_library(uvmemu_bare_kern OBJECT ${_bare_kernel})
  target_compile_definitions(uvmemu_bare_kern PRIVATE
    _KERNEL DIAGNOSTIC VMSWAP UVMEMU_NO_UVMHIST UVMEMU_BARE)
  target_include_directories(uvmemu_bare_kern PRIVATE "${PROJECT_SOURCE_DIR}/lib")
  target_compile_options(uvmemu_bare_kern PRIVATE
    ${UVMEMU_WARNINGS} ${UVMEMU_KERNEL_WARNINGS})
  target_link_libraries(uvmemu_bare_kern PRIVATE uvmemu_config)

  add_executable(uvmemu_bench_bare
    "${PROJECT_SOURCE_DIR}/bench/amap_bench.cc"
    ${_bare_services}
    $<TARGET_OBJECTS:uvmemu_bare_kern>)
  target_compile_definitions(uvmemu_bench_bare PRIVATE UVMEMU_BARE)
  target_compile_options(uvmemu_bench_bare PRIVATE ${UVMEMU_WARNINGS})
  target_link_libraries(uvmemu_bench_bare PRIVATE
    uvmemu_config benchmark::benchmark benchmark::benchmark_main)
  set_property(GLOBAL APPEND PROPERTY UVMEMU_EXECUTABLES uvmemu_bench_bare)
endif()

add_custom_target(bench
  COMMAND ${CMAKE_COMMAND} -E make_directory bench/results
  COMMAND uvmemu_bench
    --benchmark_min_time=${UVMEMU_BENCH_MIN_TIME}
    --benchmark_out=bench/results/latest.json
    --benchmark_out_format=json
    ${UVMEMU_BENCH_ARGS}
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  USES_TERMINAL
  COMMENT "Running uvmemu_bench -> bench/results/latest.json")
add_dependencies(bench uvmemu_bench)

add_custom_target(bench-quick
  COMMAND uvmemu_bench
    --benchmark_min_time=0.01
    --benchmark_out=${PROJECT_BINARY_DIR}/bench-quick.json
    --benchmark_out_format=json
    ${UVMEMU_BENCH_ARGS}
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  USES_TERMINAL
  COMMENT "Running uvmemu_bench (quick) -> ${PROJECT_BINARY_DIR}/bench-quick.json")
add_dependencies(bench-quick uvmemu_bench)

if(TARGET uvmemu_bench_bare AND Python3_FOUND)
  add_custom_target(bench-compare
    COMMAND Python3::Interpreter "${PROJECT_SOURCE_DIR}/tools/bench-compare"
      --emulated $<TARGET_FILE:uvmemu_bench>
      --bare $<TARGET_FILE:uvmemu_bench_bare>
      --out bench/results/compare.json
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    USES_TERMINAL
    COMMENT "Comparing uvmemu_bench with uvmemu_bench_bare -> bench/results/compare.json")
  add_dependencies(bench-compare uvmemu_bench uvmemu_bench_bare)
endif()
