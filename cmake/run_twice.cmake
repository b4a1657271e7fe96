# Runs COMMAND (a |-separated list) twice and fails unless it succeeded both times and wrote
# identical files.  @OUT@ in COMMAND (and STDOUT) becomes PREFIX.1 for the
# first run and PREFIX.2 for the second; OUTPUTS lists the extensions of
# the files to compare (PREFIX.1.EXT vs PREFIX.2.EXT), |-separated.  With STDOUT, the
# command's standard output goes to that file.
#
#   cmake "-DCOMMAND=prog|--out|@OUT@.json" -DOUTPUTS=json -DPREFIX=/tmp/x
#         -P run_twice.cmake
string(REPLACE "|" ";" COMMAND "${COMMAND}")
string(REPLACE "|" ";" OUTPUTS "${OUTPUTS}")
foreach(run 1 2)
  string(REPLACE "@OUT@" "${PREFIX}.${run}" cmd "${COMMAND}")
  set(redirect "")
  if(STDOUT)
    string(REPLACE "@OUT@" "${PREFIX}.${run}" out "${STDOUT}")
    set(redirect OUTPUT_FILE "${out}")
  endif()
  execute_process(COMMAND ${cmd} ${redirect} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run ${run} of ${cmd} failed: ${rc}")
  endif()
endforeach()
foreach(ext IN LISTS OUTPUTS)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
    "${PREFIX}.1.${ext}" "${PREFIX}.2.${ext}" RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    message(FATAL_ERROR "${PREFIX}.1.${ext} and ${PREFIX}.2.${ext} differ: "
      "two identical runs must write identical files")
  endif()
  message(STATUS "${PREFIX}.1.${ext} == ${PREFIX}.2.${ext}")
endforeach()
